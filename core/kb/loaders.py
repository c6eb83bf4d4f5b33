"""Turn the bytes of whatever users drop in into plain text, or a reason it cannot be read.

Text is read directly (not through `unstructured`, which downloads a spaCy model and is
~300x slower on Markdown). Every failure is a `LoadError` whose message names the problem,
so one broken file is reported by name and never stops the others.
"""

from __future__ import annotations

import codecs
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
from charset_normalizer import from_bytes

from core.errors import Cancelled, UserError
from core.i18n import Message, msg
from core.kb.formats.base import LoadOptions, Parsed, Section

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
SUFFIXES = TEXT_SUFFIXES | IMAGE_SUFFIXES | {
    ".pdf", ".docx", ".html", ".htm", ".csv", ".json", ".ipynb", ".pptx", ".xlsx", ".epub", ".rtf"}
ARCHIVE_SUFFIXES = {".zip"}
MARKDOWN_KINDS = {".md", ".markdown", ".ipynb"}
MAX_DEPTH = 200  # JSON / notebook nesting; real documents stay under ~30, parsers recurse per level
DOCX_EXPANSION = 100  # a .docx is a zip: its parts may expand at most this many times the file's size

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class LoadError(UserError):
    """This file cannot be ingested; the message says why (shown in the per-file table)."""


@dataclass(frozen=True)
class Loaded:
    text: str
    kind: str  # "markdown" or "text": decides how it is chunked
    encoding: str = ""
    sections: tuple[Section, ...] = ()  # pages, slides, sheets: chunked one by one with their heading and metadata
    notes: tuple[Message, ...] = ()  # for the file's row in the index report ("12 pages, 9 by OCR")


def is_supported(name: str) -> bool:
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    return suffix in SUFFIXES or suffix in ARCHIVE_SUFFIXES


def _printable_ratio(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 1.0
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or ch == "\ufffd")
    return 1.0 - bad / len(sample)


def decode(data: bytes) -> tuple[str, str]:
    """Bytes -> (text, encoding). UTF-8/BOMs first (exact), then charset-normalizer's best guess."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding), encoding
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        best = from_bytes(data[:2_000_000]).best() if data else None
        if best is None:
            raise _binary()
        encoding = best.encoding
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            text = data.decode(encoding, errors="replace")
    if _printable_ratio(text) < 0.95:
        raise _binary()
    return text, encoding


def _binary() -> LoadError:
    return LoadError("errors.loaders.text_file_binary_content")


def _check_docx_size(data: bytes) -> None:
    """python-docx inflates every part into memory: refuse one whose parts declare more than
    DOCX_EXPANSION times the file (zipfile never returns more than the declared size)."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        declared = sum(info.file_size for info in package.infolist())
    if declared > DOCX_EXPANSION * max(len(data), 1_000_000):
        raise LoadError("errors.loaders.refused_word_file_expands", declared=declared / 1e6)


def _docx(data: bytes) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        _check_docx_size(data)
        document = docx.Document(io.BytesIO(data))
    except LoadError:
        raise
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError("errors.loaders.word_file_damaged_docx") from exc
    return "\n\n".join(_docx_blocks(document))


