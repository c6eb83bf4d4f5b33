"""PDF pages as text with their page numbers; tables as Markdown; scanned pages through OCR.

PDFium (pypdfium2, BSD/Apache; what Chrome reads hostile PDFs with) gives each page's text and
its image and path objects in a few milliseconds. Only a page that draws paths can hold a ruled
table; that page alone is re-read by pdfplumber (MIT, on pdfminer.six, ~15x slower) for its tables.
A page whose text layer is empty or junk while an image covers much of it is a scan: it is
rendered and read by OCR. Progress is reported per page and Cancel is honoured between pages,
because OCR takes seconds a page on CPU.
"""

from __future__ import annotations

import io
import logging
import re
import threading

import numpy as np

from core.errors import Cancelled
from core.i18n import Message, msg
from core.kb.formats import ocr
from core.kb.formats.base import LoadOptions, Parsed, Section
from core.kb.formats.tables import markdown_table

logging.getLogger("pdfminer").setLevel(logging.ERROR)  # it logs every oddity of a hostile file
log = logging.getLogger(__name__)

OCR_DPI = 200  # PP-OCR reads body text well from ~150 dpi; 200 keeps small print
MAX_RENDER_PIXELS = 30_000_000  # a poster or a 100-inch "long image" page is rendered smaller than 200 dpi
MIN_CHARS_PER_SQIN = 0.5  # fewer letters than this per square inch: no real text layer (an A4 page of text has ~20)
MIN_TEXT_SHARE = 0.5  # fewer than half of the glyphs letters/digits/CJK: a junk layer (unmapped fonts, "(cid:12)")
MIN_IMAGE_COVER = 0.3  # a scan is an image over most of the page; a blank page is not a scan
MAX_OBJECTS = 20_000  # page objects looked at for images and paths (a vector map has millions)
_CID = re.compile(r"\(cid:\d+\)")
_pdfium_lock = threading.Lock()  # PDFium is not thread-safe: one call into it at a time, process-wide


def looks_scanned(text: str, width: float, height: float, image_cover: float) -> bool:
    """A page whose text layer is empty or junk (few letters per page area, mostly non-text glyphs)
    while an image covers much of it."""
    if image_cover < MIN_IMAGE_COVER:
        return False
    junk = len(_CID.findall(text))
    glyphs = [ch for ch in _CID.sub("", text) if not ch.isspace()]
    letters = sum(1 for ch in glyphs if ch.isalnum())
    sparse = letters < MIN_CHARS_PER_SQIN * (width * height / 72**2)
    return sparse or letters < MIN_TEXT_SHARE * (len(glyphs) + junk)


def _objects(page, width: float, height: float) -> tuple[bool, float]:
    """(the page draws paths, the share of it that images cover), from PDFium's page objects."""
    import pypdfium2.raw as pdfium_c

    has_paths, covered = False, 0.0
    wanted = (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_IMAGE)
    for count, obj in enumerate(page.get_objects(filter=wanted)):
        if count >= MAX_OBJECTS:
            return True, min(1.0, covered / (width * height or 1.0))
        if obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
            has_paths = True
            continue
        left, bottom, right, top = obj.get_bounds()
        covered += max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
    return has_paths, min(1.0, covered / (width * height or 1.0))


def _page_text(page, found: list) -> str:
    """The pdfplumber page's text with each of its `found` tables as a Markdown table where it
    stands: the text above a table, the table, then the text below it (text beside a table
    comes after it)."""
    tables = sorted(found, key=lambda t: t.bbox[1])
    boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)

    rest = page.filter(outside)
    cuts = [0.0] + [max(0.0, min(float(page.height), b[1])) for b in boxes] + [float(page.height)]
    parts = []
    for i in range(len(cuts) - 1):
        if cuts[i + 1] > cuts[i]:
            band = rest.crop((0, cuts[i], float(page.width), cuts[i + 1]), relative=False, strict=False)
            parts.append(band.extract_text() or "")
        if i < len(tables):
            parts.append(markdown_table(tables[i].extract()))
    return "\n\n".join(p.strip() for p in parts if p.strip())


def _render(page, width: float, height: float) -> np.ndarray:
    """The page as pixels for OCR: at OCR_DPI, but its short side at most ocr.TILE_SIDE (the engine
    scales it down to that anyway) and MAX_RENDER_PIXELS in all; a tall page is then read in tiles."""
    width, height = max(width, 1.0), max(height, 1.0)
    scale = min(OCR_DPI / 72, ocr.TILE_SIDE / min(width, height), (MAX_RENDER_PIXELS / (width * height)) ** 0.5)
    return np.asarray(page.render(scale=scale).to_pil().convert("RGB"))


