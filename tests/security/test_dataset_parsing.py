"""Issue 13 case 9: hostile dataset files crashed the parser instead of naming their line.

1,000-deep nesting in a .json / .jsonl record or its `history` raised RecursionError, a CSV
field over 131,072 characters raised `_csv.Error` (no line number reached the user), and
`python -m core train --data` read and parsed a 1 GB file (4.5 GB of memory) before
refusing it. Each bad row must now be one "line N: …" / "第 N 行：…" problem while the good
rows around it still load, and a too-large file is refused from its size alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.tuning import datasets

REPO = Path(__file__).resolve().parents[2]
GOOD = {"instruction": "hi", "output": "hello"}
DEEP = "[" * 1000 + "]" * 1000


def _problems(ds, lang="en") -> list[str]:
    return [p.text(lang) for p in ds.problems]


def test_a_deep_element_of_a_json_array_is_one_problem_and_the_rest_loads():
    text = "[\n" + json.dumps(GOOD) + ",\n" + DEEP + ",\n" + json.dumps(GOOD) + "\n]"
    ds = datasets.parse("deep.json", text.encode())
    assert len(ds.records) == 2 and ds.lines == [2, 4]
    assert _problems(ds) == ["line 3: nested deeper than 64 levels"]
    assert _problems(ds, "zh") == ["第 3 行：嵌套超过 64 层"]


def test_a_deep_object_with_strings_holding_brackets_is_skipped_exactly():
    deep = '{"a": ' * 1500 + '"x]}\\"]"' + "}" * 1500
    text = "[" + json.dumps(GOOD) + ",\n" + deep + ",\n" + json.dumps({"instruction": "after", "output": "ok"}) + "]"
    ds = datasets.parse("deep.json", text.encode())
    assert [r[0]["content"] for r in ds.records] == ["hi", "after"]
    assert _problems(ds) == ["line 2: nested deeper than 64 levels"]


@pytest.mark.parametrize("bad", [
    DEEP,
    json.dumps({"instruction": "q", "output": "a"})[:-1] + ', "history": ' + DEEP + "}",  # history-style nesting
    json.dumps({"messages": [{"role": "user", "content": "q"}]})[:-1] + ', "x": ' + "[" * 100 + "]" * 100 + "}",  # parses, too deep
])
def test_a_deep_jsonl_line_is_one_problem_and_the_others_load(bad):
    records = [json.dumps(GOOD), bad, json.dumps(GOOD)]
    ds = datasets.parse("deep.jsonl", "\n".join(records).encode())
    assert len(ds.records) == 2 and ds.lines == [1, 3]
    assert _problems(ds) == ["line 2: nested deeper than 64 levels"]


def test_an_unclosed_deep_array_is_a_problem_not_a_crash():
    ds = datasets.parse("open.json", ("[" + json.dumps(GOOD) + ",\n" + "[" * 5000).encode())
    assert ds.records and _problems(ds) == ["line 2: nested deeper than 64 levels"]


def test_a_csv_field_over_the_limit_names_its_line_and_the_other_rows_load():
    text = "instruction,output\nq1,a1\n" + '"' + "x" * 140_000 + '",a2\nq3,a3\n' + "q4,a4\n"
    ds = datasets.parse("big.csv", text.encode())
    assert [m[0]["content"] for m in ds.records] == ["q1", "q3", "q4"]
    assert _problems(ds) == ["line 3: a field is longer than 131,072 characters"]
    assert _problems(ds, "zh") == ["第 3 行：有字段超过 131,072 个字符"]


def test_train_refuses_a_too_large_file_before_reading_it(tmp_path):
    big = tmp_path / "huge.json"
    with open(big, "wb") as handle:
        handle.truncate(1024**3)  # 1 GB, sparse: no disk is filled
    assert big.stat().st_blocks * 512 < 1024**2
    env = {**os.environ, "LIANDAN_DATA_DIR": str(tmp_path / "data"), "LIANDAN_ENGINE": "echo"}
    started = time.monotonic()
    peak_file = tmp_path / "peak_kb"
    # A wrapper process whose only child is the CLI, so the peak is the CLI's own (the suite's
    # RUSAGE_CHILDREN also counts every earlier child of pytest, e.g. app servers).
    wrapper = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[2:]); "
               "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
               "sys.exit(r.returncode)")
    done = subprocess.run([sys.executable, "-c", wrapper, str(peak_file), sys.executable, "-m", "core", "train",
                           "--data", str(big), "--name", "x"],
                          cwd=REPO, capture_output=True, text=True, env=env, timeout=120)
    elapsed = time.monotonic() - started
    peak_mb = int(peak_file.read_text()) / 1024
    assert done.returncode != 0
    assert "huge.json is too large (1074 MB)" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert peak_mb < 900, f"the CLI read the file: {peak_mb:.0f} MB peak"
    assert elapsed < 100  # mostly the CLI's imports on a busy machine; reading 1 GB took far longer


def test_load_checks_the_size_first(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(GOOD) * 10)
    with pytest.raises(datasets.UserError) as caught:
        datasets.load(path, max_bytes=100)
    assert "too large" in str(caught.value) and "过大" in caught.value.text("zh")
