"""The preference loop in a real Chromium: one blind vote → export → a one-step DPO job → re-compare.

Kept small for time: one prompt, one epoch over one pair (one optimizer step on SmolLM2), the
base as parent; the loop's behaviour at scale is measured by bench/preference.py instead.
The answer waits are long because the shared CI machine may be oversubscribed (a blind round's
two 64-token answers took over 4 minutes at load 21); they bound a hang, not speed.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from core.i18n import t
from core.adapters.store import AdapterStore
from core.compare.votes import VoteStore
from tests.e2e.conftest import go_to, open_expander, wait_idle, wait_model_loaded
from tests.e2e.test_compare_browser import ADAPTER, smol_dir
from tests.factories import build_lora_adapter

pytestmark = [pytest.mark.browser, pytest.mark.smollm]
PROMPT = "你是谁？请用一句话回答。"


def zh(key: str, **values) -> str:
    return t(key, "zh", **values)


def wait_job(app, name: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in (app.data_dir / "jobs").glob("finetune-*.json"):
            job = json.loads(path.read_text(encoding="utf-8"))
            if job["params"].get("name") == name and job["status"] not in ("pending", "running"):
                return job
        time.sleep(1)
    raise AssertionError(f"DPO job {name} did not finish within {timeout_s:.0f} s\n{app.log_tail()}")


def export_and_use_pairs(page):
    """On the Fine-tune page: export the votes as pairs and choose them for training; returns the main area."""
    go_to(page, zh("nav.finetune"))
    main = page.get_by_test_id("stMain")
    expander = main.get_by_test_id("stExpander").filter(has_text=zh("pref.header"))
    if not expander.get_by_role("button", name=zh("pref.export")).is_visible():
        expander.get_by_text(zh("pref.header")).click()
    expander.get_by_role("button", name=zh("pref.export")).click()
    main.get_by_text("个偏好对").wait_for(timeout=60_000)
    wait_idle(page)
    expander.get_by_role("button", name=zh("pref.use")).first.click()
    wait_idle(page)
    return main


def test_vote_export_train_dpo_and_re_compare(own_app, page):
    store = AdapterStore(own_app.data_dir / "adapters")
    if not store.exists(ADAPTER):
        build_lora_adapter(smol_dir(), store, ADAPTER, seed=3, system_prompt="You are a pirate.", scale=0.05)
    wait_model_loaded(page, own_app)

    # 1. one blind vote on the Compare page
    go_to(page, zh("nav.compare"))
    page.get_by_text(zh("compare.mode.blind"), exact=True).click()
    wait_idle(page)
    page.get_by_label(zh("compare.prompts")).fill(PROMPT)
    page.get_by_role("button", name=zh("compare.blind_start")).click()
    page.get_by_role("button", name=zh("compare.vote_a")).wait_for(timeout=600_000)
    page.get_by_role("button", name=zh("compare.vote_a")).click()
    page.get_by_text(zh("compare.blind_done", n=1)).wait_for(timeout=60_000)
    voted = [v for v in VoteStore(own_app.data_dir / "compare" / "votes.jsonl").all() if v.prompt == PROMPT]
    assert voted and voted[-1].choice == "A" and voted[-1].settings["options"]["seed"] is not None

    # 2. export on the Fine-tune page and pick the pairs
    main = export_and_use_pairs(page)
    main.get_by_text("训练用的偏好数据").wait_for(timeout=30_000)
    assert page.get_by_test_id("stRadio").get_by_role("radio", name=zh("ft.preset.dpo")).is_checked()

    # 3. a one-epoch DPO job from the base (epochs sit with the other knobs beyond the preset)
    open_expander(page, zh("ft.set.advanced"))
    epochs = page.get_by_role("spinbutton", name=zh("ft.set.epochs"))
    epochs.fill("1")
    epochs.press("Enter")
    wait_idle(page)
    name = f"e2e-dpo-{uuid.uuid4().hex[:6]}"
    box = page.get_by_role("textbox", name=zh("ft.start.name"))
    box.fill(name)
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=zh("ft.start.button")).click()
    page.get_by_text(zh("ft.start.started")).wait_for(timeout=60_000)
    job = wait_job(own_app, name, 600)
    assert job["status"] == "done", job["error"]
    card = store.get(name)
    assert card.extra["method"] == "dpo" and card.extra["parent"] == "base" and card.extra["vote_set_sha256"]

    # 4. re-compare in one click, vote once, read the verdict
    recompare = page.get_by_role("button", name=zh("pref.recompare"))
    recompare.wait_for(timeout=60_000)
    recompare.click()
    page.get_by_role("heading", name=zh("compare.title")).wait_for(timeout=60_000)
    page.get_by_role("button", name=zh("compare.vote_a")).wait_for(timeout=600_000)
    page.get_by_role("button", name=zh("compare.vote_a")).click()
    page.get_by_text("次有效投票").wait_for(timeout=60_000)
    page.get_by_text("训练提示：").wait_for()
    again = [v for v in VoteStore(own_app.data_dir / "compare" / "votes.jsonl").all() if {v.a, v.b} == {name, "base"}]
    assert len(again) == 1
