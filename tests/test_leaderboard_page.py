"""AppTest of the Compare page's leaderboard: a tagged blind vote carries its voter and tag, and the board ranks it."""

from __future__ import annotations

import re

import pytest

from core.compare.votes import VoteStore
from tests.conftest import app_test
from tests.factories import build_lora_adapter


@pytest.fixture
def rt(app_runtime, tiny_model_dir):
    build_lora_adapter(tiny_model_dir, app_runtime.adapters, "甄嬛", seed=1, system_prompt="你是甄嬛。")
    return app_runtime


def test_a_tagged_blind_vote_reaches_the_leaderboard(rt):
    at = app_test("pages/compare.py", lang="en").run()
    at.slider(key="compare-temp").set_value(0.0)
    at.slider(key="compare-max").set_value(8)
    at.radio(key="compare-mode").set_value("blind").run()
    at.text_area(key="compare-prompts").set_value("你是谁？")
    at.text_input(key="blind-tag").set_value("persona")
    at.button(key="blind-start").click().run(timeout=120)
    blind_id = at.session_state["compare-blind"]["run"]
    at.button(key=f"vote-{blind_id}-0-A").click().run(timeout=120)
    assert not at.exception
    vote = VoteStore(rt.settings.compare_dir / "votes.jsonl").all()[-1]
    assert vote.tag == "persona" and re.fullmatch(r"[0-9a-f]{12}", vote.voter)
    assert "🏆 Leaderboard" in [s.value for s in at.subheader]
    board = at.dataframe[1].value  # [0] is the pair tally
    assert set(board["Variant"]) == {"base", "甄嬛"} and list(board["Rank"]) == [1, 2]
    assert any("1 votes counted" in c.value for c in at.caption)
    assert at.selectbox(key="lb-tag").options == ["All tags", "persona"]
