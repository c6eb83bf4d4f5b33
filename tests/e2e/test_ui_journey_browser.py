"""Issue 19 in a real Chromium at 1400×900: what a new user sees while answers stream, after a
reload, and while a knowledge base indexes.

- Regenerate: while the new answer streams, the old one is gone and no action buttons show.
- Edit: the message becomes an edit box with Cancel; sending streams the answer in place.
- Settings (max new tokens) survive a page change and a reload of the same browser, and a
  second browser does not get them.
- Knowledge base: the indexing bar is in view without scrolling, the header's file count
  grows while it runs, a refused .exe says why in Chinese, the uploader speaks Chinese.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import go_to, open_page, unique, wait_idle, wait_model_loaded
from tests.e2e.test_chat_browser import messages, send
from tests.e2e.test_kb_browser import create_base

pytestmark = pytest.mark.browser


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def new_chat(page) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name="➕ 新会话").click()
    wait_idle(page)


def answered(page, n: int) -> None:
    """Wait until n saved answers show (the stats caption is drawn after streaming)."""
    expect(messages(page, "assistant").filter(has_text="token/秒")).to_have_count(n, timeout=180_000)
    wait_idle(page)


def visible_buttons(page, name: str):
    """Buttons of the main area by their label's words (the emoji is not part of the accessible name)."""
    words = name.split(" ", 1)[-1]
    return page.get_by_role("button").filter(has_text=re.compile(rf"^\W*{re.escape(words)}$")).locator("visible=true")


@pytest.mark.smollm
def test_regenerate_and_edit_replace_the_answer_while_it_streams(liandan_app, page):
    wait_model_loaded(page, liandan_app)
    go_to(page, "对话")
    new_chat(page)
    settings_slider(page).press("Home")  # 16 tokens: three answers stay quick
    wait_idle(page)
    send(page, "Name three colours.")
    answered(page, 1)

    visible_buttons(page, "🔄 重新生成").click()
    stop = page.get_by_role("button", name="⏹ 停止")
    stop.wait_for(timeout=60_000)
    # Streaming now: exactly one answer on screen (the new one) and no action buttons.
    assert messages(page, "assistant").count() == 1
    for label in ("🔄 重新生成", "✏️ 编辑上一条", "🧹 清空"):
        assert visible_buttons(page, label).count() == 0, f"{label} shows while streaming"
    answered(page, 1)
    assert messages(page, "assistant").count() == 1

    visible_buttons(page, "✏️ 编辑上一条").click()
    wait_idle(page)
    box = page.get_by_test_id("stChatMessage").get_by_role("textbox", name="修改上一条消息")
    expect(box).to_have_value("Name three colours.")
    assert messages(page, "user").count() == 1  # the edit box stands where the message was
    visible_buttons(page, "取消").click()
    wait_idle(page)
    expect(box).to_have_count(0)
    expect(messages(page, "user").filter(has_text="Name three colours.")).to_have_count(1)

    visible_buttons(page, "✏️ 编辑上一条").click()
    wait_idle(page)
    box.fill("Name two animals.")
    visible_buttons(page, "发送修改").click()
    stop.wait_for(timeout=60_000)
    assert messages(page, "user").count() == 1 and box.count() == 0
    assert messages(page, "assistant").count() == 1  # the new answer, where the old one was
    answered(page, 1)
    expect(messages(page, "user").filter(has_text="Name two animals.")).to_have_count(1)


def settings_slider(page):
    """The sidebar's "max new tokens" slider, its settings opened."""
    settings = page.get_by_test_id("stSidebar").get_by_test_id("stExpander").filter(has_text="⚙️ 生成参数").first
    slider = settings.get_by_role("slider").first
    if not slider.is_visible():
        settings.locator("summary").first.click()
    expect(slider).to_be_visible()
    return slider


