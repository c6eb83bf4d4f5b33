"""AppTest of the preference loop on the tiny model: export votes on the Fine-tune page, see them listed
with counts and a preview, train DPO from them, and start the re-compare in one click."""

from __future__ import annotations

import pytest

from core.compare.feedback import Feedback, FeedbackStore
from core.compare.votes import Vote, VoteStore
from tests.conftest import app_test

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def seed_votes(rt, n: int = 10) -> None:
    votes = VoteStore(rt.settings.compare_dir / "votes.jsonl")
    for i in range(n):
        votes.add(Vote(a="base", b="guide", choice="B" if i % 3 else "A", prompt=f"塔在哪里？{i}", answer_a=f"不知道 {i}",
                       answer_b="塔在巴黎。", model=rt.models.engine.info.name))
    votes.add(Vote(a="base", b="guide", choice="tie", prompt="平局", answer_a="一", answer_b="二"))
    FeedbackStore(rt.settings.compare_dir / "feedback.jsonl").add(
        Feedback(rating="up", messages=[{"role": "user", "content": "你好"}], answer="你好呀", conversation="c", turn=1))


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_votes_export_list_and_train_dpo_then_re_compare(app_runtime):
    seed_votes(app_runtime)
    at = app_test("pages/fine_tune.py").run()
    assert not at.exception
    assert any("11 blind vote(s) stored (10 decisive), 1 👍 and 0 👎" in c.value for c in at.caption)
    button(at, "Export as training data").click().run()
    assert not at.exception
    assert any("Exported 8 preference pair(s) (2 prompt(s) held out" in s.value and "1 good answer(s)" in s.value
               for s in at.success)
    rows = [m.value for m in at.markdown]
    assert any("Preference pairs (for DPO) · 8 records" in r for r in rows)
    assert any("Good answers (for LoRA fine-tuning) · 1 records" in r for r in rows)
    preview = next(d for d in at.dataframe if "Chosen" in d.value.columns)
    assert list(preview.value.columns) == ["Line", "Prompt", "Chosen", "Rejected"]
    assert "塔在巴黎。" in set(preview.value["Chosen"]) | set(preview.value["Rejected"])

    next(b for b in at.button if b.key and b.key.startswith("pref-use-") and "votes-pairs" in b.key).click().run()
    assert not at.exception
    assert at.radio(key="ft-preset").value == "dpo"
    assert any("Preference data for training: votes-pairs.jsonl (8 pairs)" in i.value for i in at.info)
    assert at.selectbox(key="ft-dpo-parent").value == "base"
    at.number_input(key="ft-dpo-epochs").set_value(1)
    at.text_input(key="ft-name").set_value("prefers").run()
    button(at, "Start training").click().run()
    assert not at.exception
    [job] = app_runtime.finetune.jobs()
    assert app_runtime.jobs.wait(job.id, timeout=120).status == "done"
    card = app_runtime.adapters.get("prefers")
    assert card.extra["parent"] == "base" and len(card.extra["heldout_prompts"]) == 2

    at.run()
    assert not at.exception
    assert any("on the 8 prompt(s) that produced the votes and 2 held-out prompt(s)" in c.value for c in at.caption)
    button(at, "Re-compare blind against the parent").click().run()
    assert not at.exception
    assert at.session_state["compare-mode"] == "blind"
    assert at.session_state["compare-recompare"]["new"] == "prefers"
    assert any("Prompt 1 of 10" in m.value for m in at.markdown)
    at.switch_page("pages/compare.py").run()  # AppTest reruns the page it was told, not the one switched to
    next(b for b in at.button if b.key and b.key.startswith("vote-") and b.key.endswith("-A")).click().run()
    assert not at.exception
    verdicts = [e.value for e in [*at.success, *at.error, *at.info] if "win rate" in e.value]
    assert len(verdicts) == 1 and "1 decisive vote(s)" in verdicts[0], verdicts
    assert any(c.value.startswith("Training prompts:") for c in at.caption)


def test_nothing_to_export_says_where_votes_come_from(app_runtime):
    at = app_test("pages/fine_tune.py", lang="zh").run()
    button(at, "导出为训练数据").click().run()
    assert not at.exception
    assert any("还没有可导出的数据" in i.value for i in at.info)


def test_a_chat_answer_rated_up_then_down_is_stored_once_with_its_question(app_runtime):
    at = app_test("pages/chat.py").run()
    at.chat_input[0].set_value("你好").run()
    assert not at.exception
    next(b for b in at.button if b.key == "chat-rate-up").click().run()
    next(b for b in at.button if b.key == "chat-rate-down").click().run()
    assert not at.exception
    [rated] = FeedbackStore(app_runtime.settings.compare_dir / "feedback.jsonl").all()
    assert rated.rating == "down" and rated.prompt == "你好" and rated.answer.strip() and rated.variant == "base"
