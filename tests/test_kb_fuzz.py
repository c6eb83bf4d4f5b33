"""Fuzzing every knowledge-base loader and the zip reader with hypothesis.

The only outcomes allowed, whatever the bytes: the documented result (text, and for zips each
member's bytes) or a LoadError carrying a reason in English and Chinese; never another
exception, never more than MEMORY_BOUND of Python allocations for one input. For the formats
Liandan parses itself (text, CSV, JSON, notebooks) the loaders' catch-all for third-party
parsers must not fire either: an unexpected error there is our bug, not a hostile file.
Kept fast for `make test` (small inputs, 60 examples per format: ~10 s in all on a busy 2-core
machine); LIANDAN_FUZZ_EXAMPLES=2000 runs a longer hunt.
"""

from __future__ import annotations

import re

import io
import json
import logging
import os
import tracemalloc
import warnings
import zipfile
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.kb import loaders
from core.kb.loaders import LoadError, load_bytes
from tests.security.hostile import raw_zip
from tests.test_kb_formats import OCR_CANVAS_MEMORY
from tests.test_kb_loaders import make_docx, make_pdf

MB = 1_000_000
LIMIT = 2 * MB
MEMORY_BOUND = 40 * MB
FUZZ = settings(max_examples=int(os.environ.get("LIANDAN_FUZZ_EXAMPLES", "60")), deadline=None, database=None, suppress_health_check=list(HealthCheck))


class Unexpected(logging.Handler):
    """Counts the loaders' "unexpected error" warnings (the catch-all for parsers we do not own)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


UNEXPECTED = Unexpected()
logging.getLogger("core.kb.loaders").addHandler(UNEXPECTED)


def outcome(name: str, data: bytes, own_parser: bool, bound: int = MEMORY_BOUND) -> None:
    """Load `name`; assert the allowed outcomes and the memory bound."""
    UNEXPECTED.records.clear()
    tracemalloc.start()
    try:
        try:
            loaded = load_bytes(name, data, LIMIT)
        except LoadError as exc:
            assert exc.message.strip() and re.search(r"[\u4e00-\u9fff]", exc.text("zh")), f"a reason in both languages: {exc!r}"
        else:
            assert loaded.text.strip() and loaded.kind in ("markdown", "text")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < bound, f"{name}: {peak / MB:.1f} MB for {len(data)} bytes"
    if own_parser:
        assert not UNEXPECTED.records, [r.getMessage() for r in UNEXPECTED.records]


def mutated(base: bytes) -> st.SearchStrategy[bytes]:
    """`base` truncated, with bytes overwritten, or with junk spliced in."""
    def apply(args) -> bytes:
        cut, flips, junk_at, junk = args
        data = bytearray(base[: max(1, cut)] if cut < len(base) else base)
        for position, value in flips:
            if data:
                data[position % len(data)] = value
        at = junk_at % (len(data) + 1)
        return bytes(data[:at]) + junk + bytes(data[at:])

    return st.tuples(
        st.integers(0, len(base) + 10),
        st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
        st.integers(0, 10**6),
        st.binary(max_size=64),
    ).map(apply)


ENCODINGS = ["utf-8", "gbk", "gb18030", "big5", "utf-16", "utf-16-le", "utf-32", "latin-1", "shift_jis"]
encoded_text = st.tuples(st.text(max_size=300), st.sampled_from(ENCODINGS)).map(lambda a: a[0].encode(a[1], errors="ignore"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)
deep = st.tuples(st.integers(0, 3000), st.sampled_from([b"[", b'{"a":', b'{"cells":[']), st.booleans()).map(
    lambda a: a[1] * a[0] + (b"]" * a[0] if a[2] else b"")
)


@FUZZ
@given(st.binary(max_size=3000) | encoded_text, st.sampled_from(["a.md", "b.txt", "c.markdown"]))
def test_text_files(data, name):
    outcome(name, data, own_parser=True)


@FUZZ
@given(
    st.lists(st.lists(st.text(alphabet=st.sampled_from('ab,"\n\r\x00 中;'), max_size=12), max_size=6), max_size=8)
    .map(lambda rows: "\n".join(",".join(r) for r in rows).encode())
    | st.binary(max_size=500)
)
def test_csv(data):
    outcome("t.csv", data, own_parser=True)


@FUZZ
@given(json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode()).flatmap(lambda b: st.just(b) | mutated(b)) | deep)
def test_json(data):
    outcome("d.json", data, own_parser=True)


cell = st.fixed_dictionaries(
    {"cell_type": st.sampled_from(["markdown", "code", "raw", 3]), "source": json_values | st.lists(st.text(max_size=10))}
)
notebooks = st.one_of(
    st.fixed_dictionaries({"cells": st.lists(cell | json_values, max_size=4)}),
    st.fixed_dictionaries({"cells": json_values}),
    json_values,
)


@FUZZ
@given(notebooks.map(lambda v: json.dumps(v).encode()).flatmap(lambda b: st.just(b) | mutated(b)) | deep)
def test_notebooks(data):
    outcome("n.ipynb", data, own_parser=True)


html_parts = st.sampled_from(["<div>", "</div>", "<script>", "</script>", "<p>", "text 文字", "&amp;", "&#99999999;", "<!--",
                              "-->", "<", ">", "<style>", "\x00", "<![CDATA[", "<?php", "<a href='", "'>", "<template>"])


@FUZZ
@given(st.lists(html_parts, max_size=60).map(lambda p: "".join(p).encode()) | st.integers(0, 3000).map(lambda n: b"<b>" * n + b"x"))
def test_html(data):
    outcome("p.html", data, own_parser=False)


PDF = make_pdf("Liandan fuzz target")


@FUZZ
@given(mutated(PDF))
def test_pdf(data):
    outcome("f.pdf", data, own_parser=False)


DOCX = make_docx(["第一段 fuzz", "second paragraph"])


def docx_with(xml: bytes) -> bytes:
    """DOCX with its document part replaced."""
    source = zipfile.ZipFile(io.BytesIO(DOCX))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            out.writestr(info.filename, xml if info.filename == "word/document.xml" else source.read(info))
    return buffer.getvalue()


@FUZZ
@given(
    mutated(DOCX)
    | st.binary(max_size=400).map(docx_with)
    | st.integers(0, 5000).map(lambda n: docx_with(b"<w:document xmlns:w='x'>" + b"<w:p>" * n))
)
def test_docx(data):
    outcome("w.docx", data, own_parser=False)


member_names = st.one_of(
    # zipfile's own writer cuts a name at NUL and then fails on what is left; raw name bytes are `forged`'s job
    st.text(max_size=30).map(lambda t: t.split("\x00")[0] + ".md"),
    st.sampled_from(["../up.md", "/abs.md", "C:/x.md", "a\\..\\b.md", "__MACOSX/._a.md", "in.zip", "dir/", "深/层.txt"]),
)
members = st.lists(st.tuples(member_names, st.binary(max_size=200), st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])), max_size=6)


def build(spec) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as out:
        warnings.simplefilter("ignore")  # duplicate names are part of the fuzz
        for name, data, method in spec:
            out.writestr(zipfile.ZipInfo(name) if name.endswith("/") else name, data, compress_type=method)
    return buffer.getvalue()


def forged(spec) -> bytes:
    """Hand-made members with raw name bytes (no UTF-8 flag) and lying sizes / CRCs / methods."""
    name, payload, size, crc, method = spec
    stream = zlib.compress(payload)[2:-4]
    return raw_zip([(name + b".md", stream, crc, size)], method=method)


zips = st.one_of(
    members.map(build),
    members.map(build).flatmap(mutated),
    st.tuples(st.binary(max_size=20), st.binary(max_size=300), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
              st.sampled_from([0, 8, 12, 14, 99])).map(forged),
)


@FUZZ
@given(zips)
def test_zip_reader(data):
    tracemalloc.start()
    try:
        try:
            for name, got in loaders.iter_zip(data, LIMIT, total_bytes=4 * MB):
                assert isinstance(name, str) and name
                assert isinstance(got, bytes) and len(got) <= LIMIT or (isinstance(got, LoadError) and got.message and re.search(r"[\u4e00-\u9fff]", got.text("zh")))
        except LoadError as exc:
            assert exc.message and re.search(r"[\u4e00-\u9fff]", exc.text("zh"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"{peak / MB:.1f} MB"


def test_lying_sizes_never_give_more_than_declared():
    """A member that declares 10 bytes but inflates to 10 MB yields at most 10 bytes (or a CRC
    failure): the declared sizes the budgets check are what bounds memory."""
    from core.kb import archive

    payload = bytes(10 * MB)
    stream = zlib.compress(payload)[2:-4]
    data = raw_zip([("liar.md", stream, zlib.crc32(payload), 10)])
    reader = archive.ZipReader(lambda: io.BytesIO(data), archive.ZipLimits(LIMIT))
    (member,) = reader.members()
    try:
        assert len(reader.read(member)) <= 10
    except LoadError as exc:
        assert "cannot be read" in exc.message


def test_a_nameless_zip_member_is_skipped_not_a_crash():
    """Found by test_zip_reader: zipfile's ZipInfo.is_dir() raises IndexError on an empty name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"no name")
        archive.writestr("good.md", "# 标题\n正文")
    assert [name for name, _ in loaders.iter_zip(buffer.getvalue(), LIMIT)] == ["good.md"]


