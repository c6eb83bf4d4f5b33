"""OCR speed, and what OCR costs a corpus without scanned pages (it must cost nothing).

Claims checked, in one process:
(1) pages per minute of OCR on this machine's cores (scanned Chinese A4 pages at 200 dpi, the
    engine loaded once before timing, as it stays loaded during an index run);
(2) indexing a text-only corpus (text PDFs, a table PDF, Markdown, .docx, .pptx, .xlsx) with OCR
    on vs off: ratio ~1, because the scan check reads what the PDF parser has already extracted
    and no page of such a corpus is rendered (runs alternate off/on, on/off, so load drift and
    going second hit both alike; the median of each is compared);
(3) the per-page parse cost of a text PDF now (PDFium text and page objects; pdfplumber only on
    pages that draw paths) against pypdf's extract_text, the reader before issue 15, and of a
    PDF whose every page holds a ruled table (pdfplumber's table finder runs on each).

Timings on a shared machine vary with its load: read the ratios, which share the load.

    .venv/bin/python bench/ocr.py [--pages 3] [--docs 12] [--rounds 2]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.config import Settings  # noqa: E402
from core.kb.formats.base import LoadOptions  # noqa: E402
from core.kb.loaders import load_bytes  # noqa: E402
from core.kb.manager import KnowledgeBaseManager  # noqa: E402
from tests import kb_corpus as corpus  # noqa: E402 - the same generated documents as the tests

PARAGRAPH = "知识库把文档切成分块，再用向量和关键词检索。每一页都有真实的文字层，不需要 OCR。Retrieval works offline. "


def ocr_pages_per_minute(pages: int) -> float:
    scans = [[f"第 {n} 页：{line}" for line in corpus.SCAN_LINES] for n in range(1, pages + 1)]
    data = corpus.scanned_pdf(scans)
    load_bytes("warm.png", corpus.scanned_image(), 100_000_000)  # load the engine outside the timing
    started = time.perf_counter()
    loaded = load_bytes("scan.pdf", data, 100_000_000)
    elapsed = time.perf_counter() - started
    assert len(loaded.sections) == pages, "every page read"
    return pages / elapsed * 60


def text_corpus(folder: Path, docs: int) -> None:
    folder.mkdir(parents=True)
    for n in range(docs):
        (folder / f"report{n}.pdf").write_bytes(corpus.text_pdf([f"第 {n}.{p} 节。" + PARAGRAPH * 12 for p in range(5)]))
        (folder / f"notes{n}.md").write_text(f"# 笔记 {n}\n\n" + PARAGRAPH * 20, encoding="utf-8")
    (folder / "table.pdf").write_bytes(corpus.table_pdf())
    (folder / "deck.pptx").write_bytes(corpus.pptx_deck())
    (folder / "book.xlsx").write_bytes(corpus.xlsx_book())


def index_seconds(root: Path, folder: Path, ocr: bool, run: int) -> tuple[float, float]:
    """(wall, CPU) seconds of one full index: CPU time, summed over the process's threads, is what
    a loaded machine disturbs least."""
    settings = Settings(data_dir=root / f"data-{run}", load_on_start=False, embedding_model="hash", kb_roots=[root], kb_ocr=ocr)
    kbs = KnowledgeBaseManager(settings)
    kbs.create("bench")
    cpu = time.process_time()
    result = kbs.index("bench", [folder])
    cpu = time.process_time() - cpu
    assert result.summary()["failed"] == 0, [r for r in result.reports if r.status == "failed"]
    assert not any(n["key"] == "kb.report.pages_ocr" for r in result.reports for n in r.notes), "no page was OCR'd"
    return result.seconds, cpu


def parse_per_page(pages: int = 20) -> tuple[float, float, float]:
    """Seconds per page: pypdf on a text PDF, this loader on it, this loader on table pages."""
    from pypdf import PdfReader

    def timed(load, data: bytes) -> float:
        started = time.perf_counter()
        load(data)
        return (time.perf_counter() - started) / pages

    text = corpus.text_pdf([PARAGRAPH * 12] * pages)
    with_tables = corpus.table_pdf(pages=pages)
    old = timed(lambda data: [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages], text)
    new = timed(lambda data: load_bytes("t.pdf", data, 100_000_000, LoadOptions(ocr=True)), text)
    tables = timed(lambda data: load_bytes("t.pdf", data, 100_000_000, LoadOptions(ocr=True)), with_tables)
    return old, new, tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=3, help="scanned pages to OCR")
    parser.add_argument("--docs", type=int, default=30, help="text PDFs (5 pages each) and Markdown files in the text-only corpus")
    parser.add_argument("--rounds", type=int, default=4, help="pairs of index runs, one with OCR on and one off")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    ppm = ocr_pages_per_minute(args.pages)
    print(f"(1) OCR: {ppm:.1f} pages/minute ({60 / ppm:.1f} s/page, {args.pages} A4 pages at 200 dpi)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        text_corpus(root / "corpus", args.docs)
        index_seconds(root, root / "corpus", False, -1)  # warm-up: imports, Chroma, embedder
        times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for run in range(args.rounds):
            for ocr in ((False, True) if run % 2 == 0 else (True, False)):  # neither always goes second
                times[ocr].append(index_seconds(root, root / "corpus", ocr, 2 * run + ocr))
    (off, off_cpu), (on, on_cpu) = ([statistics.median(t[i] for t in times[ocr]) for i in (0, 1)] for ocr in (False, True))
    files = 2 * args.docs + 3
    print(f"(2) text-only corpus ({files} files, {5 * args.docs + 3} PDF pages), median of {args.rounds} runs each: "
          f"wall OCR off {off:.2f} s, on {on:.2f} s, on/off = {on / off:.2f}; CPU off {off_cpu:.2f} s, on {on_cpu:.2f} s, on/off = {on_cpu / off_cpu:.2f}")
    old, new, tables = parse_per_page()
    print(f"(3) PDF parse per page: pypdf {old * 1000:.1f} ms, now {new * 1000:.1f} ms ({new / old:.2f}x); "
          f"pages with a ruled table {tables * 1000:.1f} ms ({tables / old:.1f}x pypdf's text-only read)")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
