"""Take the README's screenshots from the real app on the embedded SmolLM2.

    .venv/bin/python -m tests.e2e.screenshots docs/screenshots

Drives the same app and helpers as the browser tests, so a screenshot is what a user sees:
home-zh.png (Home), chat-zh.png / chat-en.png (an answer in each language), kb-zh.png (a knowledge
base right after indexing five files: the header's counts, the job bar and the per-file table in view).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import MODEL_CACHE
from tests.e2e.app_server import chromium_or_exit, launch_chromium, run_app
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
    page.get_by_test_id("stChatMessage").last.get_by_text(stats).wait_for(timeout=300_000)  # the first answer on a busy CPU can take minutes
    wait_idle(page)
    print(f"{lang}: answered in {time.monotonic() - started:.1f} s")
    page.screenshot(path=str(out / f"chat-{lang}.png"))


KB_FILES = {
    "熊猫.md": "# 大熊猫\n\n大熊猫生活在四川的竹林里，每天要吃十几公斤竹子。",
    "企鹅.md": "# 企鹅\n\n帝企鹅生活在南极，雄企鹅把蛋放在脚上孵化。",
    "骆驼.md": "# 骆驼\n\n骆驼的驼峰里储存的是脂肪，不是水。",
    "海豚.md": "# 海豚\n\n海豚用回声定位寻找食物，睡觉时只有半个大脑休息。",
    "树懒.md": "# 树懒\n\n树懒一周只下树一次，身上会长藻类。",
}


def knowledge_base(page, folder: Path, out: Path) -> None:
    """A new base, five uploaded Markdown files indexed; the shot shows the page as the job ends."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in KB_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    page.get_by_test_id("stSidebar").get_by_text("中文", exact=True).click()
    wait_idle(page)
    go_to(page, "知识库")
    page.get_by_role("textbox", name="名称", exact=True).fill("动物百科")
    page.get_by_role("button", name="创建", exact=True).click()
    wait_idle(page)
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="上传文件（可多选")
    uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([folder / n for n in KB_FILES])
    wait_idle(page)
    page.get_by_role("button", name="开始索引上传的文件").click()
    page.get_by_text("已索引 5 · 未变化 0").wait_for(timeout=180_000)
    wait_idle(page)
    page.screenshot(path=str(out / "kb-zh.png"))


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    executable = chromium_or_exit()
    with tempfile.TemporaryDirectory() as tmp, run_app(Path(tmp) / "data", model_cache=MODEL_CACHE, LIANDAN_MAX_NEW_TOKENS="96") as app, sync_playwright() as pw:
        browser = launch_chromium(pw, executable)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
        started = time.monotonic()
        wait_model_loaded(page, app)
        print(f"model ready after {time.monotonic() - started:.1f} s")
        page.screenshot(path=str(out / "home-zh.png"))
        for lang in ("zh", "en"):
            ask(page, lang, out)
        knowledge_base(page, Path(tmp) / "docs", out)
        browser.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
