"""A hostile server folder indexed from the Knowledge Base page in a real Chromium.

The folder (under LIANDAN_KB_ROOTS) holds one good file of every format next to hostile ones:
deep JSON and notebook, links to /proc/self/environ, /etc/passwd and into the app's data folder,
a zip bomb with a good member, a docx bomb, a binary file, a truncated PDF, a fake docx, a FIFO,
an empty file. The job must finish, index every good file, list every bad one as failed with its
reason in Chinese, list nothing else (no file reached through a link out), show no traceback,
and keep the app's peak memory within 150 MB of where it was.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import go_to, server_root, unique, wait_idle, wait_model_loaded
from tests.e2e.test_kb_browser import create_base, expect, report_rows
from tests.security.hostile import hostile_folder, hostile_reasons

pytestmark = pytest.mark.browser

KB_NAME = "恶意文件夹-e2e"
FOLDER = "来路不明的仓库"
BOMB_MEMBERS = 5  # the CLI test has all 40; here the table stays readable


def peak_rss_mb(pid: int) -> int:
    """VmHWM: the process's peak resident memory so far."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024


def test_a_hostile_server_folder_indexes_the_good_files_and_names_the_bad(liandan_app, page):
    kb_name = unique(KB_NAME)
    folder_name = unique(FOLDER)
    folder = server_root(liandan_app) / folder_name
    good = hostile_folder(folder, liandan_app.data_dir / "kb", BOMB_MEMBERS)
    bad = hostile_reasons(BOMB_MEMBERS)
    wait_model_loaded(page, liandan_app)
    go_to(page, "知识库")
    create_base(page, kb_name)

    before = peak_rss_mb(liandan_app.process.pid)
    box = page.get_by_role("textbox", name="服务器文件夹")
    box.fill(str(folder))
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="索引该文件夹").click()
    summary = rf"已索引 {len(good)} · 未变化 0 · 重复 0 · 已移除 0 · 失败 {len(bad)}"
    expect(page.get_by_text(re.compile(summary))).to_be_visible(timeout=120_000)
    after = peak_rss_mb(liandan_app.process.pid)

    table = report_rows(page, len(good) + len(bad), scroll=True)
    assert set(table) == {f"{folder_name}/{name}" for name in good | set(bad)}, sorted(set(table) ^ {f"{folder_name}/{n}" for n in good | set(bad)})
    for name in good:
        assert "已索引" in table[f"{folder_name}/{name}"][0], (name, table[f"{folder_name}/{name}"])
    for name, (_, reason_zh) in bad.items():
        status, *_, reason = table[f"{folder_name}/{name}"]
        assert "失败" in status and reason_zh in reason, (name, status, reason)
    expect(page.get_by_text("Traceback")).to_have_count(0)
    assert after - before < 150, f"the app's peak memory rose from {before} MB to {after} MB"
