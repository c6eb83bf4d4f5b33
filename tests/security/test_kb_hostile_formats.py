"""Hostile slides, sheets, e-books, images and RTF next to a good file: each is named with its
reason in both languages, nothing else stops, and a zip bomb is refused before it is inflated."""

from __future__ import annotations

import struct
import zlib

from core.kb.manager import KnowledgeBaseManager
from tests import kb_corpus as corpus
from tests.security.hostile import MB, deflated, raw_zip
from tests.test_kb_store import kb_settings


def png_claiming(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header says `width`×`height` (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def with_doctype(epub: bytes) -> bytes:
    """The EPUB with an external entity declared in its package document (XXE)."""
    import io
    import zipfile

    source, buffer = zipfile.ZipFile(io.BytesIO(epub)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".opf"):
                data = data.replace(b"<package", XXE + b"<package", 1).replace(b"<metadata/>", b"<metadata>&e;</metadata>")
            out.writestr(info.filename, data)
    return buffer.getvalue()


XXE = b'<!DOCTYPE p [<!ENTITY e SYSTEM "file:///etc/passwd">]>'

HOSTILE = {
    # name -> (bytes, English reason fragment, Chinese reason fragment)
    "bomb.xlsx": (lambda: raw_zip([(f"xl/part{i}.xml", *deflated(bytes(45 * MB))) for i in range(3)]), "zip bomb", "压缩炸弹"),
    "bomb.pptx": (lambda: raw_zip([(f"ppt/slide{i}.xml", *deflated(bytes(45 * MB))) for i in range(3)]), "zip bomb", "压缩炸弹"),
    "bomb.epub": (lambda: raw_zip([(f"OEBPS/c{i}.xhtml", *deflated(bytes(45 * MB))) for i in range(3)]), "zip bomb", "压缩炸弹"),
    "cut.xlsx": (lambda: corpus.xlsx_book()[:700], "damaged", "已损坏"),
    "cut.pptx": (lambda: corpus.pptx_deck()[:2000], "damaged", "已损坏"),
    "cut.epub": (lambda: corpus.epub_book({"a": "b"})[:300], "damaged", "已损坏"),
    "cut.pdf": (lambda: corpus.table_pdf()[:500], "damaged or truncated", "已损坏或不完整"),
    "huge.png": (lambda: png_claiming(40_000, 40_000), "too large", "过大"),
    "cut.jpg": (lambda: corpus.scanned_image(fmt="JPEG")[:300], "cannot be read", "无法读取"),
    "fake.rtf": (lambda: b"MZ\x90\x00 an executable renamed", "not RTF", "不是 RTF"),
    "entities.epub": (lambda: with_doctype(corpus.epub_book({"a": "正文"})), "", ""),
}


def test_each_hostile_file_is_named_and_the_good_one_is_indexed(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "good.md").write_text("# 好文件\n旁边的好文件：霍加狓。", encoding="utf-8")
    for name, (make, _, _) in HOSTILE.items():
        (folder / name).write_bytes(make())
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    kbs.create("kb")
    result = kbs.index("kb", [folder])
    reports = {r.source.removeprefix("drop/"): r for r in result.reports}
    assert reports["good.md"].status == "indexed"
    for name, (_, english, chinese) in HOSTILE.items():
        if not english:
            continue
        report = reports[name]
        assert report.status == "failed" and english in report.reason and chinese in report.reason_message.render("zh"), (name, report)
    # An external entity in the EPUB package is never resolved: the book reads, /etc/passwd does not.
    assert reports["entities.epub"].status == "indexed", reports["entities.epub"]
    stored = kbs.get("kb").collection.get(include=["documents"])["documents"]
    assert not any("root:" in text for text in stored)
    assert kbs.search("kb", "霍加狓", 1)[0].source == "drop/good.md"


def test_the_epub_xml_parser_resolves_no_external_entity():
    from lxml import etree

    from core.kb.formats.epub import _xml

    tree = _xml(XXE + b"<p>&e;</p>")
    assert b"root:" not in etree.tostring(tree)
    assert b"root:" in etree.tostring(etree.fromstring(XXE + b"<p>&e;</p>", etree.XMLParser(resolve_entities=True, load_dtd=True)))
