"""Reading .zip archives one member at a time, within budgets checked before anything expands.

Why: the indexer used to decompress every member up front (`list(iter_zip(...))`): a 1.75 MB zip
of 40 x 45 MB members peaked at 2.2 GB. Here the central directory is listed first (names and
declared sizes, nothing decompressed), each member is decompressed only when the indexer reaches
it and dropped once it is chunked, and the declared sizes are checked against three limits before
any byte expands. zipfile never returns more than a member's declared size (it stops there, and a
lie fails the CRC), so checking declared sizes bounds what is actually read:

- per member: LIANDAN_MAX_FILE_MB, as for any file;
- per archive: LIANDAN_MAX_ARCHIVE_MB uncompressed in all; members past it are refused by name;
- the ratio: a member over 1 MB that expands more than LIANDAN_MAX_ARCHIVE_RATIO times is a bomb
  (text deflates 3-10x), refused without being decompressed.

Only stored and deflated members are read: bzip2/LZMA decompressors have no output bound per
call, so one small read could expand without limit.

Names: a zip stores names as bytes. Without the UTF-8 flag (bit 11) zipfile decodes them as
cp437, which turns the GBK names of a zip made on Chinese Windows into mojibake. The bytes are
recovered and decoded like Info-ZIP does: the Unicode Path extra field (0x7075) when its CRC
matches, else UTF-8 when every such name is valid UTF-8, else GB18030 when the names read as
Chinese (mostly GB2312 characters), else cp437.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from core.kb.loaders import ARCHIVE_SUFFIXES, LoadError, is_supported, too_large, unsafe_member

UTF8_FLAG = 0x800
ENCRYPTED_FLAG = 0x1
UNICODE_PATH_EXTRA = 0x7075
RATIO_GRACE_BYTES = 1_000_000  # small members may compress very well (a CSV of zeros): harmless
READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
MB = 1_000_000


@dataclass(frozen=True)
class ZipLimits:
    member_bytes: int
    total_bytes: int = 1000 * MB
    ratio: float = 100.0
    members: int = 10_000


@dataclass(frozen=True)
class Member:
    """One supported member: its decoded name, where it is in the central directory, and the
    reason it is refused (known from the directory alone) or None."""

    name: str
    index: int
    size: int
    refused: LoadError | None = None


def damaged(exc: Exception | None = None) -> LoadError:
    detail = f" ({type(exc).__name__})" if exc is not None else ""
    return LoadError("errors.archive.zip_file_damaged", detail=detail)


def _too_many(count: int, limit: int) -> LoadError:
    return LoadError("errors.archive.archive_members_most_read", count=count, limit=limit)


def _over_budget(total: int, budget: int) -> LoadError:
    return LoadError("errors.archive.read_archive_s_members", budget=budget / MB, total=total / MB)


def _bomb(size: int, compressed: int, ratio: float) -> LoadError:
    return LoadError(
        "errors.archive.refused_member_expands_times", size=size / max(1, compressed), compressed=compressed / MB, size2=size / MB, ratio=ratio,
    )


def _traversal() -> LoadError:
    return LoadError("errors.archive.refused_archive_member_s")


def _nested() -> LoadError:
    return LoadError("errors.archive.nested_archives_opened")


def _encrypted() -> LoadError:
    return LoadError("errors.archive.archive_member_password_protected")


def _method(compress_type: int) -> LoadError:
    name = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}.get(compress_type, f"method {compress_type}")
    return LoadError("errors.archive.archive_member_compressed_which", name=name)


def unreadable_member(exc: Exception) -> LoadError:
    return LoadError("errors.archive.archive_member_read", error_type=type(exc).__name__)


# --- names ------------------------------------------------------------------------
def _unicode_path(info: zipfile.ZipInfo, raw: bytes) -> str | None:
    """Info-ZIP's UTF-8 copy of a name (extra field 0x7075), if present and made for this name."""
    extra = info.extra
    at = 0
    while at + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, at)
        body = extra[at + 4 : at + 4 + size]
        at += 4 + size
        if tag == UNICODE_PATH_EXTRA and len(body) >= 5 and body[0] == 1:
            (crc,) = struct.unpack_from("<I", body, 1)
            if crc == zlib.crc32(raw):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
    return None


def _looks_chinese(names: list[str]) -> bool:
    """Most non-ASCII characters are in GB2312 (the common 6,763 hanzi and punctuation): a
    Western cp437 name (`M\x81ller`) also decodes as GBK, but to rare characters outside it."""
    wide = [ch for name in names for ch in name if ord(ch) > 127]
    if not wide:
        return True
    common = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common >= 0.5 * len(wide)


