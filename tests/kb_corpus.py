"""The documents people actually drop into a knowledge base, built on the spot with the real
writers: a scanned Chinese page (text rendered to an image with the installed WenQuanYi font,
saved as a PDF page), a PDF with a ruled table (fpdf2), a deck (python-pptx), a workbook
(openpyxl), an EPUB and an RTF. Each holds words no other file has, so a search can tell
which reader found them."""

from __future__ import annotations

import io
import zipfile

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

# The scanned page: only OCR can read these lines (the PDF has no text layer).
SCAN_LINES = [
    "第三章 仓库盘点制度",
    "每个季度末，仓库管理员需要清点全部库存，",
    "并把盘点结果登记在青铜狮鹫台账中。",
    "盘点差异超过百分之二时，必须提交书面说明，",
    "由财务部门复核后才能调整账面数量。",
    "过期物资应单独存放，并在月底前完成报废审批。",
]
OCR_ONLY_WORD = "青铜狮鹫"

TABLE_HEADER = ["型号", "显存", "价格"]
TABLE_ROWS = [["翡翠蜥蜴", "24 GB", "12999"], ["赤金凤凰", "48 GB", "25999"], ["玄武岩龟", "80 GB", "89999"]]
TABLE_ONLY_WORD = "翡翠蜥蜴"
TABLE_INTRO = "下表列出机房可用的显卡型号。"

SLIDES = [  # (title, body, notes)
    ("项目启动会", "目标：三个月内上线知识库问答。", "讲者备注：强调蓝鲸计划的里程碑。"),
    ("风险清单", "数据质量与扫描件识别。", ""),
]
SHEETS = {"销售": [["月份", "地区", "销售额"], ["一月", "华东", 1200], ["二月", "华南", 980]], "库存": [["物料", "数量"], ["银杏木板", 35]]}


def _font_image(lines: list[str], size: int = 36):
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, size)
    image = Image.new("RGB", (1654, 2339), "white")  # A4 at 200 dpi
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((160, 200 + i * size * 2), line, font=font, fill="black")
    return image


def scanned_image(lines: list[str] = SCAN_LINES, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    _font_image(lines).save(buffer, fmt)
    return buffer.getvalue()


def long_screenshot(lines: dict[int, str], width: int = 1080, height: int = 20000, size: int = 40) -> bytes:
    """A phone's long screenshot (长截图): `lines` maps the row of each line's vertical centre to its text."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, size)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for row, line in lines.items():
        draw.text((60, row), line, font=font, fill="black", anchor="lm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def scanned_pdf(pages: list[list[str]] | None = None) -> bytes:
    """A PDF whose pages are only images of text, as a scanner writes them (PIL's PDF writer)."""
    images = [_font_image(lines) for lines in (pages or [SCAN_LINES])]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def _fpdf():
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font("wqy", fname=FONT)
    pdf.add_font("wqy", style="B", fname=FONT)  # table headings are bold
    pdf.set_font("wqy", size=12)
    return pdf


def table_pdf(rows: list[list[str]] = TABLE_ROWS, intro: str = TABLE_INTRO, after: str = "以上价格含税。", pages: int = 1) -> bytes:
    """A text PDF with a ruled table (header row first) between two paragraphs, on each of `pages`."""
    pdf = _fpdf()
    for _ in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 8, intro)
        pdf.ln(4)
        with pdf.table(col_widths=(60, 40, 40), text_align="LEFT") as table:
            for row in [TABLE_HEADER, *rows]:
                cells = table.row()
                for value in row:
                    cells.cell(value)
        pdf.ln(4)
        pdf.multi_cell(0, 8, after)
    return bytes(pdf.output())


def text_pdf(pages: list[str]) -> bytes:
    """A PDF with a real text layer, one string per page."""
    pdf = _fpdf()
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def mixed_pdf(text_pages: list[str], scan_lines: list[str] = SCAN_LINES) -> bytes:
    """Text pages followed by one page that is only a scanned image."""
    pdf = _fpdf()
    for text in text_pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.add_page()
    pdf.image(_font_image(scan_lines), x=0, y=0, w=210, h=297)
    return bytes(pdf.output())


def pptx_deck(slides=SLIDES) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for number, (title, body, notes) in enumerate(slides):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
        if number == 1:
            table = slide.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(6), Inches(1)).table
            for r, row in enumerate([["风险", "负责人"], ["识别率", "白泽小组"]]):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def xlsx_book(sheets=SHEETS) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def epub_book(chapters: dict[str, str]) -> bytes:
    """A minimal valid EPUB 3: container, package with manifest and spine, one XHTML per chapter."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr("META-INF/container.xml", (
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>'))
        items = "".join(f'<item id="c{i}" href="text/c{i}.xhtml" media-type="application/xhtml+xml"/>' for i in range(len(chapters)))
        spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
        book.writestr("OEBPS/content.opf", (
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata/>'
            f"<manifest>{items}</manifest><spine>{spine}</spine></package>"))
        for i, (title, body) in enumerate(chapters.items()):
            book.writestr(f"OEBPS/text/c{i}.xhtml", (
                f'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}</title></head>'
                f"<body><h1>{title}</h1><p>{body}</p></body></html>"))
    return buffer.getvalue()


def rtf_document(text: str) -> bytes:
    """RTF as Word writes Chinese: \\uN escapes with a '?' fallback, in a GBK code page."""
    escaped = "".join(ch if ord(ch) < 128 else f"\\u{ord(ch) if ord(ch) < 32768 else ord(ch) - 65536}?" for ch in text)
    return ("{\\rtf1\\ansi\\ansicpg936\\deff0{\\fonttbl{\\f0 SimSun;}}\\f0 " + escaped.replace("\n", "\\par ") + "}").encode("ascii")
