"""Retrieval quality on the public QA list: dense-only vs BM25-only vs hybrid, same index.

Claims checked: fusing jieba BM25 with dense similarity beats either alone on the Datawhale
corpus (mostly Chinese; the offline MiniLM's vocabulary lacks many CJK characters, so dense
alone is weak there, while English questions need the dense side); and the default relevance
threshold keeps the questions the corpus answers while turning away ones it cannot
(bench/data/offtopic.jsonl: cooking, travel, sport… in Chinese and English).

    .venv/bin/python bench/retrieval.py                        # builds a fresh index (slow: MiniLM on 2 cores)
    .venv/bin/python bench/retrieval.py --data-dir DIR --kb NAME   # reuse an index, e.g. from `python -m core index`
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.config import Settings  # noqa: E402
from core.kb import eval as kb_eval  # noqa: E402
from core.kb.manager import KnowledgeBaseManager  # noqa: E402
from core.kb.retrieval import MODES  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "datawhale"
QA = REPO / "bench" / "data" / "datawhale_qa.jsonl"
OFFTOPIC = REPO / "bench" / "data" / "offtopic.jsonl"


def subset(limit: int, target: Path) -> Path:
    """A smaller haystack (say so when reporting): the QA sources plus evenly spread distractors."""
    sources = {json.loads(line)["source"] for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()}
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".md", ".txt") and p.is_file())
    chosen = [f for f in files if f"{CORPUS.name}/{f.relative_to(CORPUS).as_posix()}" in sources]
    others = [f for f in files if f not in chosen]
    step = max(1, len(others) // max(1, limit - len(chosen)))
    chosen += others[::step][: max(0, limit - len(chosen))]
    for f in chosen:
        dest = target / CORPUS.name / f.relative_to(CORPUS)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
    print(f"subset: {len(chosen)} of {len(files)} files (all QA sources + distractors)")
    return target / CORPUS.name


def calibrate(kbs: KnowledgeBaseManager, kb: str, on_topic: list[str]) -> None:
    """Top-1 hybrid score of answerable vs unanswerable questions: where the threshold should sit."""
    off_topic = [json.loads(line)["question"] for line in OFFTOPIC.read_text(encoding="utf-8").splitlines() if line.strip()]

    def top(question: str) -> float:
        hits = kbs.search(kb, question, 1)
        return hits[0].score if hits else 0.0

    on = sorted(top(q) for q in on_topic)
    off = sorted(top(q) for q in off_topic)
    print(f"top-1 score, {len(on)} answerable: min {on[0]:.3f} median {on[len(on) // 2]:.3f}; "
          f"{len(off)} off-topic: median {off[len(off) // 2]:.3f} max {off[-1]:.3f}")

    def rates(t: float) -> tuple[float, float]:
        return sum(s >= t for s in on) / len(on), sum(s < t for s in off) / len(off)

    best = max((round(0.05 * i, 2) for i in range(1, 20)), key=lambda t: sum(rates(t)))
    current = kbs.settings.kb_threshold
    for label, t in (("default", current), ("best", best)):
        kept, turned = rates(t)
        print(f"threshold {t:.2f} ({label}): keeps {100 * kept:.0f}% of answerable, turns away {100 * turned:.0f}% of off-topic")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="Liandan data folder holding an index of the corpus.")
    parser.add_argument("--kb", default="datawhale")
    parser.add_argument("--embedding-model", default="embedded", help="For a fresh index: embedded | hash | folder.")
    parser.add_argument("--limit", type=int, help="Fresh index of N files only: every QA source plus others spread over the corpus.")
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"skip: {CORPUS} is absent (opt-in data in ../shared)")
        return 0
    with tempfile.TemporaryDirectory(prefix="liandan-retrieval-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        kbs = KnowledgeBaseManager(Settings(data_dir=data_dir, load_on_start=False, embedding_model=args.embedding_model))
        if not kbs.exists(args.kb):
            print(f"indexing {CORPUS} with {args.embedding_model} (use --data-dir to reuse an index)…", flush=True)
            kbs.create(args.kb)
            folder = CORPUS if not args.limit else subset(args.limit, Path(tmp) / "corpus")
            result = kbs.index(args.kb, [folder])
            print(f"  {result.chunks_added} chunks in {result.seconds:.0f} s")
        kb = kbs.get(args.kb)
        items = kb_eval.parse_qa(QA.read_text(encoding="utf-8"))
        indexed = [qa for qa in items if qa.source in kb.manifest.files]
        print(f"{len(indexed)}/{len(items)} questions have their source in '{args.kb}' "
              f"({len(kb.manifest.files)} files, {kb.manifest.chunk_count()} chunks, {kb.config.embedding_model})")
        print(f"{'mode':8} {'hit@1':>6} {'hit@5':>6} {'MRR':>6} {'ms/q':>6}")
        scores = {}
        for mode in ("dense", "bm25", "hybrid"):
            assert mode in MODES
            kbs.search(args.kb, "warm up", mode=mode)
            started = time.perf_counter()
            result = kb_eval.evaluate(kbs, args.kb, indexed, mode)
            per_query = 1000 * (time.perf_counter() - started) / max(1, len(indexed))
            scores[mode] = result
            print(f"{mode:8} {result.hit1:6.3f} {result.hit5:6.3f} {result.mrr:6.3f} {per_query:6.1f}")
        best_single = max(scores["dense"].mrr, scores["bm25"].mrr)
        print(f"hybrid MRR vs best single signal: {scores['hybrid'].mrr / best_single:.2f}x" if best_single else "")
        misses = [r for r in scores["hybrid"].rows if r["rank"] == 0 or r["rank"] > 5]
        for r in misses:
            print(f"  hybrid miss: {r['question']}  (top: {r['top']})")
        print(json.dumps({m: r.as_dict() for m, r in scores.items()}))
        calibrate(kbs, args.kb, [qa.question for qa in indexed])
    return 0


if __name__ == "__main__":
    sys.exit(main())
