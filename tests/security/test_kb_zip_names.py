"""Case 11: zip member names without the UTF-8 flag (Info-ZIP, Chinese Windows GBK) became
mojibake (`资料/中文笔记.md` showed as `╫╩┴╧/╓╨╬─▒╩╝╟.md`), so sources and citations were
unreadable. The zips here store their names as GBK / cp437 bytes with the flag off, as those
tools write them."""

from __future__ import annotations

import io
import zipfile

from core.kb import loaders
from core.kb.manager import KnowledgeBaseManager
from tests.security.hostile import legacy_zip
from tests.test_kb_store import kb_settings

GBK_MEMBERS = {
    "资料/中文笔记.md": "# 笔记\n大熊猫吃竹子。".encode(),
    "资料/第二章 注意力机制.txt": "缩放点积注意力除以根号 d_k。".encode(),
    "readme.md": b"# Readme\nplain ascii name",
}


def test_gbk_names_from_chinese_windows_are_decoded(tmp_path):
    data = legacy_zip(GBK_MEMBERS, "gbk")
    assert all(not i.flag_bits & 0x800 for i in zipfile.ZipFile(io.BytesIO(data)).infolist())  # really the legacy form
    archive = tmp_path / "课程资料.zip"
    archive.write_bytes(data)
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    kbs.create("kb")
    result = kbs.index("kb", [archive])
    assert {r.source: r.status for r in result.reports} == {f"课程资料.zip/{n}": "indexed" for n in GBK_MEMBERS}
    assert kbs.search("kb", "大熊猫", 1)[0].source == "课程资料.zip/资料/中文笔记.md"


def test_info_zip_unicode_path_and_western_cp437_names(tmp_path):
    western = legacy_zip({"Müller Café.md": b"# M\nx"}, "cp437")
    assert [name for name, _ in loaders.iter_zip(western, 10**6)] == ["Müller Café.md"]
    # Info-ZIP on a Japanese PC: Shift-JIS bytes in the header, the UTF-8 name in extra field 0x7075.
    stored = "日本語メモ.md".encode("shift_jis").decode("cp437")
    info_zip = legacy_zip({stored: b"# memo\ny"}, "cp437", unicode_extra={stored: "日本語メモ.md"})
    assert [name for name, _ in loaders.iter_zip(info_zip, 10**6)] == ["日本語メモ.md"]
    # An archive written with UTF-8 names but no flag (some Linux and macOS tools) stays UTF-8.
    utf8 = legacy_zip({"笔记.md": b"# n\nz"}, "utf-8")
    assert [name for name, _ in loaders.iter_zip(utf8, 10**6)] == ["笔记.md"]
