"""Comparison runs, prompt files, blind votes and their tally on the tiny model."""

from __future__ import annotations

import csv
import io
import json
import random
import time

import pytest

from core.errors import InputError, UserError
from core.i18n import Message, msg
from core.models.options import GenerationOptions
from core.adapters.pool import AdapterPool, messages_for
from core.adapters.store import AdapterStore
from core.compare.runs import RunStore, new_run, run_all, stream_cells, to_markdown
from core.compare.prompt_lists import parse_prompts
from core.compare.votes import Vote, VoteStore, blind_sides, tally, to_csv, wilson
from tests.conftest import MODEL_CACHE
from tests.factories import build_lora_adapter, build_model

GREEDY = GenerationOptions(max_new_tokens=8, temperature=0.0)


@pytest.fixture(scope="module")
def pool(tiny_model_dir, tmp_path_factory) -> AdapterPool:
    from core.models import loader, sources

    store = AdapterStore(tmp_path_factory.mktemp("adapters"))
    build_lora_adapter(tiny_model_dir, store, "甄嬛", seed=1, system_prompt="现在你要扮演皇帝身边的女人--甄嬛")
    build_lora_adapter(tiny_model_dir, store, "beta", seed=2)
    engine = loader.load(sources.resolve(str(tiny_model_dir), MODEL_CACHE))
    return AdapterPool(store, lambda: engine, limit=4)


# --- prompts -------------------------------------------------------------------------
def test_prompts_from_text_txt_jsonl_and_json():
    assert parse_prompts("你是谁？\n\n  What is LoRA?  \n") == ["你是谁？", "What is LoRA?"]
    jsonl = "\n".join(json.dumps(x, ensure_ascii=False) for x in [
        "plain string",
        {"prompt": "p1"},
        {"instruction": "翻译成英文", "input": "你好", "output": "Hello"},
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "last user"}]},
    ])
    assert parse_prompts(jsonl, "set.jsonl") == ["plain string", "p1", "翻译成英文\n你好", "last user"]
    assert parse_prompts(json.dumps([{"question": "q"}]), "set.json") == ["q"]


@pytest.mark.parametrize(("text", "name", "message"), [
    ("", "", "no prompt"),
    ('{"prompt": "ok"}\n{broken', "x.jsonl", "Line 2 is not valid JSON"),
    ('{"answer": "no prompt here"}', "x.jsonl", "Record 1 has no prompt"),
    ('{"prompt": "x"}', "x.json", "must hold a JSON list"),
    ("a\nb\nc", "", "3 prompts is more than the 2"),
])
def test_bad_prompt_input_is_refused_clearly(text, name, message):
    with pytest.raises(InputError, match=message):
        parse_prompts(text, name, limit=2)


# --- runs ------------------------------------------------------------------------------
def test_run_answers_equal_single_requests_with_the_card_persona(pool, tmp_path):
    run = run_all(pool, new_run(pool, ["base", "甄嬛", "beta"], ["你是谁？", "Hello"], GREEDY))
    assert run.complete
    engine = pool.engine()
    for p, prompt in enumerate(run.prompts):
        for v, variant in enumerate(run.variants):
            alone = engine.chat(messages_for(pool.card(variant), [{"role": "user", "content": prompt}]), GREEDY, adapter=variant)
            assert run.answers[p][v].text == alone
            assert run.answers[p][v].tokens > 0 and run.answers[p][v].finish_reason in ("stop", "length")
    # the persona really reaches the adapter: without it the answer differs
    bare = engine.chat([{"role": "user", "content": "你是谁？"}], GREEDY, adapter="甄嬛")
    assert run.system_prompts == {"甄嬛": "现在你要扮演皇帝身边的女人--甄嬛"}
    assert bare != run.answers[0][1].text

    store = RunStore(tmp_path)
    store.save(run)
    again = store.get(run.id)
    assert again.answers[1][2].text == run.answers[1][2].text
    md = to_markdown(again)
    assert md.startswith(f"# Comparison {run.id}")
    assert "## 1. 你是谁？" in md and "### 甄嬛" in md and "greedy" in md
    assert "System prompt of 甄嬛: 现在你要扮演皇帝身边的女人--甄嬛" in md
    assert run.answers[0][0].text.strip() in md


