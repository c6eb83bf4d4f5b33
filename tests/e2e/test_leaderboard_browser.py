"""In a real Chromium: a blind vote, then the leaderboard over all votes (with a checkpoint adapter
as a contestant) and its CSV; then the Fine-tune page's Ollama export with a Modelfile that keeps
the persona."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import replace

import pytest

from core.i18n import t
from core.tuning.adapters import AdapterStore
from core.tuning.votes import VoteStore
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


def test_leaderboard_after_votes_and_an_ollama_export_with_the_persona(liandan_app, page):
    store = AdapterStore(liandan_app.data_dir / "adapters")
    for name, seed in ((ADAPTER, 5), (CHECKPOINT, 6)):
        if not store.exists(name):
            build_lora_adapter(smol_dir(), store, name, seed=seed, system_prompt=PERSONA, scale=0.05)
    wait_model_loaded(page, liandan_app)
    go_to(page, zh("nav.compare"))
    page.get_by_text(zh("compare.mode.blind"), exact=True).click()
    wait_idle(page)
    page.get_by_test_id("stMultiSelect").get_by_text(f"🧩 {ADAPTER}").wait_for()  # base + the first adapter: the default pair
    page.get_by_label(zh("compare.tag")).fill("persona")
    page.get_by_label(zh("compare.prompts")).fill("你是谁？")
    wait_idle(page)
    page.get_by_role("button", name=zh("compare.blind_start")).click()
    page.get_by_role("button", name=zh("compare.vote_a")).wait_for(timeout=240_000)
    page.get_by_role("button", name=zh("compare.vote_a")).click()
    page.get_by_text(zh("compare.blind_done", n=1)).wait_for(timeout=60_000)
    votes = VoteStore(liandan_app.data_dir / "compare" / "votes.jsonl")
    real = votes.all()[-1]
    assert real.tag == "persona" and re.fullmatch(r"[0-9a-f]{12}", real.voter)
    # More rounds, as other voters would have cast them: the checkpoint loses to the final adapter.
    for i in range(6):
        votes.add(replace(real, a=ADAPTER, b=CHECKPOINT, choice="A" if i < 5 else "tie", voter=f"other-{i}"))
    open_page(page, liandan_app, "compare")
    page.get_by_text(zh("compare.mode.blind"), exact=True).click()
    page.get_by_role("heading", name=zh("compare.lb.title")).wait_for(timeout=60_000)
    page.get_by_text(zh("compare.lb.note", used=7, capped=0, cap=200)).wait_for(timeout=60_000)
    with page.expect_download() as download:
        page.get_by_role("button", name=zh("compare.lb.export")).click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    ranked = [r["variant"] for r in rows]
    assert set(ranked) == {"base", ADAPTER, CHECKPOINT} and ranked.index(ADAPTER) < ranked.index(CHECKPOINT)
    assert all(float(r["low_95"]) <= float(r["rating"]) <= float(r["high_95"]) for r in rows)

    go_to(page, zh("nav.finetune"))
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
