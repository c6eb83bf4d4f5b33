"""Scanned pages, tables, slides, sheets, e-books and RTF, from files made by the real writers
(tests/kb_corpus.py) through the real readers, the chunker and a real Chroma index.

OCR runs for real (the bundled PP-OCRv4 models) on as few pages as the claims need: a page is
seconds of CPU. No timing is asserted here (bench/ocr.py measures speed)."""

from __future__ import annotations

import difflib
import io
import re
import tracemalloc
from functools import cache

import numpy as np
import pytest

from core.errors import Cancelled
from core.kb import chunking, loaders
from core.kb.formats import ocr
from core.kb.formats import pdf as pdf_format
from core.kb.formats.base import LoadOptions
from core.kb.loaders import LoadError, load_bytes
from core.kb.manager import KnowledgeBaseManager
from tests import kb_corpus as corpus
from tests.test_kb_store import kb_settings

MB = 1_000_000
OCR_CANVAS_MEMORY = 250 * MB  # what the engine allocates (numpy, traced) for its largest canvas, 2000×2000: 213 MB measured
OCR_OFF = LoadOptions(ocr=False)


@cache
def scanned_loaded() -> loaders.Loaded:
    return load_bytes("扫描件.pdf", corpus.scanned_pdf(), 50 * MB)


def similarity(expected: str, got: str) -> float:
    """Character-level similarity with whitespace ignored (OCR joins or splits lines freely)."""
    strip = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    return difflib.SequenceMatcher(None, strip(expected), strip(got), autojunk=False).ratio()


# --- OCR ----------------------------------------------------------------------------------------

def test_ocr_recovers_a_rendered_chinese_page():
    loaded = scanned_loaded()
    assert similarity("".join(corpus.SCAN_LINES), loaded.text) >= 0.90, loaded.text
    assert [s.meta for s in loaded.sections] == [{"page": 1}]
    assert [m.render("en") for m in loaded.notes] == ["1 pages, 1 by OCR"]
    assert loaded.notes[0].render("zh") == "1 页，其中 1 页经 OCR 识别"


def test_a_scanned_pdf_with_ocr_off_names_the_pages_instead_of_coming_back_empty():
    with pytest.raises(LoadError) as caught:
        load_bytes("扫描件.pdf", corpus.scanned_pdf([corpus.SCAN_LINES, ["第二页"]]), 50 * MB, OCR_OFF)
    assert "2 page(s) look scanned: no text found (OCR is off)" in str(caught.value)
    assert "LIANDAN_KB_OCR=1" in caught.value.text("zh") and "扫描件" in caught.value.text("zh")


def test_a_mixed_pdf_keeps_its_text_pages_and_reports_the_scanned_one():
    data = corpus.mixed_pdf(["第一页：采购流程需要两级审批。", "第二页：报销单据保存五年。"])
    loaded = load_bytes("混合.pdf", data, 50 * MB, OCR_OFF)
    assert [s.meta["page"] for s in loaded.sections] == [1, 2]
    assert "两级审批" in loaded.sections[0].text and "保存五年" in loaded.sections[1].text
    assert [m.render("en") for m in loaded.notes] == ["3 pages", "page 3 looks scanned: no text found (OCR is off)"]
    assert "第 3 页像是扫描件" in loaded.notes[1].render("zh")
    chunks = chunking.split_loaded(loaded, 500, 150)
    assert [c.meta for c in chunks] == [{"page": 1}, {"page": 2}]  # no chunk spans two pages


@pytest.mark.parametrize(
    "text, cover, scanned",
    [
        ("", 1.0, True),  # a scan: an image over the page, no text layer
        ("(cid:12)(cid:44)(cid:3)" * 40, 0.9, True),  # a junk layer of unmapped glyphs
        ("扫描仪 2026-01-01", 0.95, True),  # a scanner's stamp is not the page's text
        ("正文" * 400, 0.9, False),  # a real text page with a background image
        ("", 0.0, False),  # a blank page is not a scan
        ("附录", 0.1, False),  # a short page without an image
    ],
)
def test_scanned_page_detection(text, cover, scanned):
    assert pdf_format.looks_scanned(text, 595, 842, cover) is scanned


