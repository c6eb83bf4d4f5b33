"""How the dense and BM25 signals become ONE relevance score in 0-1, higher is better.

Why per-query normalisation: embedders put their cosines on different scales (e5's sit near 0.8 for
anything, MiniLM's near 0.1), so a fixed weight on raw cosines means something different per model.
`dense_relevance` measures how far a chunk stands above this query's typical chunk: (cos - median) /
(1 - median), clipped. That is still absolute enough for a threshold (an off-topic question lifts no
chunk far above the median) while being comparable across models.

Candidates compared on the dev split by bench/retrieval.py (numbers in its output, not here):
- "weighted": w * dense_relevance + (1 - w) * lexical, one w per knowledge base;
- "rrf": reciprocal-rank fusion, 1/(k + rank) summed; ranks only, so its displayed score is still the
  weighted one (RRF values have no 0-1 meaning);
- "language": the weighted score with w chosen by the question's script (a Latin-script question about
  a Chinese base shares no words with it, so BM25 cannot help and dense must carry it).
"""

from __future__ import annotations

import re

import numpy as np

FUSIONS = ("weighted", "rrf", "language")
RRF_K = 60
MIN_POPULATION = 20
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def query_language(text: str) -> str:
    """'zh' when the question has any Chinese characters, 'en' when it is Latin-script only."""
    return "zh" if _CJK.search(text) else "en" if _LATIN.search(text) else "zh"


def dense_relevance(cosines: np.ndarray) -> np.ndarray:
    """How far each chunk's cosine stands above this query's median chunk, on 0-1."""
    if cosines.size == 0:
        return cosines.astype(np.float32)
    # A base of a few chunks has no "typical chunk": pad with zeros (unrelated) up to MIN_POPULATION,
    # so one chunk is not its own median (relevance 0 for everything).
    population = cosines if cosines.size >= MIN_POPULATION else np.concatenate([cosines, np.zeros(MIN_POPULATION - cosines.size, cosines.dtype)])
    median = float(np.median(population))
    span = max(1.0 - median, 1e-6)
    return np.clip((cosines - median) / span, 0.0, 1.0).astype(np.float32)


def weighted(dense: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    return np.clip(weight * dense + (1.0 - weight) * lexical, 0.0, 1.0).astype(np.float32)


def rrf_order(dense: np.ndarray, lexical: np.ndarray, depth: int = 200) -> np.ndarray:
    """Chunk indices by reciprocal-rank fusion over each signal's top `depth`."""
    n = dense.size
    depth = min(depth, n)
    fused = np.zeros(n, dtype=np.float64)
    for signal in (dense, lexical):
        top = np.argpartition(-signal, depth - 1)[:depth]
        top = top[np.argsort(-signal[top], kind="stable")]
        fused[top] += 1.0 / (RRF_K + np.arange(1, depth + 1))
    return np.argsort(-fused, kind="stable")


def language_weight(query: str, weight: float, weight_en: float) -> float:
    return weight_en if query_language(query) == "en" else weight
