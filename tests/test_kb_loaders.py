"""Loading every accepted format, odd encodings, and broken inputs (each reported by name)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from core.kb import chunking, loaders
from core.kb.loaders import LoadError, load_bytes

MB = 1_000_000
CHINESE = "知识库让模型回答时引用你的文档。离线运行，数据不出本机！为什么要分块？因为向量模型的窗口有限；分块后检索更准。" * 3


def make_pdf(text: str) -> bytes:
    """A minimal valid one-page PDF with `text` (ASCII) in Helvetica."""
    stream = f"BT /F1 18 Tf 72 700 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "型号", "ChatGLM3"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def sample_files() -> dict[str, bytes]:
    """One file of every accepted format, each with a distinctive word."""
    notebook = {"cells": [{"cell_type": "markdown", "source": ["# Notebook\n", "walrus notes"]},
                          {"cell_type": "code", "source": "print('hello walrus')", "outputs": [{"text": "NOISE"}]}]}
    return {
        "guide.md": "# 安装\n## 环境\n在 AutoDL 上安装 penguin 依赖。\n```\n# not a heading\n```\n".encode(),
        "notes.txt": "plain text about giraffes".encode(),
        "paper.pdf": make_pdf("Liandan PDF knowledge about alpacas"),
        "report.docx": make_docx(["The docx talks about otters.", "第二段：水獭。"]),
        "page.html": b"<html><head><style>.x{}</style><script>var tiger=1</script></head><body><h1>Tigers</h1><p>Stripes &amp; more</p></body></html>",
        "table.csv": "name,animal\nAda,lynx\nBo,ibex\n".encode(),
        "data.json": json.dumps({"animal": "鹦鹉", "count": 3}, ensure_ascii=False).encode(),
        "book.ipynb": json.dumps(notebook).encode(),
    }


@pytest.mark.parametrize(
    "name,expected",
    [("guide.md", "penguin"), ("notes.txt", "giraffes"), ("paper.pdf", "alpacas"), ("report.docx", "otters"),
     ("page.html", "Stripes & more"), ("table.csv", "| Ada | lynx |"), ("data.json", "鹦鹉"), ("book.ipynb", "hello walrus")],
)
def test_every_format_loads_its_text(name, expected):
    loaded = load_bytes(name, sample_files()[name], 10 * MB)
    assert expected in loaded.text


def test_html_drops_scripts_and_notebook_drops_outputs():
    files = sample_files()
    assert "tiger=1" not in load_bytes("page.html", files["page.html"], MB).text
    notebook = load_bytes("book.ipynb", files["book.ipynb"], MB)
    assert "NOISE" not in notebook.text and notebook.kind == "markdown"
    assert "ChatGLM3" in load_bytes("report.docx", files["report.docx"], MB).text  # tables too


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "big5", "utf-16", "utf-8-sig", "utf-16-le"])
def test_text_encodings_are_detected(encoding):
    text = CHINESE if encoding != "big5" else "知識庫讓模型回答時引用你的文件。離線運行，資料不出本機！為什麼要分塊？" * 4
    data = text.encode(encoding)
    if encoding == "utf-16-le":
        data = b"\xff\xfe" + data  # Windows Notepad's "Unicode"
    loaded = load_bytes("中文 笔记.txt", data, MB)
    assert loaded.text.strip().lstrip("\ufeff") == text


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("empty.md", b"", "empty"),
        ("blank.txt", b"  \n\n ", "empty"),
        ("photo.md", bytes(range(256)) * 40, "not a text file"),
        ("png.md", b"\x89PNG\r\n\x1a\n" + bytes(2000), "not a text file"),
        ("broken.pdf", make_pdf("truncated")[:200], "damaged or truncated"),
        ("fake.docx", b"this is not a zip", "damaged"),
        ("bad.json", b"{not json", "JSON is invalid"),
        ("virus.exe", b"MZ....", "Unsupported"),
    ],
)
def test_broken_inputs_give_a_specific_reason(name, data, reason):
    with pytest.raises(LoadError) as info:
        load_bytes(name, data, MB)
    assert reason in str(info.value)


def test_oversized_file_is_refused_with_sizes():
    with pytest.raises(LoadError, match=r"too large \(20\.0 MB, limit 5 MB\)"):
        load_bytes("big.txt", b"a" * (20 * MB), 5 * MB)


def test_zip_members_are_listed_and_traversal_is_refused():
    data = make_zip({"docs/a.md": b"# A\nalpha", "../../etc/evil.md": b"pwned", "/abs.md": b"x", "tool.exe": b"MZ", "inner.zip": b"PK"})
    members = dict(loaders.iter_zip(data, MB))
    assert members["docs/a.md"] == b"# A\nalpha"
    assert "tool.exe" not in members  # unsupported members are ignored, not failures
    for bad in ("../../etc/evil.md", "/abs.md"):
        assert isinstance(members[bad], LoadError) and "path traversal" in str(members[bad])
    assert isinstance(members["inner.zip"], LoadError)
    with pytest.raises(LoadError, match="zip file is damaged"):
        list(loaders.iter_zip(b"PK\x03\x04garbage", MB))


def test_markdown_chunks_keep_heading_paths_and_chinese_sentences():
    text = "# 第一章\n## 安装\n" + CHINESE * 4 + "\n```\n# code comment\n```\n## 使用\n短的一段。"
    chunks = chunking.split(text, "markdown", 100, 30)
    assert all(c.text.startswith("第一章 > ") for c in chunks)
    assert {c.heading for c in chunks} == {"第一章 > 安装", "第一章 > 使用"}
    body = [c.text.split("\n", 1)[1] for c in chunks if c.heading.endswith("安装") and "```" not in c.text]
    assert all(len(b) <= 100 for b in body)
    assert sum(b.endswith(("。", "！", "？", "；")) for b in body) >= len(body) - 1  # split at sentence ends
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_default_chunking_is_the_tutorials_500_150():
    chunks = chunking.split("。".join(["这是一个句子"] * 400), "text", 500, 150)
    assert max(len(c.text) for c in chunks) <= 500
    assert len(chunks) >= 5


def write_samples(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    files = sample_files()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files
