"""Indexing a folder on the server from the Knowledge Base page, in a real Chromium.

What the tutorial does with its cloned repositories, done by clicking: a folder outside
LIANDAN_KB_ROOTS is refused with a message (no traceback), a folder inside it (nested folders,
Chinese and odd names, a GBK file, an empty and a binary-disguised file) is indexed with each
file's status, and after one file changes and one is deleted, indexing the same folder again
redoes only the changed file and removes the deleted one's chunks.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import go_to, server_root, unique, wait_idle, wait_model_loaded
from tests.e2e.test_kb_browser import create_base, expect, report_rows

pytestmark = pytest.mark.browser

KB_NAME = "服务器库-e2e"
FOLDER = "克隆的仓库"
FILES = {
    "README.md": "# 克隆的仓库\n\n这里收集了学习笔记。\n".encode(),
    "第一章/注意力 & 位置编码.md": "# 注意力\n\n缩放点积注意力除以根号 d_k，避免 softmax 饱和。\n".encode(),
    "第一章/深层 目录/旧笔记.txt": "用国标编码保存：LoRA 只训练低秩矩阵，显存占用小。".encode("gbk"),
    "notes/english.md": b"# Notes\n\nRetrieval-augmented generation grounds answers in documents.\n",
    "第一章/空白.md": b"",
    "notes/截图.md": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
}
BROKEN = {"第一章/空白.md", "notes/截图.md"}


def test_a_server_folder_is_indexed_then_reindexed_incrementally(liandan_app, page):
    kb_name = unique(KB_NAME)
    folder_name = unique(FOLDER)
    folder = server_root(liandan_app) / folder_name
    for name, data in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    wait_model_loaded(page, liandan_app)  # opens the app
    go_to(page, "知识库")
    create_base(page, kb_name)

    # Outside the allowed roots: refused, said in Chinese, nothing started.
    box = page.get_by_role("textbox", name="服务器文件夹")
    box.fill("/etc")
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="索引该文件夹").click()
    wait_idle(page)
    expect(page.get_by_text(re.compile("不在允许的文件夹范围内"))).to_be_visible()
    expect(page.get_by_text("Traceback")).to_have_count(0)

    # Inside: every file gets a status; the broken ones a reason; nested names survive.
    box.fill(str(folder))
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="索引该文件夹").click()
    expect(page.get_by_text(re.compile(r"已索引 4 · 未变化 0 · 重复 0 · 已移除 0 · 失败 2"))).to_be_visible(timeout=60_000)
    table = report_rows(page, len(FILES))
    assert set(table) == {f"{folder_name}/{name}" for name in FILES}, table
    for name in FILES:
        status = table[f"{folder_name}/{name}"][0]
        assert ("失败" if name in BROKEN else "已索引") in status, (name, table[f"{folder_name}/{name}"])
    assert re.search(r"空|empty", table[f"{folder_name}/第一章/空白.md"][-1])

    # Change one file, delete another, index the same folder: only the difference is redone.
    (folder / "README.md").write_text("# 克隆的仓库\n\n笔记已更新：新增第二章。\n", encoding="utf-8")
    (folder / "notes/english.md").unlink()
    wait_idle(page)
    page.get_by_role("button", name="索引该文件夹").click()
    expect(page.get_by_text(re.compile(r"已索引 1 · 未变化 2 · 重复 0 · 已移除 1 · 失败 2"))).to_be_visible(timeout=60_000)
    table = report_rows(page, len(FILES))
    assert "已索引" in table[f"{folder_name}/README.md"][0] and "未变化" in table[f"{folder_name}/第一章/注意力 & 位置编码.md"][0], table
