"""AppTest of the Compare page (one comparison, one blind vote) and Chat's adapter selector."""

from __future__ import annotations

import pytest

from core.conversations import ConversationStore
from core.compare.runs import RunStore
from core.compare.votes import VoteStore
from tests.conftest import app_test
from tests.factories import build_lora_adapter

PERSONA = "现在你要扮演皇帝身边的女人--甄嬛"


@pytest.fixture
def rt(app_runtime, tiny_model_dir):
    build_lora_adapter(tiny_model_dir, app_runtime.adapters, "甄嬛", seed=1, system_prompt=PERSONA)
    return app_runtime


def greedy(at, key: str):
    at.slider(key=f"{key}-temp").set_value(0.0)
    at.slider(key=f"{key}-max").set_value(16)
    return at


def test_compare_runs_side_by_side_and_blind_vote_is_tallied(rt):
    at = greedy(app_test("pages/compare.py").run(), "compare")
    assert not at.exception
    assert at.multiselect(key="compare-variants").value == ["base", "甄嬛"]
    at.text_area(key="compare-prompts").set_value("你是谁？\nHello")
    at.button(key="compare-start").click().run(timeout=120)
    assert not at.exception and not at.error

    runs = RunStore(rt.settings.compare_dir / "runs")
    run = runs.get(runs.list()[0])
    assert run.complete and run.variants == ["base", "甄嬛"] and run.options["temperature"] == 0.0
    shown = " ".join(m.value for m in at.markdown)
    assert "1. 你是谁？" in shown and "2. Hello" in shown
    answers = [a for row in run.answers for a in row]
    assert all(a.tokens > 0 and a.finish_reason in ("stop", "length") for a in answers)
    visible = [a.text.strip() for a in answers if a.text.strip()]  # a random tiny model may answer blank lines
    assert visible and all(text[:8] in shown for text in visible)
    assert any(PERSONA in c.value for c in at.caption)
    assert rt.models.engine.adapter_names() == ["甄嬛"]  # loaded lazily, on the one base

    at.radio(key="compare-mode").set_value("blind").run()
    at.text_area(key="compare-prompts").set_value("你是谁？")
    at.button(key="blind-start").click().run(timeout=120)
    assert not at.exception
    blind_id = at.session_state["compare-blind"]["run"]
    at.button(key=f"vote-{blind_id}-0-B").click().run()
    assert not at.exception
    votes = VoteStore(rt.settings.compare_dir / "votes.jsonl").all()
    assert len(votes) == 1 and votes[0].choice == "B" and {votes[0].a, votes[0].b} == {"base", "甄嬛"}
    assert votes[0].answer_a and votes[0].answer_b
    assert any("Blind round finished" in s.value for s in at.success)
    assert any(f"A = {votes[0].a}" in i.value for i in at.info)  # revealed after the vote
    tally = at.dataframe[0].value
    assert tally.iloc[0]["Pair"] == "base vs 甄嬛" and tally.iloc[0]["Ties"] == 0
    assert tally.iloc[0]["First wins"] + tally.iloc[0]["Second wins"] == 1


def test_compare_refuses_one_variant_and_shows_incompatible_as_hidden(rt, tmp_path):
    from tests.factories import build_model

    other = build_model(tmp_path / "qwen", "qwen2")
    build_lora_adapter(other, rt.adapters, "foreign", seed=4)
    at = app_test("pages/compare.py").run()
    assert any("foreign" in c.value and "hidden" in c.value for c in at.caption)
    assert "foreign" not in at.multiselect(key="compare-variants").options
    at.multiselect(key="compare-variants").set_value(["base"])
    at.button(key="compare-start").click().run()
    assert not at.exception
    assert any("Pick 2 to 4 variants" in e.value for e in at.error)


def test_chat_adapter_selector_applies_persona_and_records_variant(rt):
    at = greedy(app_test("pages/chat.py").run(), "chat")
    picker = next(s for s in at.selectbox if "Adapter" in s.label)
    assert picker.value == "base"
    picker.set_value("甄嬛").run()
    assert not at.exception
    system_box = next(a for a in at.text_area if a.label == "System prompt")
    assert system_box.value == PERSONA
    assert rt.models.engine.adapter_names() == ["甄嬛"]
    at.chat_input[0].set_value("你是谁？").run(timeout=120)
    assert not at.exception
    conv = ConversationStore(rt.settings.conversations_dir).list()[0]
    assert conv.system_prompt == PERSONA
    assert [(t.role, t.variant) for t in conv.turns] == [("user", ""), ("assistant", "甄嬛")]
    assert any("🧩 甄嬛" in c.value for c in at.caption)

    next(s for s in at.selectbox if "Adapter" in s.label).set_value("base").run()
    assert next(a for a in at.text_area if a.label == "System prompt").value == ""
    at.chat_input[0].set_value("Hello").run(timeout=120)
    conv = ConversationStore(rt.settings.conversations_dir).get(conv.id)
    assert conv.turns[-1].variant == "base" and conv.system_prompt == ""
