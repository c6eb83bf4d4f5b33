"""Turn the bytes of whatever users drop in into plain text, or a reason it cannot be read.

Text is read directly (not through `unstructured`, which downloads a spaCy model and is
~300x slower on Markdown). Every failure is a `LoadError` whose message names the problem,
so one broken file is reported by name and never stops the others.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
from charset_normalizer import from_bytes

from core.errors import UserError
from core.i18n import Message, msg

logging.getLogger("pypdf").setLevel(logging.ERROR)  # it logs every repair it attempts; we report one reason
log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
SUFFIXES = TEXT_SUFFIXES | {".pdf", ".docx", ".html", ".htm", ".csv", ".json", ".ipynb"}
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


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError("errors.loaders.pdf_password_protected")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AssertionError) as exc:
        raise LoadError("errors.loaders.pdf_damaged_truncated", error_type=type(exc).__name__) from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise LoadError("errors.loaders.pdf_extractable_text_scanned")
    return text


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
    parts = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n\n".join(parts)


def _html(data: bytes) -> str:
    from bs4 import BeautifulSoup

    text, _ = decode(data)
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def _csv(data: bytes) -> str:
    """One line per row, `column: value`, so a chunk keeps the meaning of each cell."""
    text, _ = decode(data)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise LoadError("errors.loaders.csv_parsed", exc=exc) from exc
    if not rows:
        return ""
    header, body = rows[0], rows[1:]
    if not body:
        return ", ".join(header)
    return "\n".join(
        "; ".join(f"{h.strip() or i + 1}: {v.strip()}" for i, (h, v) in enumerate(zip(header, row)) if v.strip())
        for row in body
    )


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


_BINARY_LOADERS = {".pdf": _pdf, ".docx": _docx, ".html": _html, ".htm": _html, ".csv": _csv, ".json": _json, ".ipynb": _ipynb}


def too_large(size: int, max_bytes: int) -> LoadError:
    return LoadError("errors.loaders.file_too_large_mb", size=size / 1e6, max_bytes=max_bytes / 1e6)


def cannot_parse(suffix: str, exc: BaseException) -> LoadError:
    detail = f"{type(exc).__name__}: {str(exc)[:120]}".rstrip(": ")
    return LoadError("errors.loaders.file_read", suffix=suffix, detail=detail)


def load_bytes(name: str, data: bytes, max_bytes: int) -> Loaded:
    """Read one file's bytes by its extension; raises `LoadError` with the reason."""
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
    try:
        if suffix in TEXT_SUFFIXES:
            text, encoding = decode(data)
        else:
            text, encoding = _BINARY_LOADERS[suffix](data), ""
    except LoadError:
        raise
    except RecursionError as exc:
        raise too_deep(msg("errors.loaders.what.file", suffix=suffix)) from exc
    except Exception as exc:  # noqa: BLE001 - third-party parsers raise anything on hostile bytes
        log.warning("unexpected error reading %s", name, exc_info=True)
        raise cannot_parse(suffix, exc) from exc
    if not text.strip():
        raise LoadError("errors.loaders.file_text")
    return Loaded(text=text, kind="markdown" if suffix in MARKDOWN_KINDS else "text", encoding=encoding)


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
