"""Hypothesis fuzz of what a user can feed the fine-tune and compare pages, and raw API bodies.

The only promise checked beyond the documented outcome: a UserError with a reason (in both
languages), never another exception, and memory within a bound. Dataset files (.json arrays,
.jsonl, .csv, alpaca `history`, messages, ShareGPT), prompt lists (.txt/.jsonl/.json) and raw
bytes posted to the API (tests/test_api_fuzz.py fuzzes the schema; this adds bodies that are
not JSON at all, or nested deeper than any parser recurses).
"""

from __future__ import annotations

import re

import csv
import io
import json
import tracemalloc

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import UserError
from core.tuning import datasets
from core.compare.prompt_lists import parse_prompts

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MEMORY_BOUND = 8 * 1024 * 1024  # bytes of Python allocations for inputs of a few kB

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
roles = st.sampled_from(["user", "assistant", "system", "human", "gpt", "bot", "tool", "", "USER"])
alpaca = st.fixed_dictionaries({}, optional={
    "instruction": st.text(max_size=30) | json_values, "input": st.text(max_size=20) | json_values,
    "output": st.text(max_size=30) | json_values, "system": st.text(max_size=10) | json_values,
    "history": st.lists(st.lists(st.text(max_size=10) | json_values, max_size=3), max_size=3) | json_values,
})
messages = st.fixed_dictionaries({"messages": st.lists(
    st.fixed_dictionaries({}, optional={"role": roles | json_values, "content": st.text(max_size=20) | json_values}), max_size=5)
    | json_values})
sharegpt = st.fixed_dictionaries({"conversations": st.lists(
    st.fixed_dictionaries({}, optional={"from": roles | json_values, "value": st.text(max_size=20) | json_values}), max_size=5)
    | json_values}, optional={"system": st.text(max_size=10) | json_values})
records = st.lists(alpaca | messages | sharegpt | json_values, max_size=6)
nesting = st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n)


def _check_outcome(name: str, data: bytes) -> None:
    tracemalloc.start()
    try:
        try:
            ds = datasets.parse(name, data)
        except UserError as exc:
            assert str(exc).strip() and re.search(r"[\u4e00-\u9fff]", exc.text("zh"))  # a reason, in both languages
            return
        finally:
            _, peak = tracemalloc.get_traced_memory()
        assert peak < MEMORY_BOUND + 50 * len(data), peak
    finally:
        tracemalloc.stop()
    assert len(ds.records) == len(ds.lines)
    for messages_ in ds.records:
        assert messages_[-1]["role"] == "assistant" and all(isinstance(m["content"], str) for m in messages_)
    for problem in ds.problems:
        assert problem.line >= 1 and problem.text("zh").startswith(f"第 {problem.line} 行：")
        assert str(problem).startswith(f"line {problem.line}: ")
    if ds.problems:
        with pytest.raises(UserError):
            ds.require_valid()


@FUZZ
@given(records)
def test_json_array_datasets(items):
    _check_outcome("d.json", json.dumps(items, ensure_ascii=False, indent=1).encode())


@FUZZ
@given(records, st.lists(nesting, max_size=2), st.randoms())
def test_jsonl_datasets_with_broken_and_deep_lines(items, deep, rnd):
    lines = [json.dumps(i, ensure_ascii=False) for i in items] + deep
    if lines and rnd.random() < 0.3:
        lines[rnd.randrange(len(lines))] = lines[0][: rnd.randrange(len(lines[0]) + 1)]  # a cut line
    rnd.shuffle(lines)
    _check_outcome("d.jsonl", "\n".join(lines).encode())


@FUZZ
@given(st.lists(alpaca, max_size=3), nesting, st.integers(min_value=0, max_value=3))
def test_json_arrays_with_a_deep_element(items, deep, at):
    parts = [json.dumps(i) for i in items]
    parts.insert(min(at, len(parts)), deep)
    _check_outcome("d.json", ("[" + ",\n".join(parts) + "]").encode())


@FUZZ
@given(st.lists(st.lists(st.text(max_size=30), min_size=1, max_size=4), max_size=6),
       st.sampled_from([["instruction", "output"], ["instruction", "input", "output"], ["output"], ["prompt", "answer"], []]),
       st.booleans())
def test_csv_datasets(rows, header, huge):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    if huge:
        writer.writerow(["x" * 140_000, "y"])  # over csv's field limit
    _check_outcome("d.csv", buffer.getvalue().encode())


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["d.json", "d.jsonl", "d.csv", "d.txt"]))
def test_arbitrary_bytes_as_a_dataset(data, name):
    _check_outcome(name, data)


@FUZZ
@given(st.text(max_size=300), st.sampled_from(["d.json", "d.jsonl", "d.csv"]))
def test_arbitrary_text_as_a_dataset(text, name):
    _check_outcome(name, text.encode("utf-8"))


# --- prompt lists ----------------------------------------------------------------------------
def _check_prompts(text: str, filename: str) -> None:
    try:
        prompts = parse_prompts(text, filename)
    except UserError as exc:
        assert str(exc).strip() and re.search(r"[\u4e00-\u9fff]", exc.text("zh"))
        return
    assert prompts and all(isinstance(p, str) and p.strip() == p and p for p in prompts)


@FUZZ
@given(st.lists(st.text(max_size=40) | alpaca | messages | json_values, max_size=8), st.sampled_from(["p.json", "p.jsonl"]))
def test_prompt_lists_from_records(items, filename):
    text = json.dumps(items) if filename.endswith(".json") else "\n".join(json.dumps(i) for i in items)
    _check_prompts(text, filename)


@FUZZ
@given(st.text(max_size=400), st.sampled_from(["", "p.txt", "p.json", "p.jsonl"]), st.lists(nesting, max_size=1))
def test_prompt_lists_from_any_text(text, filename, deep):
    _check_prompts("\n".join([text, *deep]) if deep else text, filename)


def test_a_deep_prompt_list_is_a_reason_not_a_crash():
    for text, name in (("[" * 100_000 + "]" * 100_000, "p.json"), ('"ok"\n' + "[" * 100_000 + "]" * 100_000, "p.jsonl")):
        with pytest.raises(UserError) as caught:
            parse_prompts(text, name)
        assert "nested too deeply" in str(caught.value) and "嵌套层数过深" in caught.value.text("zh")


# --- raw API bodies ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api_url(tmp_path_factory):
    from core.api.app import create_app
    from tests.api_helpers import echo_runtime, serve

    app = create_app(echo_runtime(tmp_path_factory.mktemp("raw-fuzz")))
    with serve(app) as url:
        yield url


BODIES = st.binary(max_size=200) | nesting.map(str.encode) | st.integers(1, 3000).map(lambda n: ('{"a":' * n + "1" + "}" * n).encode()) \
    | st.builds(lambda n: ('{"model": "base", "messages": ' + "[" * n + "]" * n + "}").encode(), st.integers(1, 3000))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES, path=st.sampled_from(["/v1/chat/completions", "/api/chat", "/v1/embeddings"]))
def test_raw_bodies_never_make_the_server_fail(api_url, body, path):
    reply = httpx.post(api_url + path, content=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert reply.status_code < 500, (reply.status_code, reply.text[:300])