def decode_names(infos: list[zipfile.ZipInfo]) -> list[str]:
    """The member names, decoded as their archive meant them (see the module docstring)."""
    names: list[str | None] = []
    legacy: dict[int, bytes] = {}
    for i, info in enumerate(infos):
        if info.flag_bits & UTF8_FLAG:
            names.append(info.filename)
            continue
        raw = info.orig_filename.encode("cp437")  # zipfile decoded the bytes as cp437: undo it
        unicode = _unicode_path(info, raw)
        names.append(unicode)
        if unicode is None and not raw.isascii():
            legacy[i] = raw
    if legacy:
        encoding = "cp437"
        for candidate in ("utf-8", "gb18030"):
            try:
                decoded = [raw.decode(candidate) for raw in legacy.values()]
            except UnicodeDecodeError:
                continue
            if candidate == "utf-8" or _looks_chinese(decoded):
                encoding = candidate
                break
        for i, raw in legacy.items():
            names[i] = raw.decode(encoding)
    return [name if name is not None else info.filename for name, info in zip(names, infos)]


# --- reading ----------------------------------------------------------------------
def _entry_count(handle: BinaryIO) -> int | None:
    """Members the end-of-directory record declares, read before zipfile parses (and allocates
    for) every entry; None when the record cannot be read (zipfile will say it is damaged)."""
    try:
        record = zipfile._EndRecData(handle)  # noqa: SLF001 - stable since Python 2; no public equivalent
    except (AttributeError, OSError, struct.error):
        return None
    finally:
        handle.seek(0)
    return int(record[zipfile._ECD_ENTRIES_TOTAL]) if record else None  # noqa: SLF001


class ZipReader:
    """An archive read member by member. `opener` gives a fresh binary handle each time (the
    archive is listed once, then reopened when its first member is read and closed after the
    last), so many archives in one folder do not hold many descriptors."""

    def __init__(self, opener: Callable[[], BinaryIO], limits: ZipLimits) -> None:
        self.opener = opener
        self.limits = limits
        self._zip: zipfile.ZipFile | None = None
        self._left = 0  # readable members not read yet

    def _open(self) -> zipfile.ZipFile:
        handle = self.opener()
        try:
            count = _entry_count(handle)
            if count is not None and count > self.limits.members:
                raise _too_many(count, self.limits.members)
            return zipfile.ZipFile(handle)
        except LoadError:
            handle.close()
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, ValueError, struct.error) as exc:
            handle.close()
            raise damaged(exc) from exc

    def members(self) -> list[Member]:
        """Every supported member (unsupported ones and folders are left out silently), each
        with its refusal if the directory already shows one. Raises LoadError for an archive
        that cannot be opened at all."""
        archive = self._open()
        try:
            infos = archive.infolist()
            names = decode_names(infos)
        finally:
            _close(archive)
        found: list[Member] = []
        total = 0
        for index, (info, name) in enumerate(zip(infos, names)):
            # A nameless member has no file to index (zipfile's is_dir() fails on an empty name).
            if not info.filename or info.filename.endswith("/") or name.endswith("/"):
                continue
            refused: LoadError | None = None
            if unsafe_member(name):
                refused = _traversal()
            elif PurePosixPath(name).suffix.lower() in ARCHIVE_SUFFIXES:
                refused = _nested()
            elif not is_supported(name) or "__MACOSX/" in name:
                continue
            elif info.flag_bits & ENCRYPTED_FLAG:
                refused = _encrypted()
            elif info.compress_type not in READABLE:
                refused = _method(info.compress_type)
            elif info.file_size > self.limits.member_bytes:
                refused = too_large(info.file_size, self.limits.member_bytes)
            elif info.file_size > RATIO_GRACE_BYTES and info.file_size > self.limits.ratio * max(1, info.compress_size):
                refused = _bomb(info.file_size, info.compress_size, self.limits.ratio)
            elif total + info.file_size > self.limits.total_bytes:
                refused = _over_budget(total + info.file_size, self.limits.total_bytes)
            else:
                total += info.file_size
            found.append(Member(name, index, info.file_size, refused))
        self._left = sum(1 for m in found if m.refused is None)
        return found

    def read(self, member: Member) -> bytes:
        """The member's bytes (at most its declared size); LoadError with the reason otherwise.
        The archive closes itself after its last readable member."""
        if member.refused is not None:
            raise member.refused
        try:
            if self._zip is None:
                self._zip = self._open()
            info = self._zip.infolist()[member.index]
            with self._zip.open(info) as stream:
                data = stream.read(self.limits.member_bytes + 1)
        except LoadError:
            raise
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError, ValueError, IndexError) as exc:
            raise unreadable_member(exc) from exc
        finally:
            self._left -= 1
            if self._left <= 0:
                self.close()
        if len(data) > self.limits.member_bytes:
            raise too_large(len(data), self.limits.member_bytes)
        return data

    def close(self) -> None:
        if self._zip is not None:
            _close(self._zip)
            self._zip = None


def _close(archive: zipfile.ZipFile) -> None:
    """Close the archive and the handle it was given (zipfile leaves a passed-in handle open)."""
    handle = archive.fp
    archive.close()
    if handle is not None:
        handle.close()