def test_pdf_pages_report_progress_and_cancel_stops_between_pages():
    data = corpus.text_pdf([f"第 {n} 页的正文。" for n in range(1, 4)])
    seen: list[tuple[int, int]] = []
    load_bytes("三页.pdf", data, MB, LoadOptions(on_page=lambda done, total: seen.append((done, total))))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(Cancelled):
        load_bytes("三页.pdf", data, MB, LoadOptions(on_page=lambda done, total: seen.append((done, total)), should_stop=lambda: len(seen) >= 4))
    assert seen[3:] == [(1, 3)]


def test_images_go_through_the_same_ocr_and_ocr_off_says_so():
    loaded = load_bytes("白板.jpg", corpus.scanned_image(fmt="JPEG"), 50 * MB)
    assert similarity("".join(corpus.SCAN_LINES), loaded.text) >= 0.90, loaded.text
    with pytest.raises(LoadError, match="OCR is off"):
        load_bytes("白板.png", corpus.scanned_image(), 50 * MB, OCR_OFF)
    with pytest.raises(LoadError, match="image cannot be read"):
        load_bytes("坏图.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, MB)


def test_ocr_tiles_cover_a_tall_image_with_overlaps_and_leave_others_whole():
    assert ocr.tiles(1500, 1080) == [(0, 1500)] and ocr.tiles(2339, 1654) == [(0, 2339)]  # an A4 page at 200 dpi stays whole
    assert ocr.tiles(9000, 1500) == [(0, 3000), (2800, 5800), (5600, 8600), (6000, 9000)]
    spans = ocr.tiles(20000, 1080)
    assert spans[0][0] == 0 and spans[-1][1] == 20000 and all(end - start == 2160 for start, end in spans)
    assert all(previous[1] - start >= ocr.TILE_OVERLAP for previous, (start, _) in zip(spans, spans[1:]))


def test_a_long_screenshot_is_read_at_its_own_resolution_each_line_once():
    """1080×20000 px (a WeChat 长截图): scaled whole to 2000 px it came back as noise. Lines are put
    in every overlap of two tiles (at its middle, where the tiles hand over, and near both edges)."""
    spans = ocr.tiles(20000, 1080)
    rows = [start + 300 for start, _ in spans[:-1]]
    for (_, end), (start, _) in zip(spans, spans[1:]):
        rows += [start + 30, (start + end) // 2, end - 30]
    lines = {row: f"第{n}行盘点差异需要复核" for n, row in enumerate(sorted(rows))}
    seen: list[tuple[int, int]] = []
    loaded = load_bytes("长截图.png", corpus.long_screenshot(lines), 50 * MB, LoadOptions(on_page=lambda done, total: seen.append((done, total))))
    got = loaded.text.splitlines()
    assert len(got) == len(lines), got  # none lost, none twice
    assert similarity("".join(lines.values()), loaded.text) >= 0.95, loaded.text
    assert seen == [(n, len(spans)) for n in range(1, len(spans) + 1)]
    with pytest.raises(Cancelled):
        load_bytes("长截图.png", corpus.long_screenshot(lines), 50 * MB, LoadOptions(on_page=lambda done, total: seen.append((done, total)), should_stop=lambda: len(seen) > len(spans) + 1))


def test_a_long_image_saved_as_one_pdf_page_is_read_like_the_screenshot():
    """A 长图 exported as PDF is one page 100 inches tall: rendered to 3500 px on its long side, its text
    was a few pixels high; now it is rendered at 200 dpi (short side ≤ 2000 px) and read in tiles."""
    from PIL import Image

    lines = {row: f"第{n}段报销单据保存五年" for n, row in enumerate(range(500, 20000, 1500))}
    buffer = io.BytesIO()
    Image.open(io.BytesIO(corpus.long_screenshot(lines, size=28))).save(buffer, "PDF", resolution=200)
    loaded = load_bytes("长图.pdf", buffer.getvalue(), 50 * MB)
    assert len(loaded.text.splitlines()) == len(lines), loaded.text
    assert similarity("".join(lines.values()), loaded.text) >= 0.95, loaded.text
    assert [m.render("en") for m in loaded.notes] == ["1 pages, 1 by OCR"]


@pytest.fixture
def engine_calls(monkeypatch) -> list[tuple[int, int]]:
    """The shape of every canvas the real OCR engine is given during the test."""
    calls: list[tuple[int, int]] = []
    engine = ocr._get_engine()

    def counting(image, *args, **kwargs):
        calls.append(image.shape[:2])
        return engine(image, *args, **kwargs)

    monkeypatch.setattr(ocr, "_engine", counting)
    return calls


@pytest.mark.parametrize("width, height", [(30, 1999), (1999, 30), (1, 9999), (59999, 1)])
def test_a_thin_strip_costs_the_ocr_no_more_than_a_page(width, height, engine_calls):
    """A few hundred bytes of PNG, 1999 px tall and 30 wide, made a 736×49000 detection canvas
    (41 s, 5 GB), and one 59999 wide and 1 tall crashed the engine: now each costs at most a page.
    A grey ramp, not white: a blank tile never reaches the engine, and this is about the engine's canvas."""
    from PIL import Image

    ramp = np.linspace(0, 255, width * height).astype(np.uint8).reshape(height, width)
    buffer = io.BytesIO()
    Image.fromarray(ramp).convert("RGB").save(buffer, "PNG")
    tracemalloc.start()
    try:
        with pytest.raises(LoadError, match="found no text"):
            load_bytes("细条.png", buffer.getvalue(), MB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < OCR_CANVAS_MEMORY, f"{peak / MB:.0f} MB"
    assert engine_calls and all(max(shape) <= ocr.TILE_SIDE for shape in engine_calls), engine_calls


def test_blank_stretches_of_a_long_screenshot_are_not_given_to_the_ocr(engine_calls):
    """Each engine call took 0.5–0.7 s here even on white, so a 1080×20000 screenshot with text only at
    its top and bottom is read by the engine only in the tiles that hold them (3 of 11: the bottom line
    sits in both of the last two), and a blank hostile 1×60000 image in none."""
    calls = engine_calls
    lines = {300: "开头一行写着报销流程", 19700: "结尾一行写着审批时限"}
    loaded = load_bytes("长截图.png", corpus.long_screenshot(lines), 50 * MB)
    assert similarity("".join(lines.values()), loaded.text) >= 0.9, loaded.text
    spans = ocr.tiles(20000, 1080)
    inked = [(start, end) for start, end in spans if any(start <= row < end for row in lines)]
    assert len(calls) == len(inked) == 3 and len(spans) == 11, (calls, spans)
    calls.clear()
    white = np.full((60000, 1, 3), 255, np.uint8)
    assert ocr.recognize(white) == "" and calls == []
    jpeg_noise = np.random.default_rng(0).integers(250, 256, (3000, 1000, 3), dtype=np.uint8)
    assert ocr.recognize(jpeg_noise) == "" and calls == []


# --- tables -------------------------------------------------------------------------------------

def rows_in_chunks(chunks: list[chunking.Chunk], header: list[str], rows: list[list[object]]) -> None:
    """Every row is whole (all its cells, as one Markdown row) in a chunk that has the header row."""
    header_line = "| " + " | ".join(header) + " |"
    for row in rows:
        line = "| " + " | ".join(map(str, row)) + " |"
        holders = [c for c in chunks if line in c.text.splitlines()]
        assert holders, f"{line} is in no chunk whole"
        assert all(header_line in c.text.splitlines() for c in holders), (line, [c.text for c in holders])


def test_a_pdf_table_stays_one_markdown_table_in_one_chunk():
    loaded = load_bytes("显卡.pdf", corpus.table_pdf(), MB)
    chunks = chunking.split_loaded(loaded, 500, 150)
    holder = [c for c in chunks if corpus.TABLE_ONLY_WORD in c.text]
    assert len(holder) == 1 and "| 型号 | 显存 | 价格 |\n|---|---|---|" in holder[0].text
    assert corpus.TABLE_INTRO in holder[0].text  # the caption stays with its table
    rows_in_chunks(chunks, corpus.TABLE_HEADER, corpus.TABLE_ROWS)


def test_a_long_pdf_table_is_split_between_rows_under_a_repeated_header():
    rows = [[f"型号{n:03d}", f"{n} GB", f"{1000 + n}"] for n in range(60)]
    chunks = chunking.split_loaded(load_bytes("长表.pdf", corpus.table_pdf(rows), MB), 300, 100)
    assert sum(1 for c in chunks if "| 型号 | 显存 | 价格 |" in c.text) >= 3
    rows_in_chunks(chunks, corpus.TABLE_HEADER, rows)


def test_docx_html_and_markdown_tables_become_markdown_tables():
    import docx

    document = docx.Document()
    document.add_paragraph("表前的段落。")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["城市", "人口"], ["汉中", "321 万"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("表后的段落。")
    buffer = io.BytesIO()
    document.save(buffer)
    text = load_bytes("城市.docx", buffer.getvalue(), MB).text
    assert text == "表前的段落。\n\n| 城市 | 人口 |\n|---|---|\n| 汉中 | 321 万 |\n\n表后的段落。"
    html = "<p>前文</p><table><tr><th>键</th><th>值</th></tr><tr><td>a|b</td><td>1</td></tr></table><p>后文</p>"
    assert "| 键 | 值 |\n|---|---|\n| a\\|b | 1 |" in load_bytes("t.html", html.encode(), MB).text
    markdown = "# 价格\n\n| 项目 | 金额 |\n|:--|--:|\n" + "".join(f"| 项{n} | {n} |\n" for n in range(80))
    chunks = chunking.split(markdown, "markdown", 200, 50)
    assert len(chunks) > 3 and all(c.text.startswith("价格\n| 项目 | 金额 |\n|:--|--:|\n") for c in chunks)
    rows_in_chunks(chunks, ["项目", "金额"], [[f"项{n}", n] for n in range(80)])


def test_sheets_are_blocks_of_rows_under_their_header_with_the_sheet_name():
    rows = [["编号", "名称"]] + [[n, f"零件{n:03d}"] for n in range(100)]
    loaded = load_bytes("库存.xlsx", corpus.xlsx_book({"零件表": rows, "空表": []}), MB)
    chunks = chunking.split_loaded(loaded, 300, 100)
    assert len(chunks) > 3 and all(c.heading == "零件表" and c.text.startswith("零件表\n| 编号 | 名称 |\n|---|---|\n") for c in chunks)
    rows_in_chunks(chunks, ["编号", "名称"], rows[1:])
    csv_chunks = chunking.split_loaded(load_bytes("库存.csv", "\n".join(f"{a},{b}" for a, b in rows).encode(), MB), 300, 100)
    assert len(csv_chunks) > 3 and all(c.text.startswith("| 编号 | 名称 |\n|---|---|\n") for c in csv_chunks)


# --- more formats -------------------------------------------------------------------------------

def test_pptx_slides_keep_text_notes_tables_and_their_number():
    chunks = chunking.split_loaded(load_bytes("启动会.pptx", corpus.pptx_deck(), MB), 500, 150)
    assert [(c.heading, c.meta) for c in chunks] == [("Slide 1 > 项目启动会", {"slide": 1}), ("Slide 2 > 风险清单", {"slide": 2})]
    assert "目标：三个月内上线知识库问答。" in chunks[0].text and "蓝鲸计划" in chunks[0].text  # body and notes
    assert "| 风险 | 负责人 |\n|---|---|\n| 识别率 | 白泽小组 |" in chunks[1].text


def test_xlsx_epub_and_rtf_round_trip_their_text():
    sheets = load_bytes("销售.xlsx", corpus.xlsx_book(), MB)
    assert [s.heading for s in sheets.sections] == ["销售", "库存"]
    assert "| 一月 | 华东 | 1200 |" in sheets.text and "| 银杏木板 | 35 |" in sheets.text
    book = load_bytes("书.epub", corpus.epub_book({"第一章 起点": "故事从汉江边开始。", "第二章": "结尾在秦岭。"}), MB)
    assert [s.heading for s in book.sections] == ["第一章 起点", "第二章"]
    assert "故事从汉江边开始。" in book.sections[0].text and "结尾在秦岭。" in book.sections[1].text
    rtf = load_bytes("备忘.rtf", corpus.rtf_document("会议纪要 Meeting\n下周三交付。"), MB)
    assert rtf.text.split() == ["会议纪要", "Meeting", "下周三交付。"]


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("坏.pptx", b"PK\x03\x04 not really", "damaged or not in that format"),
        ("坏.xlsx", corpus.xlsx_book()[:300], "damaged or not in that format"),
        ("坏.epub", corpus.epub_book({"a": "b"})[:200], "damaged or not in that format"),
        ("无目录.epub", corpus.pptx_deck(), "damaged or not in that format"),  # a zip, but no EPUB container
        ("假.rtf", b"just text, no rtf header", "not RTF"),
        ("截断.pdf", corpus.table_pdf()[:400], "damaged or truncated"),
    ],
)
def test_broken_files_of_the_new_formats_give_their_reason(name, data, reason):
    with pytest.raises(LoadError, match=reason) as caught:
        load_bytes(name, data, MB)
    assert re.search(r"[\u4e00-\u9fff]", caught.value.text("zh"))


# --- through the knowledge-base manager and a real Chroma index ----------------------------------

def test_search_finds_words_only_the_ocr_or_the_table_holds(tmp_path):
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    kbs.create("formats")
    files = {
        "扫描件.pdf": corpus.scanned_pdf(), "显卡.pdf": corpus.table_pdf(), "启动会.pptx": corpus.pptx_deck(),
        "销售.xlsx": corpus.xlsx_book(), "混合.pdf": corpus.mixed_pdf(["这一页有文字层：设备采购需要两级审批。"], ["第二页"]),
    }
    paths = kbs.save_uploads("formats", list(files.items()))
    result = kbs.index("formats", paths)
    assert result.summary()["indexed"] == 5, result.reports
    notes = {r.source: [n["key"] for n in r.notes] for r in result.reports}
    assert notes["扫描件.pdf"] == ["kb.report.pages_ocr"] and notes["显卡.pdf"] == ["kb.report.pages"]
    assert kbs.search("formats", corpus.OCR_ONLY_WORD, 1)[0].source == "扫描件.pdf"
    table_hit = kbs.search("formats", corpus.TABLE_ONLY_WORD, 1)[0]
    assert table_hit.source == "显卡.pdf" and "| 型号 | 显存 | 价格 |" in table_hit.text
    assert kbs.search("formats", "白泽小组", 1)[0].source == "启动会.pptx"
    assert kbs.search("formats", "银杏木板", 1)[0].source == "销售.xlsx"
    stored = kbs.get("formats").collection.get(include=["metadatas"])["metadatas"]
    assert {m["page"] for m in stored if m["source"] == "混合.pdf"} == {1, 2}
    assert {m["slide"] for m in stored if m["source"] == "启动会.pptx"} == {1, 2}


def test_liandan_kb_ocr_off_through_the_cli_names_the_scanned_page(tmp_path):
    from tests.security.cli import run_index

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "混合.pdf").write_bytes(corpus.mixed_pdf(["第一页：采购流程需要两级审批。"]))
    (folder / "扫描件.pdf").write_bytes(corpus.scanned_pdf())
    proc, _ = run_index(tmp_path / "data", "kb", folder, LIANDAN_KB_OCR="false")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 indexed" in proc.stdout and "1 failed" in proc.stdout, proc.stdout
    assert "docs/混合.pdf: 2 pages; page 2 looks scanned: no text found (OCR is off)" in proc.stdout, proc.stdout
    assert "failed: docs/扫描件.pdf: The PDF's 1 page(s) look scanned: no text found (OCR is off)." in proc.stdout, proc.stdout
