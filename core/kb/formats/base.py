"""What a format parser hands back to the loader: sections that keep where they came from."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from core.i18n import Message, msg

ZIP_EXPANSION = 100  # an Office/EPUB file is a zip: its parts may expand at most this many times the file's size


@dataclass(frozen=True)
class Section:
    """One piece of a document chunked on its own: a page, a slide, a sheet, a chapter.
    `meta` (e.g. {"page": 3}) is stored with each of its chunks, so a citation can say "p. 3"."""

    text: str
    heading: str = ""
    meta: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    sections: tuple[Section, ...]
    notes: tuple[Message, ...] = ()  # shown in the file's row of the index report ("12 pages, 9 by OCR")


@dataclass(frozen=True)
class LoadOptions:
    """How to read: OCR on or off, and the page callbacks of a long file (progress, Cancel)."""

    ocr: bool = True
    on_page: Callable[[int, int], None] | None = None  # (pages done, pages in all)
    should_stop: Callable[[], bool] = lambda: False


def check_zip_size(data: bytes, what: str) -> zipfile.ZipFile:
    """Open an Office/EPUB package, refusing one whose parts declare more than ZIP_EXPANSION times
    the file: their parsers inflate parts whole (zipfile never returns more than the declared size)."""
    from core.kb.loaders import LoadError

    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise LoadError(msg("errors.kb_package_damaged", what=what), msg("errors.kb_package_damaged.hint")) from exc
    declared = sum(info.file_size for info in package.infolist())
    if declared > ZIP_EXPANSION * max(len(data), 1_000_000):
        package.close()
        raise LoadError(msg("errors.kb_zip_bomb", what=what, mb=round(declared / 1e6)))
    return package