def _page_list(pages: list[int]) -> str:
    return ", ".join(map(str, pages))


def _scanned_note(kind: str, pages: list[int]) -> Message:
    return msg(f"kb.report.scanned_{kind}.{'one' if len(pages) == 1 else 'many'}", pages=_page_list(pages))


class _Tables:
    """pdfplumber's view of the same document, opened on the first page that may hold a table;
    if it cannot read a file PDFium could, that page keeps PDFium's text."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pdf = None
        self.broken = False

    def page_text(self, index: int) -> str | None:
        """The page's text with its tables as Markdown; None when it has no table (or pdfplumber fails)."""
        if self.broken:
            return None
        try:
            if self.pdf is None:
                import pdfplumber

                self.pdf = pdfplumber.open(io.BytesIO(self.data))
            page = self.pdf.pages[index]
            try:
                found = page.find_tables()
                return _page_text(page, found) if found else None
            finally:
                page.close()
        except Exception:  # noqa: BLE001 - a second parser's failure costs the tables, not the file
            log.warning("pdfplumber could not read the tables of page %d", index + 1, exc_info=True)
            self.broken = True
            return None

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()


def _open(data: bytes):
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    from core.kb.loaders import LoadError

    try:
        with _pdfium_lock:
            return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise LoadError(msg("errors.kb_pdf_password"), msg("errors.kb_pdf_password.hint")) from exc
        raise LoadError(msg("errors.kb_pdf_damaged", detail=str(exc).removeprefix("Failed to load document ")), msg("errors.kb_pdf_damaged.hint")) from exc


def parse(data: bytes, options: LoadOptions) -> Parsed:
    """Sections, one per page with text (meta {"page": n}), and the report's notes."""
    from core.kb.loaders import LoadError

    document = _open(data)
    tables = _Tables(data)
    sections: list[Section] = []
    by_ocr: list[int] = []
    scanned: dict[str, list[int]] = {"off": [], "empty": [], "failed": []}
    errors: list[str] = []
    try:
        total = len(document)
        for index in range(total):
            number = index + 1
            if options.should_stop():
                raise Cancelled()
            with _pdfium_lock:
                page = document[index]
                width, height = page.get_size()
                textpage = page.get_textpage()
                text = textpage.get_text_range().replace("\r\n", "\n")
                textpage.close()
                has_paths, cover = _objects(page, width, height)
            if has_paths:
                text = tables.page_text(index) or text
            if looks_scanned(text, width, height, cover):
                if not options.ocr:
                    scanned["off"].append(number)
                else:
                    try:
                        with _pdfium_lock:
                            image = _render(page, width, height)
                        text = ocr.recognize(image, should_stop=options.should_stop)
                    except Cancelled:
                        raise
                    except Exception as exc:  # noqa: BLE001 - one page's OCR failure is that page's note
                        log.warning("OCR failed on page %d", number, exc_info=True)
                        errors.append(type(exc).__name__)
                        scanned["failed"].append(number)
                        text = ""
                    else:
                        (by_ocr if text.strip() else scanned["empty"]).append(number)
            with _pdfium_lock:
                page.close()
            if text.strip():
                sections.append(Section(text.strip(), meta={"page": number}))
            if options.on_page is not None:
                options.on_page(number, total)
    finally:
        tables.close()
        with _pdfium_lock:
            document.close()
    notes = [msg("kb.report.pages_ocr", pages=total, ocr=len(by_ocr)) if by_ocr else msg("kb.report.pages", pages=total)]
    notes += [_scanned_note(kind, pages) for kind, pages in scanned.items() if pages]
    if not sections:
        if scanned["off"]:
            raise LoadError(msg("errors.kb_pdf_scanned_ocr_off", pages=len(scanned["off"])), msg("errors.kb_pdf_scanned_ocr_off.hint"))
        if scanned["failed"]:
            raise LoadError(msg("errors.kb_pdf_ocr_failed", detail=errors[0]), msg("errors.kb_pdf_ocr_failed.hint"))
        if scanned["empty"]:
            raise LoadError(msg("errors.kb_pdf_ocr_empty", pages=len(scanned["empty"])))
        raise LoadError(msg("errors.kb_pdf_no_text"), msg("errors.kb_pdf_no_text.hint"))
    return Parsed(tuple(sections), tuple(notes))