def test_settings_survive_a_page_change_and_a_reload(liandan_app, page, browser):
    default = "64"  # liandan_app runs with LIANDAN_MAX_NEW_TOKENS=64
    open_page(page, liandan_app, "chat")
    slider = settings_slider(page)
    expect(slider).to_have_value(default)
    slider.press("Home")  # 16
    for _ in range(7):
        slider.press("ArrowRight")  # +16 each: 128
    wait_idle(page)
    expect(settings_slider(page)).to_have_value("128")
    go_to(page, "知识库")
    go_to(page, "对话")
    expect(settings_slider(page)).to_have_value("128")  # used to fall back to the default here
    page.reload()
    page.get_by_test_id("stSidebarNav").wait_for(timeout=60_000)
    wait_idle(page)
    expect(settings_slider(page)).to_have_value("128")  # the same browser after a reload

    other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    try:
        open_page(other, liandan_app, "chat")
        expect(settings_slider(other)).to_have_value(default)  # another browser keeps its own settings
    finally:
        other.context.close()


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


# Every KB header line ("向量模型：… · N 个文件 · …") shown, in order.
WATCH_HEADER = """() => {
  window.__headers = [];
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('[data-testid="stCaptionContainer"]')) {
      const text = el.innerText;
      if (text.startsWith('向量模型') && window.__headers[window.__headers.length - 1] !== text) window.__headers.push(text);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


# Enough text that the job outlasts several of the page's 1 s polls even with the fast hash embedder on a
# quiet machine: with 4,000 (5 × 500 chunks) a CI run saw only "0 files, starting" and then the end.
PARAGRAPHS = 16_000


def test_kb_indexing_is_in_view_and_counts_files_as_it_goes(liandan_app, page, tmp_path):
    folder = tmp_path / "大文件"
    folder.mkdir()
    paragraph = "这是用来测试进度显示的一段文字，内容会重复很多次。每一段都略有不同：第 {i} 段。\n\n"
    files = []
    for n in range(5):
        path = folder / f"资料{n}.md"
        path.write_text(f"# 资料 {n}\n\n" + "".join(paragraph.format(i=i) for i in range(PARAGRAPHS)), encoding="utf-8")
        files.append(path)
    bad = tmp_path / "安装程序.exe"
    bad.write_bytes(b"MZ\x90\x00" + bytes(200))

    open_page(page, liandan_app, "knowledge_base")
    create_base(page, unique("进度测试"))

    uploader = page.get_by_test_id("stFileUploader").filter(has_text="上传文件（可多选")
    # The uploader's own words are Chinese: Streamlit's English is hidden, ours drawn instead.
    label = uploader.get_by_test_id("stFileUploaderDropzone").get_by_role("button").get_by_test_id("stMarkdownContainer")
    assert label.evaluate("m => getComputedStyle(m, '::after').content") == '"选择文件"'
    assert label.locator("p").evaluate("p => getComputedStyle(p).display") == "none"  # Streamlit's "Upload"
    instructions = uploader.get_by_test_id("stFileUploaderDropzoneInstructions").locator("span").first
    assert "每个文件最大" in instructions.evaluate("s => getComputedStyle(s, '::after').content")

    uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([*files, bad])
    wait_idle(page)
    refused = page.get_by_test_id("stAlertContentError").filter(has_text="安装程序.exe")
    expect(refused).to_contain_text("不支持 .exe 文件")  # the reason, in the page's language
    index = page.get_by_role("button", name="开始索引上传的文件")
    expect(index).to_be_enabled()
    page.evaluate(WATCH_HEADER)
    index.click()

    bar = page.get_by_test_id("stProgress").first
    bar.wait_for(timeout=30_000)
    assert in_view(page, bar), f"the indexing bar is below the fold: {bar.bounding_box()}"
    expect(page.get_by_text(re.compile(r"已索引 5 · 未变化 0"))).to_be_visible(timeout=180_000)
    expect(page.get_by_text(re.compile(r"· 5 个文件 ·"))).to_be_visible()
    headers = page.evaluate("window.__headers")
    live = [h for h in headers if "索引中：" in h]
    # While it runs the header says so, and its file count moves before the end (the files read count
    # as soon as they are accepted; PARAGRAPHS keeps the job running for several polls).
    assert live, f"the header did not show the running job: {headers}"
    assert any(re.search(r"· [1-5] 个文件 ·", h) for h in live), f"the file count stayed at 0 while indexing: {headers}"
    assert "· 5 个文件 ·" in headers[-1] and "索引中" not in headers[-1], headers
