"""Retrieval quality on the Datawhale corpus: dense / BM25 / hybrid / hybrid+rerank, per language, on the
held-out split of bench/data/datawhale_dev.jsonl (never tuned on), its dev split, and the old 44 questions.

    .venv/bin/python bench/retrieval.py --data-dir DIR --kb NAME          # an index from `python -m core index`
    .venv/bin/python bench/retrieval.py --data-dir DIR --kb NAME --tune   # + the fusion grid, on DEV only

"hybrid" is the knowledge base's real search path with its settings (calibrated or defaults); the grid
compares fusion rules on dev by recomputing the same signals (core.kb.fusion). Off-topic questions
(bench/data/offtopic.jsonl) show where the relevance threshold sits. Timings are on a shared, busy box.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from bench import devset  # noqa: E402
from core.config import Settings  # noqa: E402
from core.kb import eval as kb_eval  # noqa: E402
from core.kb import fusion  # noqa: E402
from core.kb.manager import KnowledgeBaseManager  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "datawhale"
OFFTOPIC = REPO / "bench" / "data" / "offtopic.jsonl"
DEPTH = kb_eval.SEARCH_DEPTH


def rank(order: np.ndarray, sources: list[str], target: str) -> int:
    return kb_eval.rank_of([sources[i] for i in order[:DEPTH]], target)


def top(score: np.ndarray) -> np.ndarray:
    k = min(DEPTH, score.size)
    idx = np.argpartition(-score, k - 1)[:k]
    return idx[np.argsort(-score[idx], kind="stable")]


def summary(ranks: list[int]) -> tuple[float, float, float]:
    n = max(1, len(ranks))
    return sum(r == 1 for r in ranks) / n, sum(0 < r <= 5 for r in ranks) / n, sum(1 / r for r in ranks if r) / n


def table(title: str, rows: list[dict], orders: dict[str, list[int]]) -> None:
    print(f"\n{title} ({len(rows)} questions)")
    print(f"{'mode':16} {'hit@1':>6} {'hit@5':>6} {'MRR':>6} | {'zh hit@5':>8} {'zh MRR':>6} | {'en hit@5':>8} {'en MRR':>6}")
    for mode, ranks in orders.items():
        if not ranks:
            print(f"{mode:16} (not measured: no reranker model configured; set LIANDAN_KB_RERANKER)")
            continue
        h1, h5, mrr = summary(ranks)
        zh = [r for r, row in zip(ranks, rows) if row["lang"] == "zh"]
        en = [r for r, row in zip(ranks, rows) if row["lang"] == "en"]
        print(f"{mode:16} {h1:6.3f} {h5:6.3f} {mrr:6.3f} | {summary(zh)[1]:8.3f} {summary(zh)[2]:6.3f} | {summary(en)[1]:8.3f} {summary(en)[2]:6.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="Liandan data folder holding an index of the corpus.")
    parser.add_argument("--kb", default="datawhale")
    parser.add_argument("--tune", action="store_true", help="Also print the fusion grid on the DEV split.")
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"skip: {CORPUS} is absent (opt-in data in ../shared)")
        return 0
    kbs = KnowledgeBaseManager(Settings(data_dir=args.data_dir, load_on_start=False))  # LIANDAN_* env applies
    kb = kbs.get(args.kb)
    searcher = kbs.searcher(args.kb)
    snap = searcher.snapshot()
    sources = [m.get("source", "") for m in snap.metas]
    aliases = kb.manifest.aliases()
    print(f"'{args.kb}': {len(kb.manifest.files)} files, {len(snap.ids)} chunks, model {kb.config.embedding_model}, "
          f"fusion {searcher.fusion_rule} w={searcher.dense_weight} w_en={searcher.dense_weight_en}")
    sets = {
        "held-out": devset.load(split="heldout"),
        "dev": devset.load(split="dev"),
        "old 44 (bench/data/datawhale_qa.jsonl)": devset.load(devset.OLD),
    }
    for r in sets["old 44 (bench/data/datawhale_qa.jsonl)"]:
        r["lang"] = fusion.query_language(r["question"])  # that file has no language field
    searcher.search("warm up", 1)
    signals, latency, rerank_ms = {}, [], []
    for rows in sets.values():
        for r in rows:
            if r["question"] not in signals:
                signals[r["question"]] = searcher.signals(r["question"])
            started = time.perf_counter()
            searcher.search(r["question"], DEPTH, rerank=False)
            latency.append(1000 * (time.perf_counter() - started))
    for name, rows in sets.items():
        missing = [r for r in rows if aliases.get(r["source"], r["source"]) not in kb.manifest.files and r["source"] not in kb.manifest.files]
        rows[:] = [r for r in rows if r not in missing]
        orders: dict[str, list[int]] = {"dense": [], "bm25": [], "hybrid": [], "hybrid+rerank": []}
        for r in rows:
            target = aliases.get(r["source"], r["source"])
            cosine, _, lexical = signals[r["question"]]
            orders["dense"].append(rank(top(cosine), sources, target))
            orders["bm25"].append(rank(top(lexical), sources, target))
            hits = searcher.search(r["question"], DEPTH, rerank=False)
            orders["hybrid"].append(kb_eval.rank_of([h.source for h in hits], target))
            if searcher.reranker is not None:  # no cross-encoder weights ship offline: see core.kb.rerank
                started = time.perf_counter()
                hits = searcher.search(r["question"], DEPTH)
                rerank_ms.append(1000 * (time.perf_counter() - started))
                orders["hybrid+rerank"].append(kb_eval.rank_of([h.source for h in hits], target))
        table(name, rows, orders)
        if name == "held-out":
            for r, rk in zip(rows, orders["hybrid"]):
                if not 0 < rk <= 5:
                    print(f"  hybrid miss ({r['lang']}): {r['question']}  -> {r['source'].split('/')[-1]}")
    lat = np.array(latency)
    print(f"\nsearch latency over {lat.size} questions (top {DEPTH}): p50 {np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms")
    if rerank_ms:
        print(f"hybrid+rerank latency: p50 {np.percentile(rerank_ms, 50):.1f} ms, p95 {np.percentile(rerank_ms, 95):.1f} ms")
    if args.tune:
        tune(sets["dev"], signals, sources, aliases)
    offtopic(searcher, [r["question"] for r in sets["dev"]], "dev (where the default threshold is chosen)")
    offtopic(searcher, [r["question"] for r in sets["held-out"]], "held-out")
    return 0


def tune(rows: list[dict], signals: dict, sources: list[str], aliases: dict) -> None:
    """Fusion rules and weights on DEV only; the chosen ones become the defaults in core.config."""
    print("\nfusion grid on DEV (hit@5 / MRR; zh, en)")
    targets = [aliases.get(r["source"], r["source"]) for r in rows]

    def score(make) -> tuple[float, float, float, float]:
        ranks = [rank(make(*signals[r["question"]], r["question"]), sources, t) for r, t in zip(rows, targets)]
        zh = [k for k, r in zip(ranks, rows) if r["lang"] == "zh"]
        en = [k for k, r in zip(ranks, rows) if r["lang"] == "en"]
        return summary(zh)[1], summary(zh)[2], summary(en)[1], summary(en)[2]

    for w in [round(0.1 * i, 1) for i in range(11)]:
        raw = score(lambda c, d, l, q, w=w: top(fusion.weighted(np.clip(c, 0, 1), l, w)))
        rel = score(lambda c, d, l, q, w=w: top(fusion.weighted(d, l, w)))
        print(f"  w={w:.1f}  raw cosine zh {raw[0]:.3f}/{raw[1]:.3f} en {raw[2]:.3f}/{raw[3]:.3f}   "
              f"per-query relevance zh {rel[0]:.3f}/{rel[1]:.3f} en {rel[2]:.3f}/{rel[3]:.3f}")
    rrf = score(lambda c, d, l, q: fusion.rrf_order(d, l)[:DEPTH])
    print(f"  RRF (k={fusion.RRF_K})  zh {rrf[0]:.3f}/{rrf[1]:.3f} en {rrf[2]:.3f}/{rrf[3]:.3f}")


def offtopic(searcher, on_topic: list[str], label: str) -> None:
    off = [json.loads(line)["question"] for line in OFFTOPIC.read_text(encoding="utf-8").splitlines() if line.strip()]

    def best(q: str) -> float:
        hits = searcher.search(q, 1)
        return hits[0].score if hits else 0.0

    on_s, off_s = sorted(best(q) for q in on_topic), sorted(best(q) for q in off)
    print(f"\ntop-1 score, {len(on_s)} {label} answerable: min {on_s[0]:.3f} median {on_s[len(on_s) // 2]:.3f}; "
          f"{len(off_s)} off-topic: median {off_s[len(off_s) // 2]:.3f} max {off_s[-1]:.3f}")
    for t in (0.1, 0.12, 0.14, 0.16, 0.18, 0.2, 0.25):
        kept = sum(s >= t for s in on_s) / len(on_s)
        turned = sum(s < t for s in off_s) / len(off_s)
        print(f"  threshold {t:.2f}: keeps {100 * kept:.0f}% of answerable, turns away {100 * turned:.0f}% of off-topic")


if __name__ == "__main__":
    sys.exit(main())
