"""Adapter Compare in a real Chromium: one side-by-side comparison and one blind vote."""

from __future__ import annotations

import pytest

from core.adapters.store import AdapterStore
from core.compare.votes import VoteStore
from tests.conftest import MODEL_CACHE
from tests.e2e.conftest import go_to, wait_model_loaded
from tests.factories import build_lora_adapter

pytestmark = [pytest.mark.browser, pytest.mark.smollm]
ADAPTER = "e2e-persona"


def smol_dir():
    from core.models import sources

    return sources.convert_embedded(MODEL_CACHE)


def test_compare_side_by_side_then_one_blind_vote(liandan_app, page):
    store = AdapterStore(liandan_app.data_dir / "adapters")
    if not store.exists(ADAPTER):
        build_lora_adapter(smol_dir(), store, ADAPTER, seed=3, system_prompt="You are a pirate.", scale=0.05)
    wait_model_loaded(page, liandan_app)
    go_to(page, "适配器对比")
    page.get_by_role("heading", name="⚖️ 适配器对比").wait_for()

    page.get_by_label("问题（每行一个）").fill("你是谁？")
    page.get_by_role("button", name="▶️ 开始对比").click()
    page.get_by_role("button", name="⬇️ 导出 Markdown").wait_for(timeout=240_000)
    main = page.get_by_test_id("stMain")
    assert main.get_by_text("基座模型（无适配器）").count() >= 1
    assert main.get_by_text(f"🧩 {ADAPTER}").count() >= 1
    assert main.get_by_text("人设：You are a pirate.").count() >= 1
    assert main.get_by_text("个 token ·").count() == 2  # both columns finished with their stats

    page.get_by_text("盲评 A/B", exact=True).click()
    page.get_by_role("button", name="▶️ 开始盲评").click()
    page.get_by_role("button", name="👈 A 更好").wait_for(timeout=240_000)
    page.get_by_role("button", name="👈 A 更好").click()
    page.get_by_text("本轮盲评完成").wait_for(timeout=60_000)
    page.get_by_text("上一题：A =").wait_for()
    votes = VoteStore(liandan_app.data_dir / "compare" / "votes.jsonl").all()
    assert votes and votes[-1].choice == "A" and {votes[-1].a, votes[-1].b} == {"base", ADAPTER}
    page.get_by_role("button", name="⬇️ 导出投票 CSV").wait_for()
