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


# --- a mixed folder: good files next to every kind of hostile one ------------------------------
# name -> (English reason fragment, Chinese reason fragment), as the per-file report must show them
HOSTILE_REASONS: dict[str, tuple[str, str]] = {
    "deep.json": ("nested deeper than 200 levels", "嵌套超过 200 层"),
    "deep.ipynb": ("nested deeper than 200 levels", "嵌套超过 200 层"),
    "env.md": ("outside the folder being read", "所读取的文件夹之外"),
    "x.md": ("outside the folder being read", "所读取的文件夹之外"),
    "data-link.md": ("outside the folder being read", "所读取的文件夹之外"),
    "etc-folder": ("outside the folder being read", "所读取的文件夹之外"),
    "data-folder": ("outside the folder being read", "所读取的文件夹之外"),
    "dotenv.md": ("hidden or skipped file", "隐藏或被跳过"),
    "binary.md": ("not a text file", "不是文本文件"),
    "truncated.pdf": ("damaged or truncated", "已损坏或不完整"),
    "fake.docx": ("damaged or not a .docx", "不是 .docx"),
    "bomb.docx": ("zip bomb", "压缩炸弹"),
    "pipe.md": ("not a regular file", "不是普通文件"),
    "empty.md": ("empty", "文件为空"),
    **{f"bomb.zip/bomb{i:02d}.md": ("zip bomb", "压缩炸弹") for i in range(40)},
}


def hostile_reasons(bomb_members: int = 40) -> dict[str, tuple[str, str]]:
    """HOSTILE_REASONS for a folder built with `bomb_members` members in its zip bomb."""
    keep = {f"bomb.zip/bomb{i:02d}.md" for i in range(bomb_members)}
    return {k: v for k, v in HOSTILE_REASONS.items() if not k.startswith("bomb.zip/") or k in keep}


def hostile_folder(folder: Path, data_dir: Path, bomb_members: int = 40) -> set[str]:
    """Fill `folder` with one good file of every format (plus a good member inside the zip bomb
    and a GBK-named zip) and the hostile files of `hostile_reasons(bomb_members)`; returns the
    good sources' paths relative to `folder`."""
    from tests.test_kb_loaders import sample_files

    folder.mkdir(parents=True, exist_ok=True)
    good = set()
    for name, data in sample_files().items():
        (folder / "good" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "good" / name).write_bytes(data)
        good.add(f"good/{name}")
    (folder / "课程.zip").write_bytes(legacy_zip({"资料/中文笔记.md": "# 笔记\n大熊猫吃竹子。".encode()}, "gbk"))
    good.add("课程.zip/资料/中文笔记.md")
    zeros = deflated(bytes(45 * MB))
    members = [(f"bomb{i:02d}.md", *zeros) for i in range(bomb_members)] + [("readme.md", *deflated("# 说明\n炸弹旁边的好文件：霍加狓。".encode()))]
    (folder / "bomb.zip").write_bytes(raw_zip(members))
    good.add("bomb.zip/readme.md")
    (folder / "bomb.docx").write_bytes(raw_zip([(f"word/part{i}.xml", *zeros) for i in range(3)]))
    (folder / "deep.json").write_bytes(deep_json())
    (folder / "deep.ipynb").write_bytes(deep_notebook())
    (folder / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    (folder / "truncated.pdf").write_bytes(truncated_pdf())
    (folder / "fake.docx").write_bytes(fake_docx())
    (folder / "empty.md").write_bytes(b"")
    os.mkfifo(folder / "pipe.md")
    plant_links(folder, data_dir)
    return good
