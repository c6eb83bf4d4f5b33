"""PDF pages as text with their page numbers; tables as Markdown; scanned pages through OCR.

pdfplumber (MIT, on pdfminer.six) gives each page's characters, images and ruled tables. A
page whose text layer is empty or junk while an image covers much of it is a scan: it is rendered
with PDFium (pypdfium2, BSD/Apache) and read by OCR. Progress is reported per page and Cancel is
honoured between pages, because OCR takes seconds a page on CPU.
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
MAX_SIDE_PX = 3500  # a page rendered larger than this is scaled down (a poster-sized page is not 20k px)
MIN_CHARS_PER_SQIN = 0.5  # fewer letters than this per square inch: no real text layer (an A4 page of text has ~20)
MIN_TEXT_SHARE = 0.5  # fewer than half of the glyphs letters/digits/CJK: a junk layer (unmapped fonts, "(cid:12)")
MIN_IMAGE_COVER = 0.3  # a scan is an image over most of the page; a blank page is not a scan
_CID = re.compile(r"\(cid:\d+\)")
_render_lock = threading.Lock()  # PDFium is not thread-safe


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


def _image_cover(page) -> float:
    area = float(page.width * page.height) or 1.0
    covered = 0.0
    for image in page.images:
        w = min(image["x1"], page.width) - max(image["x0"], 0)
        h = min(image["bottom"], page.height) - max(image["top"], 0)
        covered += max(0.0, w) * max(0.0, h)
    return min(1.0, covered / area)


def _page_text(page) -> str:
    """The page's text with each ruled table as a Markdown table where it stands: the text above
    a table, the table, then the text below it (text beside a table comes after it)."""
    tables = sorted(page.find_tables(), key=lambda t: t.bbox[1])
    if not tables:
        return page.extract_text() or ""
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


def _render(data: bytes, index: int) -> np.ndarray:
    import pypdfium2 as pdfium

    with _render_lock:
        document = pdfium.PdfDocument(data)
        try:
            page = document[index]
            width, height = page.get_size()
            scale = min(OCR_DPI / 72, MAX_SIDE_PX / max(width, height, 1.0))
            image = page.render(scale=scale).to_pil().convert("RGB")
            page.close()
        finally:
            document.close()
    return np.asarray(image)


def _page_list(pages: list[int]) -> str:
    return ", ".join(map(str, pages))


def _scanned_note(kind: str, pages: list[int]) -> Message:
    return msg(f"kb.report.scanned_{kind}.{'one' if len(pages) == 1 else 'many'}", pages=_page_list(pages))


def parse(data: bytes, options: LoadOptions) -> Parsed:
    """Sections, one per page with text (meta {"page": n}), and the report's notes."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    from core.kb.loaders import LoadError

    sections: list[Section] = []
    by_ocr: list[int] = []
    scanned: dict[str, list[int]] = {"off": [], "empty": [], "failed": []}
    errors: list[str] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            total = len(pdf.pages)
            for number, page in enumerate(pdf.pages, 1):
                if options.should_stop():
                    raise Cancelled()
                text = _page_text(page)
                if looks_scanned(text, float(page.width), float(page.height), _image_cover(page)):
                    if not options.ocr:
                        scanned["off"].append(number)
                    else:
                        try:
                            text = ocr.recognize(_render(data, number - 1))
                        except Exception as exc:  # noqa: BLE001 - one page's OCR failure is that page's note
                            log.warning("OCR failed on page %d", number, exc_info=True)
                            errors.append(type(exc).__name__)
                            scanned["failed"].append(number)
                            text = ""
                        else:
                            (by_ocr if text.strip() else scanned["empty"]).append(number)
                page.flush_cache()
                if text.strip():
                    sections.append(Section(text.strip(), meta={"page": number}))
                if options.on_page is not None:
                    options.on_page(number, total)
    except (Cancelled, LoadError):
        raise
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect):
            raise LoadError(msg("errors.kb_pdf_password"), msg("errors.kb_pdf_password.hint")) from exc
        raise LoadError(msg("errors.kb_pdf_damaged", detail=type(cause).__name__), msg("errors.kb_pdf_damaged.hint")) from exc
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
