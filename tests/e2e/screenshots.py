"""Take the README's screenshots from the real app on the embedded SmolLM2.

    .venv/bin/python -m tests.e2e.screenshots docs/screenshots

Drives the same app and helpers as the browser tests, so a screenshot is what a user sees.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import MODEL_CACHE
from tests.e2e.app_server import find_chromium, launch_chromium, run_app
from tests.e2e.conftest import go_to, wait_idle, wait_model_loaded

QUESTIONS = {
    "zh": ("对话", "你好！请用中文介绍一下你自己。", "token/秒"),
    "en": ("Chat", "What is the capital of France? Answer in two sentences.", "tokens/s"),
}


def ask(page, lang: str, out: Path) -> None:
    title, question, stats = QUESTIONS[lang]
    if lang == "en":
        page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
        wait_idle(page)
    go_to(page, title)
    if page.get_by_test_id("stChatMessage").count():  # start clean for the picture
        page.get_by_test_id("stSidebar").get_by_role("button", name="➕").click()
        wait_idle(page)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    started = time.monotonic()
    page.get_by_test_id("stChatMessage").last.get_by_text(stats).wait_for(timeout=180_000)
    wait_idle(page)
    print(f"{lang}: answered in {time.monotonic() - started:.1f} s")
    page.screenshot(path=str(out / f"chat-{lang}.png"))


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    executable = find_chromium()
    if executable is None:
        sys.exit("No Chromium found: apt-get install chromium (and fonts-wqy-microhei fonts-noto-color-emoji for CJK/emoji).")
    with tempfile.TemporaryDirectory() as tmp, run_app(Path(tmp) / "data", model_cache=MODEL_CACHE, LIANDAN_MAX_NEW_TOKENS="96") as app, sync_playwright() as pw:
        browser = launch_chromium(pw, executable)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
        started = time.monotonic()
        wait_model_loaded(page, app)
        print(f"model ready after {time.monotonic() - started:.1f} s")
        page.screenshot(path=str(out / "home-zh.png"))
        for lang in ("zh", "en"):
            ask(page, lang, out)
        browser.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
