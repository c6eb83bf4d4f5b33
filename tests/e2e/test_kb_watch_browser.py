"""A watched server folder follows edits, and citations open at their passage, in a real Chromium.

The user turns on 保持同步 and indexes a folder under LIANDAN_KB_ROOTS once; then a file written on
the server (nobody clicks 索引) becomes findable in the retrieval test, the status line says the
folder synced, and a hit of the retrieval test and a source of a Chat answer each open the chunk
browser at the passage (highlighted, with the chunks around it).
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from tests.e2e.conftest import choose, go_to, server_root, wait_idle, wait_model_loaded
from tests.e2e.test_chat_browser import messages, send
from tests.e2e.test_kb_browser import create_base, expect

pytestmark = pytest.mark.browser

KB_BASE = "监视库-e2e"
FOLDER_BASE = "会同步的笔记"
NEW_FILE = "新来的.md"
FACT = "朱雀桥的桥名牌编号是 ZQ-7319"


def search_until_found(page, query: str, source: str, timeout_s: float = 120) -> None:
    """Ask the retrieval test again until `source` is among the hits (the watcher indexes on its own)."""
    box = page.get_by_role("textbox", name="输入一个问题试试检索")
    deadline = time.monotonic() + timeout_s
    while True:
        box.fill("")
        box.press("Enter")
        wait_idle(page)
        box.fill(query)
        box.press("Enter")
        wait_idle(page)
        if page.get_by_text(re.compile(rf"\[\d+\] {re.escape(source)} · 相关度")).count():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{source} never became findable")
        page.wait_for_timeout(1000)


def test_a_watched_folder_follows_an_edit_and_citations_open_at_the_passage(liandan_app, page):
    # Names of this attempt's own: the shared app keeps an earlier attempt's base (the retry would
    # otherwise meet "already exists" and another test's base selected).
    suffix = uuid.uuid4().hex[:4]
    kb_name, folder_name = f"{KB_BASE}-{suffix}", f"{FOLDER_BASE}-{suffix}"
    folder = server_root(liandan_app) / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "旧笔记.md").write_text("# 旧笔记\n\n秦淮河边的乌衣巷，夕阳斜照。\n", encoding="utf-8")
    wait_model_loaded(page, liandan_app)
    go_to(page, "知识库")
    create_base(page, kb_name)

    box = page.get_by_role("textbox", name="服务器文件夹")
    box.fill(str(folder))
    box.press("Enter")
    wait_idle(page)
    page.get_by_test_id("stCheckbox").filter(has_text="保持同步（监视该文件夹）").locator("label").click()
    wait_idle(page)
    page.get_by_role("button", name="索引该文件夹").click()
    expect(page.get_by_text(re.compile(r"已索引 1 · 未变化 0 · 重复 0 · 已移除 0 · 失败 0"))).to_be_visible(timeout=60_000)
    status = page.get_by_text(re.compile(r"正在监视 · 上次同步：.+前 · 1 处变化"))
    expect(status).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stCheckbox").filter(has_text=f"保持同步：{folder}")).to_be_visible()

    # A new file written on the server, no click: the watcher indexes it and search finds it.
    written = time.monotonic()
    (folder / NEW_FILE).write_text(f"# 新来的\n\n{FACT}，刻在桥头的石碑上。\n", encoding="utf-8")
    page.get_by_role("tab", name="🔎 检索测试").click()
    search_until_found(page, "朱雀桥的桥名牌编号", f"{folder_name}/{NEW_FILE}")
    print(f"\nwatched folder: new file findable {time.monotonic() - written:.1f} s after it was written "
          f"(debounce {2.0} s, 1-2 s search polling)")
    page.get_by_role("tab", name="📥 添加文档").click()
    expect(page.get_by_text(re.compile(r"正在监视 · 上次同步：.+前 · 1 处变化"))).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile(rf"👁 {kb_name}: {folder_name} · 已完成"))).to_be_visible()

    # The retrieval test's hit opens at its passage.
    page.get_by_role("tab", name="🔎 检索测试").click()
    hit = page.get_by_test_id("stExpander").filter(has_text="朱雀桥").first
    hit.locator("summary").click()
    hit.get_by_role("button", name="📍 在分块浏览器中打开").click()
    wait_idle(page)
    panel = page.locator(".st-key-kb-passage-panel")
    expect(panel.get_by_text(f"📍 引用的段落：{folder_name}/{NEW_FILE} · 分块 1")).to_be_visible()
    expect(panel.locator("mark")).to_contain_text("ZQ-7319")
    expect(panel.get_by_text("这是该文件的第一个分块。")).to_be_visible()
    panel.get_by_role("button", name="关闭").click()
    wait_idle(page)
    expect(page.locator(".st-key-kb-passage-panel")).to_have_count(0)

    # A source of a Chat answer opens the KB page at its passage.
    go_to(page, "对话")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name="➕ 新会话").click()
    wait_idle(page)
    sidebar.get_by_test_id("stRadio").filter(has_text="模式").get_by_text("知识库", exact=True).click()
    wait_idle(page)
    picker = sidebar.get_by_role("combobox", name="使用的知识库")
    choose(page, picker, kb_name)
    send(page, "朱雀桥的桥名牌编号是多少？")
    # The sources are saved with the answer (at most LIANDAN_MAX_NEW_TOKENS=64 tokens in this app;
    # Stop is tested in test_chat_browser.py).
    answer = messages(page, "assistant").last
    expect(answer.get_by_text(f"出处 · {kb_name}")).to_be_visible(timeout=240_000)
    cited = answer.get_by_test_id("stExpander").filter(has_text=re.compile(rf"\[\d+\] {re.escape(folder_name)}/{re.escape(NEW_FILE)} · "))
    cited.first.locator("summary").click()
    cited.first.get_by_role("button", name="📍 在分块浏览器中打开").click()
    page.get_by_test_id("stSidebarNavLink").filter(has_text="知识库").and_(page.locator("[aria-current=page]")).wait_for()
    wait_idle(page)
    expect(page.get_by_role("combobox", name="知识库", exact=True)).to_have_value(kb_name)
    panel = page.locator(".st-key-kb-passage-panel")
    expect(panel.locator("mark")).to_contain_text("ZQ-7319")
    expect(page.get_by_text("Traceback")).to_have_count(0)
