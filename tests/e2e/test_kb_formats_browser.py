"""Issue 15's "done when", in a real Chromium: a scanned Chinese PDF, a PDF with a table, a .pptx
and an .xlsx dropped into the Knowledge Base uploader are all indexed, the per-file report says
how the PDFs were read ("1 页，其中 1 页经 OCR 识别"), and the retrieval test finds a word only the
OCR holds and a word only the table holds, each in its own file."""

from __future__ import annotations

import re

import pytest

from tests import kb_corpus as corpus
from tests.e2e.conftest import go_to, unique, wait_idle, wait_model_loaded
from tests.e2e.test_kb_browser import create_base, expect, report_rows

pytestmark = pytest.mark.browser

KB_NAME = "格式库-e2e"
FILES = {
    "扫描件.pdf": corpus.scanned_pdf,
    "显卡.pdf": corpus.table_pdf,
    "启动会.pptx": corpus.pptx_deck,
    "销售.xlsx": corpus.xlsx_book,
}


def search(page, query: str, source: str) -> None:
    """Type `query` in the retrieval test; the first hit must be `source`."""
    box = page.get_by_role("textbox", name="输入一个问题试试检索")
    box.fill(query)
    box.press("Enter")
    wait_idle(page)
    expect(page.get_by_text(re.compile(rf"^\[1\] {re.escape(source)} · 相关度"))).to_be_visible(timeout=30_000)


def test_scans_tables_slides_and_sheets_become_findable_chunks(liandan_app, page, tmp_path):
    kb_name = unique(KB_NAME)
    paths = []
    for name, make in FILES.items():
        (tmp_path / name).write_bytes(make())
        paths.append(tmp_path / name)
    wait_model_loaded(page, liandan_app)  # opens the app
    go_to(page, "知识库")
    create_base(page, kb_name)

    uploader = page.get_by_test_id("stFileUploader").filter(has_text="上传文件（可多选")
    uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(paths)
    index = page.get_by_role("button", name="开始索引上传的文件")
    expect(index).to_be_enabled()  # the page has received the uploads (a refused type would not be)
    wait_idle(page)
    index.click()

    # OCR of one A4 page takes seconds on two busy cores: a generous wait, no timing claim.
    expect(page.get_by_text(re.compile(r"已索引 4 · 未变化 0 · 重复 0 · 已移除 0 · 失败 0"))).to_be_visible(timeout=300_000)
    rows = report_rows(page, len(FILES))
    assert set(rows) == set(FILES), rows
    for name in FILES:
        assert "已索引" in rows[name][0], (name, rows[name])
    assert "1 页，其中 1 页经 OCR 识别" in rows["扫描件.pdf"][-1], rows["扫描件.pdf"]
    assert rows["显卡.pdf"][-1] == "1 页", rows["显卡.pdf"]

    page.get_by_role("tab", name="🔎 检索测试").click()
    wait_idle(page)
    search(page, corpus.OCR_ONLY_WORD, "扫描件.pdf")
    search(page, corpus.TABLE_ONLY_WORD, "显卡.pdf")
    hit = page.get_by_test_id("stExpander").filter(has_text=corpus.TABLE_ONLY_WORD).first
    hit.locator("summary").click()
    expect(hit.get_by_test_id("stExpanderDetails").get_by_text(re.compile(r"\| 型号 \| 显存 \| 价格 \|"))).to_be_visible()  # the table came back as a table
