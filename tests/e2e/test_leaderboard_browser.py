"""In a real Chromium: the leaderboard over the votes of several blind rounds (a checkpoint adapter
as a contestant), its tag filter and CSV; then the Fine-tune page's Ollama export with a Modelfile that keeps
the persona."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest

from core.i18n import t
from core.adapters.store import AdapterStore
from core.compare.votes import Vote, VoteStore
from tests.conftest import MODEL_CACHE
from tests.e2e.conftest import go_to, open_page, wait_idle, wait_model_loaded
from tests.factories import build_lora_adapter

pytestmark = [pytest.mark.browser, pytest.mark.smollm]
ADAPTER, CHECKPOINT = "e2e-board", "e2e-board@step4"
PERSONA = "你是甄嬛，自称臣妾。"


def zh(key: str, **values) -> str:
    return t(key, "zh", **values)


def smol_dir():
    from core.models import sources

    return sources.convert_embedded(MODEL_CACHE)


def test_leaderboard_after_votes_and_an_ollama_export_with_the_persona(own_app, page):
    store = AdapterStore(own_app.data_dir / "adapters")
    for name, seed in ((ADAPTER, 5), (CHECKPOINT, 6)):
        if not store.exists(name):
            build_lora_adapter(smol_dir(), store, name, seed=seed, system_prompt=PERSONA, scale=0.05)
    wait_model_loaded(page, own_app)
    # Votes as earlier blind rounds left them (a real UI vote is covered by test_compare_browser and the
    # AppTest test_leaderboard_page; answering on the embedded model takes minutes under load).
    sidebar = page.get_by_test_id("stSidebar").get_by_test_id("stAlertContentSuccess").first.inner_text()
    model = sidebar.split("：", 1)[1].strip()
    votes = VoteStore(own_app.data_dir / "compare" / "votes.jsonl")
    for i in range(6):  # the checkpoint loses to the final adapter; base loses to both
        votes.add(Vote(a=ADAPTER, b=CHECKPOINT, choice="A" if i < 5 else "tie", model=model, voter=f"v{i}", tag="persona"))
    votes.add(Vote(a="base", b=ADAPTER, choice="B", model=model, voter="v0", tag="facts"))
    open_page(page, own_app, "compare")
    page.get_by_text(zh("compare.mode.blind"), exact=True).click()
    page.get_by_role("heading", name=zh("compare.lb.title")).wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"计入 \d+ 票")).wait_for(timeout=60_000)
    with page.expect_download() as download:
        page.get_by_role("button", name=zh("compare.lb.export")).click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    ranked = [r["variant"] for r in rows]
    assert {"base", ADAPTER, CHECKPOINT} <= set(ranked) and ranked.index(ADAPTER) < ranked.index(CHECKPOINT)
    assert all(float(r["low_95"]) <= float(r["rating"]) <= float(r["high_95"]) for r in rows)
    page.get_by_test_id("stSelectbox").filter(has_text=zh("compare.lb.tag")).click()
    page.get_by_role("option", name="persona", exact=True).click()
    page.get_by_text(zh("compare.lb.note", used=6, capped=0, cap=200)).wait_for(timeout=60_000)  # only the tagged round

    go_to(page, zh("nav.finetune"))
    page.get_by_role("tab", name=zh("ft.tab.adapters")).click()
    card = page.get_by_test_id("stExpander").filter(has_text=f"{ADAPTER} ·").first
    card.locator("summary").click()
    card.get_by_role("button", name=zh("ft.ad.ollama")).click()
    wait_idle(page)
    with page.expect_download() as download:
        card.get_by_role("button", name=zh("ft.ad.ollama_download")).click()
    with zipfile.ZipFile(download.value.path()) as zf:
        modelfile = zf.read(f"{ADAPTER}/Modelfile").decode("utf-8")
        assert f"{ADAPTER}/adapter/adapter_config.json" in zf.namelist()
        assert "--lora-modules" in zf.read(f"{ADAPTER}/README.md").decode("utf-8")
    assert f'SYSTEM """{PERSONA}"""' in modelfile and "ADAPTER ./adapter" in modelfile
    assert 'PARAMETER stop "<|im_end|>"' in modelfile and "{{- range $i, $m := .Messages }}" in modelfile