def test_variant_rules_and_incompatible_adapter_refused_before_generating(pool, tmp_path):
    with pytest.raises(InputError, match="2 to 4"):
        new_run(pool, ["base"], ["hi"], GREEDY)
    with pytest.raises(InputError, match="twice"):
        new_run(pool, ["beta", "beta"], ["hi"], GREEDY)
    other = build_model(tmp_path / "qwen", "qwen2")
    build_lora_adapter(other, pool.store, "foreign", seed=9)
    try:
        with pytest.raises(UserError, match="different base"):
            new_run(pool, ["base", "foreign"], ["hi"], GREEDY)
    finally:
        pool.store.delete("foreign")


def test_sampled_runs_share_one_recorded_seed(pool):
    sampled = GenerationOptions(max_new_tokens=8, temperature=1.0)
    run = run_all(pool, new_run(pool, ["base", "beta"], ["Hello"], sampled))
    seed = run.options["seed"]
    assert seed is not None and f"seed {seed}" in to_markdown(run)
    again = pool.engine().chat([{"role": "user", "content": "Hello"}], sampled.model_copy(update={"seed": seed}))
    assert run.answers[0][0].text == again


def test_stopping_early_cancels_the_rest(pool):
    engine = pool.engine()
    pool.ensure("beta")
    run = new_run(pool, ["base", "beta"], ["one", "two", "three"], GREEDY)
    with engine.lock.hold():  # the model is busy: the run's requests wait in the queue
        cells = stream_cells(pool, run)
        first = next(cells)
        load = engine.status()
        assert load["running"] + load["waiting"] == 2  # both variants of the first prompt, not the whole run
        cells.close()  # the page was rerun / the user pressed Stop
        assert first.gen.finished.wait(10)
    assert first.gen.stats.finish_reason == "cancelled"
    deadline = time.monotonic() + 10
    while (engine.queued or engine.busy) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.queued == 0 and not engine.busy
    assert not any(a.finish_reason for row in run.answers for a in row)


def test_a_too_long_prompt_fails_its_cells_only(pool):
    run = run_all(pool, new_run(pool, ["base", "beta"], ["word " * 2000, "short"], GREEDY))
    assert all(a.error and "too long" in a.error for a in run.answers[0])
    assert all(a.text and not a.error for a in run.answers[1])
    assert all(a.error_message.render("zh").startswith("消息太长") for a in run.answers[0])  # a UserError keeps its Chinese
    assert all(a.error_message is None for a in run.answers[1])


