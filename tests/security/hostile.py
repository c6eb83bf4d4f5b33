"""Hostile inputs for the knowledge-base tests, built on the spot (nothing checked in is hostile)."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from pathlib import Path

MB = 1_000_000
SECRET = "liandan-secret-7f3a9c"  # planted where only a link could reach it


def deep_json(depth: int = 100_000) -> bytes:
    """`[[[[...]]]]`: json.loads recursed once per level and raised RecursionError."""
    return b"[" * depth + b"]" * depth


def deep_notebook(depth: int = 100_000) -> bytes:
    return b'{"cells": [{"cell_type": "markdown", "source": ' + b"[" * depth + b"]" * depth + b"}]}"


def raw_zip(members: list[tuple[str | bytes, bytes, int, int]], method: int = 8) -> bytes:
    """A zip written by hand from (name, raw deflate stream, crc32, uncompressed size): one
    compressed stream can then be reused for many members, so a bomb builds in a second. A name
    given as bytes is stored as is, without the UTF-8 flag; sizes and CRCs may lie."""
    out, central = bytearray(), bytearray()
    for name, stream, crc, size in members:
        raw, flag = (name, 0) if isinstance(name, bytes) else (name.encode("utf-8"), 0x800)
        offset = len(out)
        fields = (20, flag, method, 0, 0x21, crc, len(stream), size, len(raw), 0)
        out += b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields) + raw + stream
        central += b"PK\x01\x02" + struct.pack("<HHHHHHIIIHHHHHII", 20, *fields, 0, 0, 0, 0, offset) + raw
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)


def deflated(data: bytes) -> tuple[bytes, int, int]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)


def zip_bomb(members: int = 40, member_mb: int = 45, name: str = "bomb{:02d}.md") -> bytes:
    """`members` x `member_mb` MB of zeros, ~45 KB each once deflated: the issue's 1.75 MB zip
    that peaked at 2.2 GB when every member was decompressed before the first was indexed."""
    stream = deflated(bytes(member_mb * MB))
    return raw_zip([(name.format(i), *stream) for i in range(members)])


class LegacyName(zipfile.ZipInfo):
    """A member whose name is stored as `encoding` bytes without the UTF-8 flag, like Chinese
    Windows (GBK) or old Info-ZIP on a Western PC (cp437) writes it."""

    encoding = "gbk"

    def _encodeFilenameFlags(self):  # noqa: N802 - zipfile's name
        return self.filename.encode(self.encoding), self.flag_bits & ~0x800


def legacy_zip(members: dict[str, bytes], encoding: str = "gbk", unicode_extra: dict[str, str] | None = None) -> bytes:
    """A zip whose names are `encoding` bytes, no UTF-8 flag. `unicode_extra` maps a stored name to
    the UTF-8 name Info-ZIP records in its Unicode Path extra field (0x7075)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = type("Info", (LegacyName,), {"encoding": encoding})(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if unicode_extra and name in unicode_extra:
                raw = name.encode(encoding)
                body = b"\x01" + struct.pack("<I", zlib.crc32(raw)) + unicode_extra[name].encode("utf-8")
                info.extra = struct.pack("<HH", 0x7075, len(body)) + body
            archive.writestr(info, data)
    return buffer.getvalue()


def plant_links(folder: Path, data_dir: Path) -> dict[str, str]:
    """Links an attacker leaves in a folder to be indexed: name -> what it points at."""
    secret = data_dir / "secret-notes.md"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text(f"# in the data folder\n{SECRET}\n", encoding="utf-8")
    (folder / ".env").write_text(f"API_KEY={SECRET}\n", encoding="utf-8")
    links = {
        "env.md": "/proc/self/environ",
        "x.md": "/etc/passwd",
        "data-link.md": str(secret),
        "data-folder": str(data_dir),
        "etc-folder": "/etc",
        "dotenv.md": ".env",
    }
    for name, target in links.items():
        os.symlink(target, folder / name)
    return links


def truncated_pdf() -> bytes:
    from tests.test_kb_loaders import make_pdf

    return make_pdf("cut short")[:180]


def fake_docx() -> bytes:
    return b"PK\x03\x04 this only looks like a zip"


def notebook(text: str) -> bytes:
    return json.dumps({"cells": [{"cell_type": "markdown", "source": [text]}]}).encode()