def _docx_blocks(document) -> Iterator[str]:
    """Paragraphs and tables in document order, tables as Markdown (cells of merged spans once)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    from core.kb.formats.tables import markdown_table

    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(child, document).text
            if text.strip():
                yield text
        elif tag == "tbl":
            rows = []
            for row in Table(child, document).rows:
                cells = [cell._tc for cell in row.cells]
                rows.append([cell.text for i, cell in enumerate(row.cells) if cells[i] not in cells[:i]])
            table = markdown_table(rows)
            if table:
                yield table


def _html(data: bytes) -> str:
    from core.kb.formats.markup import html_text

    title, text = html_text(decode(data)[0])
    return f"{title}\n{text}" if title else text


def _csv(data: bytes) -> str:
    """One Markdown table: the chunker cuts it into blocks of rows, each under the header row."""
    from core.kb.formats.sheets import parse_csv

    return parse_csv(decode(data)[0])


def too_deep(what: Message) -> LoadError:
    return LoadError("errors.loaders.nested_deeper_levels_which", what=what, max_depth=MAX_DEPTH)


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"', re.S)


def json_depth(text: str) -> int:
    """The deepest nesting of `[`/`{` in JSON text, counted without parsing (brackets inside
    strings removed first): the parser recurses once per level, so this runs before it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # cannot be deeper than the number of openers
    skeleton = np.frombuffer(_JSON_STRING.sub("", text).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    steps = (skeleton == ord("[")).astype(np.int32) + (skeleton == ord("{")) - (skeleton == ord("]")) - (skeleton == ord("}"))
    return int(np.cumsum(steps).max(initial=0))


def _parse_json(text: str, what: Message):
    """json.loads behind the depth limit; RecursionError (a deep caller stack) says the same."""
    if json_depth(text) > MAX_DEPTH:
        raise too_deep(what)
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise too_deep(what) from exc


def _json(data: bytes) -> str:
    text, _ = decode(data)
    try:
        value = _parse_json(text, msg("errors.loaders.what.json"))
    except json.JSONDecodeError as exc:
        raise LoadError("errors.loaders.json_invalid_line", lineno=exc.lineno, msg=exc.msg) from exc
    return json.dumps(value, ensure_ascii=False, indent=1)


def _ipynb(data: bytes) -> str:
    """Markdown cells as they are, code cells fenced; outputs are left out (noise, often huge)."""
    text, _ = decode(data)
    try:
        cells = _parse_json(text, msg("errors.loaders.what.notebook")).get("cells", [])
        if not isinstance(cells, list):
            raise TypeError("cells is not a list")
    except (json.JSONDecodeError, AttributeError, TypeError) as exc:
        raise LoadError("errors.loaders.notebook_valid_ipynb_json") from exc
    parts = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        source = "".join(map(str, source)) if isinstance(source, list) else str(source)
        if not source.strip():
            continue
        parts.append(f"```python\n{source}\n```" if cell.get("cell_type") == "code" else source)
    return "\n\n".join(parts)


def _format_loaders() -> dict[str, Callable[[bytes, LoadOptions], str | Parsed]]:
    """The parsers of core.kb.formats, imported when first needed (they import this module)."""
    from core.kb.formats import epub, images, pdf, rtf, sheets, slides

    return {
        ".pdf": pdf.parse, ".png": images.parse, ".jpg": images.parse, ".jpeg": images.parse,
        ".pptx": lambda data, _: slides.parse(data), ".xlsx": lambda data, _: sheets.parse_xlsx(data),
        ".epub": lambda data, _: epub.parse(data), ".rtf": lambda data, _: rtf.parse(data),
    }


_BINARY_LOADERS = {".docx": _docx, ".html": _html, ".htm": _html, ".csv": _csv, ".json": _json, ".ipynb": _ipynb}


def too_large(size: int, max_bytes: int) -> LoadError:
    return LoadError("errors.loaders.file_too_large_mb", size=size / 1e6, max_bytes=max_bytes / 1e6)


def cannot_parse(suffix: str, exc: BaseException) -> LoadError:
    detail = f"{type(exc).__name__}: {str(exc)[:120]}".rstrip(": ")
    return LoadError("errors.loaders.file_read", suffix=suffix, detail=detail)


def load_bytes(name: str, data: bytes, max_bytes: int, options: LoadOptions | None = None) -> Loaded:
    """Read one file's bytes by its extension; raises `LoadError` with the reason. `options` turn
    OCR off and carry the page progress and Cancel of long PDFs."""
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if suffix not in SUFFIXES:
        supported = ", ".join(sorted(SUFFIXES | ARCHIVE_SUFFIXES))
        raise LoadError(
            msg("errors.loaders.unsupported_file_type", value=suffix or name),
            msg("errors.loaders.unsupported_file_type.hint", supported=supported),
        )
    if len(data) > max_bytes:
        raise too_large(len(data), max_bytes)
    if not data.strip():
        raise LoadError("errors.loaders.file_empty")
    parsed: str | Parsed
    try:
        if suffix in TEXT_SUFFIXES:
            parsed, encoding = decode(data)
        elif suffix in _BINARY_LOADERS:
            parsed, encoding = _BINARY_LOADERS[suffix](data), ""
        else:
            parsed, encoding = _format_loaders()[suffix](data, options or LoadOptions()), ""
    except (LoadError, Cancelled):
        raise
    except RecursionError as exc:
        raise too_deep(msg("errors.loaders.what.file", suffix=suffix)) from exc
    except Exception as exc:  # noqa: BLE001 - third-party parsers raise anything on hostile bytes
        log.warning("unexpected error reading %s", name, exc_info=True)
        raise cannot_parse(suffix, exc) from exc
    sections = parsed.sections if isinstance(parsed, Parsed) else ()
    text = "\n\n".join(s.text for s in sections) if isinstance(parsed, Parsed) else parsed
    if not text.strip():
        raise LoadError("errors.loaders.file_text")
    notes = parsed.notes if isinstance(parsed, Parsed) else ()
    kind = "markdown" if suffix in MARKDOWN_KINDS else "text"
    return Loaded(text=text, kind=kind, encoding=encoding, sections=sections, notes=notes)


def unsafe_member(member: str) -> bool:
    """Absolute paths, drive letters and `..` escape the archive: refuse them (zip-slip)."""
    path = member.replace("\\", "/")
    return path.startswith("/") or (len(path) > 1 and path[1] == ":") or ".." in PurePosixPath(path).parts


def iter_zip(data: bytes, max_bytes: int, total_bytes: int = 1000 * 1_000_000, ratio: float = 100.0) -> Iterator[tuple[str, bytes | LoadError]]:
    """(member name, its bytes or the reason it is refused) for every supported member, one
    member decompressed at a time (see core.kb.archive); raises LoadError for a damaged zip."""
    from core.kb.archive import ZipLimits, ZipReader

    reader = ZipReader(lambda: io.BytesIO(data), ZipLimits(max_bytes, total_bytes, ratio))
    try:
        for member in reader.members():
            try:
                yield member.name, reader.read(member)
            except LoadError as exc:
                yield member.name, exc
    finally:
        reader.close()