# --- the formats of issue 15: slides, sheets, e-books, RTF, images --------------------------------
from tests import kb_corpus  # noqa: E402 - the new formats' seeds, kept beside their tests

PPTX = kb_corpus.pptx_deck()
XLSX = kb_corpus.xlsx_book()
EPUB = kb_corpus.epub_book({"第一章": "正文 fuzz", "二": "<table><tr><td>x</td></tr></table>"})


def _tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 16), "white").save(buffer, "PNG")
    return buffer.getvalue()


@FUZZ
@given(st.sampled_from([("s.pptx", PPTX), ("b.xlsx", XLSX), ("e.epub", EPUB)]).flatmap(lambda seed: st.tuples(st.just(seed[0]), mutated(seed[1]))))
def test_office_packages_and_epub(case):
    name, data = case
    outcome(name, data, own_parser=False)


rtf_parts = st.sampled_from(["{\\rtf1", "{", "}", "\\par ", "\\u20013?", "\\'d6\\'d0", "\\ansicpg936", "\\ansicpg99999", "text 文字",
                             "\\bin5 ", "{\\*\\destination x}", "\\", "\\uc0", "\\'zz"])


@FUZZ
@given(st.lists(rtf_parts, max_size=60).map(lambda p: "{\\rtf1 " + "".join(p)).map(lambda s: s.encode("utf-8")) | st.binary(max_size=300))
def test_rtf(data):
    outcome("r.rtf", data, own_parser=False)


@FUZZ
@given(mutated(_tiny_png()))
def test_images(data):
    """An image that decodes is OCR'd, and the engine's canvas has a floor (its detector scales the
    short side up to 736 px: 55 MB for this 32×16 PNG), so the bound is one page's canvas; what the
    pixels can add beyond it is tested in test_kb_formats (thin strips, long screenshots)."""
    outcome("i.png", data, own_parser=False, bound=OCR_CANVAS_MEMORY)
