"""Take the README's screenshots of the preference loop from the real app on the embedded SmolLM2.

    .venv/bin/python -m tests.e2e.screenshots_loop docs/screenshots

Drives the same app and helpers as the browser tests (tests/e2e/screenshots.py takes the others):
- loop-vote-zh.png: a blind A/B round on Compare, its two answers generated live, and the vote buttons;
- loop-leaderboard-zh.png: the Bradley–Terry leaderboard with its 95 % bootstrap intervals;
- loop-dpo-zh.png: Fine-tune after 导出为训练数据 → 用于训练: the DPO preset picked, parent and β.
The two adapters are seeded LoRA noise on SmolLM2 (tests/factories.py), not trained ones, and the
leaderboard counts the live vote plus 24 votes this script writes the way blind rounds store them,
so the board has three variants and enough votes for its intervals: a picture of the page, not a result.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

from core.i18n import t
from core.adapters.store import AdapterStore
from core.compare.votes import Vote, VoteStore
from tests.conftest import MODEL_CACHE
from tests.e2e.app_server import chromium_or_exit, launch_chromium, run_app
from tests.e2e.conftest import go_to, open_page, wait_idle, wait_model_loaded
from tests.e2e.test_preference_browser import export_and_use_pairs
from tests.factories import build_lora_adapter

PERSONA = "现在你要扮演皇帝身边的女人--甄嬛"
ADAPTERS = {"huanhuan": 5, "huanhuan-v2": 6}  # name: noise seed
PROMPT = "你是谁？请用一句话回答。"
WRITTEN = [("huanhuan", "base", 0.75), ("huanhuan-v2", "huanhuan", 0.6), ("huanhuan-v2", "base", 0.8)]  # (a, b, P(a wins))


def zh(key: str, **values) -> str:
    return t(key, "zh", **values)


def write_votes(data_dir: Path, model: str) -> None:
    """8 votes per pair, each on its own prompt with both answers, sides shuffled as a blind round does."""
    rng = random.Random(16)
    votes = VoteStore(data_dir / "compare" / "votes.jsonl")
    for a, b, p in WRITTEN:
        for i in range(8):
            winner_is_a = rng.random() < p
            shown = (a, b) if rng.random() < 0.5 else (b, a)
            choice = "A" if (shown[0] == a) == winner_is_a else "B"
            votes.add(Vote(a=shown[0], b=shown[1], choice=choice, prompt=f"第 {i + 1} 个问题：{a} 对 {b}",
                           answer_a=f"{shown[0]} 的回答", answer_b=f"{shown[1]} 的回答", model=model, voter=f"v{i}"))


def vote_round(page, out: Path) -> None:
    go_to(page, zh("nav.compare"))
    page.get_by_text(zh("compare.mode.blind"), exact=True).click()
    wait_idle(page)
    page.get_by_label(zh("compare.prompts")).fill(PROMPT)
    page.get_by_role("button", name=zh("compare.blind_start")).click()
    vote = page.get_by_role("button", name=zh("compare.vote_a"))
    vote.wait_for(timeout=900_000)  # two answers on an oversubscribed CPU can take minutes
    wait_idle(page)
    vote.scroll_into_view_if_needed()
    page.screenshot(path=str(out / "loop-vote-zh.png"))
    vote.click()
    page.get_by_text(zh("compare.blind_done", n=1)).wait_for(timeout=60_000)


def leaderboard(page, app, out: Path) -> None:
    open_page(page, app, "compare")
    page.get_by_text(zh("compare.mode.blind"), exact=True).click()
    heading = page.get_by_role("heading", name=zh("compare.lb.title"))
    heading.wait_for(timeout=60_000)
    page.get_by_text("计入 25 票").wait_for(timeout=60_000)
    wait_idle(page)
    heading.scroll_into_view_if_needed()
    page.mouse.wheel(0, -40)
    page.screenshot(path=str(out / "loop-leaderboard-zh.png"))


def dpo_preset(page, out: Path) -> None:
    export_and_use_pairs(page)
    preset = page.get_by_test_id("stRadio").get_by_role("radio", name=zh("ft.preset.dpo"))
    if not preset.is_checked():
        raise SystemExit("the pairs file did not switch the preset to DPO")
    preset.scroll_into_view_if_needed()
    page.mouse.wheel(0, 250)  # the preset, its parent and β, under the chosen pairs file
    page.screenshot(path=str(out / "loop-dpo-zh.png"))


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    from core.models import sources

    out.mkdir(parents=True, exist_ok=True)
    executable = chromium_or_exit()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        store = AdapterStore(data / "adapters")
        for name, seed in ADAPTERS.items():
            build_lora_adapter(sources.convert_embedded(MODEL_CACHE), store, name, seed=seed, system_prompt=PERSONA, scale=0.05)
        with run_app(data, model_cache=MODEL_CACHE, LIANDAN_MAX_NEW_TOKENS="48") as app, sync_playwright() as pw:
            browser = launch_chromium(pw, executable)
            page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
            wait_model_loaded(page, app)
            loaded = page.get_by_test_id("stSidebar").get_by_test_id("stAlertContentSuccess").first.inner_text()
            write_votes(data, loaded.split("：", 1)[1].strip())
            vote_round(page, out)
            leaderboard(page, app, out)
            dpo_preset(page, out)
            browser.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
