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
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from charset_normalizer import from_bytes

from core.errors import UserError

logging.getLogger("pypdf").setLevel(logging.ERROR)  # it logs every repair it attempts; we report one reason

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
SUFFIXES = TEXT_SUFFIXES | {".pdf", ".docx", ".html", ".htm", ".csv", ".json", ".ipynb"}
ARCHIVE_SUFFIXES = {".zip"}
MARKDOWN_KINDS = {".md", ".markdown", ".ipynb"}

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
    return LoadError(
        "This is not a text file (binary content).", "Check that the file extension is right.",
        zh="这不是文本文件（内容为二进制）。",
        zh_hint="请检查文件扩展名是否正确。",
    )


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError(
                "The PDF is password-protected.", "Remove the password and upload it again.",
                zh="该 PDF 受密码保护。",
                zh_hint="请移除密码后重新上传。",
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AssertionError) as exc:
        raise LoadError(
            f"The PDF is damaged or truncated ({type(exc).__name__}).", "Export or download it again.",
            zh=f"该 PDF 已损坏或不完整（{type(exc).__name__}）。",
            zh_hint="请重新导出或下载。",
        ) from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise LoadError(
            "The PDF has no extractable text (scanned images?).", "OCR it first, or upload a text version.",
            zh="该 PDF 中没有可提取的文字（可能是扫描图片）。",
            zh_hint="请先做 OCR 文字识别，或上传文本版本。",
        )
    return text


def _docx(data: bytes) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(
            "The Word file is damaged or not a .docx.", "Open and save it again as .docx.",
            zh="该 Word 文件已损坏，或不是 .docx 格式。",
            zh_hint="请打开后另存为 .docx。",
        ) from exc
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
        raise LoadError(f"The CSV cannot be parsed: {exc}.", zh=f"无法解析该 CSV：{exc}。") from exc
    if not rows:
        return ""
    header, body = rows[0], rows[1:]
    if not body:
        return ", ".join(header)
    return "\n".join(
        "; ".join(f"{h.strip() or i + 1}: {v.strip()}" for i, (h, v) in enumerate(zip(header, row)) if v.strip())
        for row in body
    )


def _json(data: bytes) -> str:
    text, _ = decode(data)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(
            f"The JSON is invalid (line {exc.lineno}: {exc.msg}).",
            zh=f"JSON 格式无效（第 {exc.lineno} 行：{exc.msg}）。",
        ) from exc
    return json.dumps(value, ensure_ascii=False, indent=1)


def _ipynb(data: bytes) -> str:
    """Markdown cells as they are, code cells fenced; outputs are left out (noise, often huge)."""
    text, _ = decode(data)
    try:
        cells = json.loads(text).get("cells", [])
    except (json.JSONDecodeError, AttributeError) as exc:
        raise LoadError("The notebook is not valid .ipynb JSON.", zh="该笔记本不是有效的 .ipynb JSON。") from exc
    parts = []
    for cell in cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if not source.strip():
            continue
        parts.append(f"```python\n{source}\n```" if cell.get("cell_type") == "code" else source)
    return "\n\n".join(parts)


_BINARY_LOADERS = {".pdf": _pdf, ".docx": _docx, ".html": _html, ".htm": _html, ".csv": _csv, ".json": _json, ".ipynb": _ipynb}


def too_large(size: int, max_bytes: int) -> LoadError:
    return LoadError(
        f"The file is too large ({size / 1e6:.1f} MB, limit {max_bytes / 1e6:.0f} MB).",
        "Split it, or raise LIANDAN_MAX_FILE_MB.",
        zh=f"文件过大（{size / 1e6:.1f} MB，上限 {max_bytes / 1e6:.0f} MB）。",
        zh_hint="请拆分文件，或调高 LIANDAN_MAX_FILE_MB。",
    )


def load_bytes(name: str, data: bytes, max_bytes: int) -> Loaded:
    """Read one file's bytes by its extension; raises `LoadError` with the reason."""
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if suffix not in SUFFIXES:
        supported = ", ".join(sorted(SUFFIXES | ARCHIVE_SUFFIXES))
        raise LoadError(
            f"Unsupported file type '{suffix or name}'.", f"Supported: {supported}.",
            zh=f"不支持的文件类型“{suffix or name}”。", zh_hint=f"支持的类型：{supported}。",
        )
    if len(data) > max_bytes:
        raise too_large(len(data), max_bytes)
    if not data.strip():
        raise LoadError("The file is empty.", zh="文件为空。")
    if suffix in TEXT_SUFFIXES:
        text, encoding = decode(data)
    else:
        text, encoding = _BINARY_LOADERS[suffix](data), ""
    if not text.strip():
        raise LoadError("The file has no text.", zh="文件中没有文字。")
    return Loaded(text=text, kind="markdown" if suffix in MARKDOWN_KINDS else "text", encoding=encoding)


def unsafe_member(member: str) -> bool:
    """Absolute paths, drive letters and `..` escape the archive: refuse them (zip-slip)."""
    path = member.replace("\\", "/")
    return path.startswith("/") or (len(path) > 1 and path[1] == ":") or ".." in PurePosixPath(path).parts


def iter_zip(data: bytes, max_bytes: int) -> Iterator[tuple[str, bytes | LoadError]]:
    """(member name, its bytes or the reason it is refused) for every supported member."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise LoadError(
            "The zip file is damaged.", "Create the archive again.",
            zh="该 zip 文件已损坏。",
            zh_hint="请重新创建压缩包。",
        ) from exc
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = info.filename
            if unsafe_member(name):
                yield name, LoadError(
                    "Refused: the archive member's path leaves the archive (path traversal).",
                    zh="已拒绝：压缩包内文件的路径指向包外（路径穿越）。",
                )
            elif PurePosixPath(name).suffix.lower() in ARCHIVE_SUFFIXES:
                yield name, LoadError(
                    "Nested archives are not opened.", "Unpack it and upload its files.",
                    zh="不会打开嵌套的压缩包。",
                    zh_hint="请解压后上传其中的文件。",
                )
            elif not is_supported(name) or "__MACOSX/" in name:
                continue
            elif info.file_size > max_bytes:
                yield name, too_large(info.file_size, max_bytes)
            else:
                try:
                    yield name, archive.read(info)
                except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                    yield name, LoadError(
                        f"The archive member cannot be read ({type(exc).__name__}).",
                        zh=f"无法读取压缩包内的该文件（{type(exc).__name__}）。",
                    )