def test_a_saved_run_keeps_the_chinese_error_and_older_runs_still_load(pool, tmp_path):
    run = run_all(pool, new_run(pool, ["base", "beta"], ["word " * 2000], GREEDY))
    store = RunStore(tmp_path)
    store.save(run)
    assert store.get(run.id).answers[0][0].error_message.render("zh").startswith("消息太长")

    data = json.loads((tmp_path / f"{run.id}.json").read_text(encoding="utf-8"))
    for answer in data["answers"][0]:  # a run saved before messages were keys (and before error_zh existed)
        answer["error"] = str(Message.from_json(answer.pop("error_message")))
    (tmp_path / f"{run.id}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    old = store.get(run.id).answers[0][0]
    assert "too long" in old.error and old.error_message.render("zh") == old.error  # English in both: all it had
    for answer in data["answers"][0]:
        answer["error_zh"] = "消息太长。"  # one saved with its Chinese beside it
    (tmp_path / f"{run.id}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert store.get(run.id).answers[0][0].error_message.render("zh") == "消息太长。"


def test_blind_streams_side_a_first(pool):
    run = new_run(pool, ["base", "beta"], ["x"], GREEDY)
    assert [c.variant for c in stream_cells(pool, run, only=[0], order=[1, 0])] == [1, 0]
    assert run.complete


# --- votes -----------------------------------------------------------------------------
def test_wilson_interval_matches_known_values():
    lo, hi = wilson(5, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.2366, 0.7634)
    lo, hi = wilson(10, 10)
    assert round(lo, 4) == 0.7225 and hi == pytest.approx(1.0)
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and round(hi, 4) == 0.2775
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(81, 100)[0] < 0.81 < wilson(81, 100)[1]


def test_tally_counts_each_pair_whatever_the_sides():
    votes = [
        Vote(a="base", b="甄嬛", choice="B"),  # 甄嬛 wins
        Vote(a="甄嬛", b="base", choice="A"),  # 甄嬛 wins, sides swapped
        Vote(a="甄嬛", b="base", choice="B"),  # base wins
        Vote(a="base", b="甄嬛", choice="tie"),
        Vote(a="甄嬛", b="base", choice="both_bad"),
        Vote(a="beta", b="甄嬛", choice="A"),  # another pair
    ]
    pairs = tally(votes)
    assert [(p.first, p.second) for p in pairs] == [("base", "甄嬛"), ("beta", "甄嬛")]
    t = pairs[0]
    assert (t.first_wins, t.second_wins, t.ties, t.both_bad, t.votes, t.decisive) == (1, 2, 1, 1, 5, 3)
    assert t.win_rate == pytest.approx(1 / 3)
    assert t.interval == wilson(1, 3)
    assert pairs[1].win_rate == 1.0
    assert tally([Vote(a="base", b="x", choice="tie")])[0].win_rate is None


def test_votes_persist_and_export_csv(tmp_path):
    store = VoteStore(tmp_path / "votes.jsonl")
    store.add(Vote(a="base", b="甄嬛", choice="B", prompt="你是谁？", answer_a="I am", answer_b="臣妾", run_id="r1", model="m"))
    store.add(Vote(a="甄嬛", b="base", choice="tie", prompt="p2"))
    with store.path.open("a", encoding="utf-8") as f:
        f.write('{"a": "base", "b": "x", "cho')  # a torn line after a crash
    votes = store.all()
    assert [v.choice for v in votes] == ["B", "tie"]
    data = to_csv(votes)
    assert data.startswith("\ufeff".encode())  # Excel needs the BOM to read Chinese
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["winner"] == "甄嬛" and rows[0]["answer_b"] == "臣妾" and rows[0]["prompt"] == "你是谁？"
    assert rows[1]["winner"] == "tie"
    with pytest.raises(InputError):
        Vote(a="base", b="x", choice="C")


def test_blind_sides_are_random_but_reproducible_with_a_seed():
    sides = blind_sides(200, random.Random(3))
    assert sides == blind_sides(200, random.Random(3))
    assert 60 < sum(sides) < 140


@pytest.mark.parametrize(("error", "zh"), [
    (UserError(msg("errors.no_model"), msg("errors.no_model.hint")), "尚未加载模型。 请在“系统”页面加载一个模型。"),
    (RuntimeError("CUDA error: device-side assert"), "CUDA error: device-side assert"),  # technical: as is in both
])
def test_an_answer_failing_mid_generation_keeps_a_user_errors_chinese(pool, error, zh):
    from core.models.engine import Generation
    from core.compare.runs import Cell, _answer

    gen = Generation(ticket=0, lock=pool.engine().lock)
    gen.push("partial")
    gen.stats.finish_reason = "error"
    gen.close(error)
    assert list(Cell(0, 0, gen)) == ["partial"]  # the cell ends quietly, as a page streams it
    answer = _answer(gen)
    assert (answer.text, answer.error, answer.error_message.render("zh")) == ("partial", str(error), zh)
