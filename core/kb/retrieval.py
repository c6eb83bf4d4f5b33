"""Hybrid retrieval with ONE relevance score in 0-1, higher is better, everywhere.

Both signals are made absolute, not rank-based, so a threshold means the same thing for
every question:
- lexical = BM25 over jieba tokens divided by its ceiling for this query (every query word
  present, each many times): 1.0 = all the question's words, often; ~0.4 = each once. The chunk's
  file path + heading path is a second, title field, added at TITLE_WEIGHT (then clipped to 1), and
  an English question's words also match their Chinese dictionary translations (core.kb.crosslingual).
  Dense retrieval alone is weak on Chinese with the offline MiniLM (its vocabulary lacks
  many CJK characters); keyword matching is strong there.
- dense = how far the chunk's cosine stands above this query's median chunk (core.kb.fusion): raw
  cosines sit on each model's own scale (e5 ~0.8 for anything), this does not.
score = w * dense + (1 - w) * lexical; w, the fusion rule and the threshold are per knowledge base
(set by calibration, core.kb.calibrate), defaulting to settings.kb_dense_weight / kb_fusion.

Scores are computed exactly for every chunk from an in-memory snapshot of the collection
(embeddings matrix + inverted index): 10k chunks x 384 dims is a ~5 ms product on one core, and
the snapshot is rebuilt only when the manifest's revision changes.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from core.kb import crosslingual, fusion
from core.kb.store import KnowledgeBase
from core.kb.tokenize import tokens

MODES = ("hybrid", "dense", "bm25")
# Chosen on the dev split of bench/data/datawhale_dev.jsonl (bench/retrieval.py); with dense weight 0.5,
# dev hit@5 was 0.924 for 2, 3 and 5 translations a word.
TITLE_WEIGHT = 0.5
TRANSLATIONS_PER_WORD = 3


@dataclass(frozen=True)
class Hit:
    id: str
    source: str
    text: str
    score: float  # 0-1, higher is better
    dense: float
    lexical: float
    chunk: int = 0
    heading: str = ""
    rerank: float | None = None  # the cross-encoder's 0-1 score when a reranker re-ordered the hits
    page: int | None = None  # 1-based PDF page / pptx slide, when the loader recorded them
    slide: int | None = None

    def as_dict(self) -> dict:
        return {"source": self.source, "score": round(self.score, 4), "text": self.text, "chunk": self.chunk}


class BM25:
    """Okapi BM25 on an inverted index (numpy per query word), with Lucene's always-positive idf."""

    def __init__(self, docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.n = len(docs)
        self.lengths = np.array([len(d) for d in docs], dtype=np.float32)
        self.avgdl = float(self.lengths.mean()) if self.n and self.lengths.sum() else 1.0
        postings: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                postings[term][0].append(i)
                postings[term][1].append(tf)
        self.postings = {t: (np.array(ix, dtype=np.int64), np.array(tf, dtype=np.float32)) for t, (ix, tf) in postings.items()}

    def idf(self, term: str) -> float:
        df = len(self.postings[term][0]) if term in self.postings else 0
        return math.log((self.n - df + 0.5) / (df + 0.5) + 1.0)

    def normalized_scores(self, query: list[str]) -> np.ndarray:
        return self.grouped_scores([[t] for t in dict.fromkeys(query)])

    def frequency(self, term: str) -> int:
        """How many documents contain `term`."""
        return len(self.postings[term][0]) if term in self.postings else 0

    def grouped_scores(self, groups: list[list[str]]) -> np.ndarray:
        """BM25 where each group is one query word and its terms are alternatives (the word, its
        translations): a document earns its best term's score per group, and the ceiling counts each
        group once, at its rarest term found in the base (or the word itself when none is), so
        alternatives neither add up nor lower the 0-1 score of a plain query."""
        scores = np.zeros(self.n, dtype=np.float32)
        groups = [g for g in groups if g]
        reference = sum(max((self.idf(t) for t in g if t in self.postings), default=self.idf(g[0])) for g in groups)
        if not groups or reference <= 0 or self.n == 0:
            return scores
        for group in groups:
            best = scores if len(group) == 1 else np.zeros(self.n, dtype=np.float32)
            for term in group:
                if term not in self.postings:
                    continue
                ix, tf = self.postings[term]
                norm = self.k1 * (1 - self.b + self.b * self.lengths[ix] / self.avgdl)
                value = self.idf(term) * tf * (self.k1 + 1) / (tf + norm)
                if best is scores:
                    scores[ix] += value
                else:
                    best[ix] = np.maximum(best[ix], value)
            if best is not scores:
                scores += best
        return np.minimum(scores / (reference * (self.k1 + 1)), 1.0)


@dataclass
class Snapshot:
    revision: int
    ids: list[str]
    texts: list[str]
    metas: list[dict]
    vectors: np.ndarray
    bm25: BM25
    titles: BM25  # over each chunk's file path and heading path, a second field


def title_text(meta: dict) -> str:
    """The words that name a chunk: its file's path without the extension and its heading path
    ("self-llm models Hunyuan3D-2 02-Hunyuan3D-2 系列模型代码调用 > 安装"); folder and file names carry
    the product names and topics that questions ask about, in both languages."""
    path = re.sub(r"\.[A-Za-z0-9]+$", "", meta.get("source", "").split("/", 1)[-1])
    return path.replace("/", " ") + " " + meta.get("heading", "")


def build_snapshot(kb: KnowledgeBase) -> Snapshot:
    revision = kb.manifest.revision
    got = kb.collection.get(include=["documents", "metadatas", "embeddings"])
    metas = [m or {} for m in got["metadatas"]]
    vectors = np.asarray(got["embeddings"], dtype=np.float32) if len(got["ids"]) else np.zeros((0, 1), dtype=np.float32)
    docs = [(m.get("tokens") or "").split() for m in metas]
    titles = BM25([tokens(title_text(m)) for m in metas])
    return Snapshot(revision, list(got["ids"]), list(got["documents"]), metas, vectors, BM25(docs), titles)


def lexical_scores(snap: Snapshot, words: list[str], language: str) -> np.ndarray:
    """BM25 over the chunk text, where an English question's words also match their Chinese
    translations, plus the title field, on 0-1."""
    if language == "en":
        body = snap.bm25.grouped_scores(crosslingual.alternatives(words, snap.bm25.frequency, TRANSLATIONS_PER_WORD))
    else:
        body = snap.bm25.normalized_scores(words)
    return np.minimum(body + TITLE_WEIGHT * snap.titles.normalized_scores(words), 1.0).astype(np.float32)


class HybridSearcher:
    def __init__(
        self, kb: KnowledgeBase, embedder: Embeddings, dense_weight: float = 0.5,
        fusion_rule: str = "weighted", dense_weight_en: float | None = None,
        reranker=None, rerank_depth: int = 20,
    ) -> None:
        self.reranker = reranker  # core.kb.rerank.CrossEncoderReranker or None
        self.rerank_depth = rerank_depth
        self.kb = kb
        self.embedder = embedder
        self.dense_weight = dense_weight
        self.fusion_rule = fusion_rule if fusion_rule in fusion.FUSIONS else "weighted"
        self.dense_weight_en = dense_weight if dense_weight_en is None else dense_weight_en
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        with self._lock:
            if self._snapshot is None or self._snapshot.revision != self.kb.manifest.revision:
                self._snapshot = build_snapshot(self.kb)
            return self._snapshot

    def signals(self, query: str, mode: str = "hybrid") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(raw cosine, dense relevance, lexical) for every chunk of the snapshot."""
        snap = self.snapshot()
        n = len(snap.ids)
        lexical = lexical_scores(snap, tokens(query), fusion.query_language(query)) if mode != "dense" else np.zeros(n, np.float32)
        if mode != "bm25":
            q = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
            # einsum, not `@`: OpenBLAS's threaded gemv is 10x slower than one core on a busy 2-core box.
            cosine = np.einsum("ij,j->i", snap.vectors, q)
        else:
            cosine = np.zeros(n, np.float32)
        return cosine, (fusion.dense_relevance(cosine) if mode != "bm25" else cosine), lexical

    def weight_for(self, query: str) -> float:
        if self.fusion_rule == "language":
            return fusion.language_weight(query, self.dense_weight, self.dense_weight_en)
        return self.dense_weight

    def search(self, query: str, k: int = 5, threshold: float = 0.0, mode: str = "hybrid", rerank: bool | None = None) -> list[Hit]:
        """Top `k` hits; in hybrid mode a configured reranker re-orders the top `rerank_depth` first
        (rerank=False skips it, e.g. to measure the difference)."""
        use_reranker = self.reranker is not None and mode == "hybrid" and rerank is not False
        if use_reranker:
            hits = self.search(query, max(k, self.rerank_depth), threshold, mode, rerank=False)
            return self.reranker.rerank(query, hits)[:k]
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        snap = self.snapshot()
        if not snap.ids or not query.strip():
            return []
        _, dense, lexical = self.signals(query, mode)
        weight = {"hybrid": self.weight_for(query), "dense": 1.0, "bm25": 0.0}[mode]
        score = fusion.weighted(dense, lexical, weight)
        k = min(k, len(snap.ids))
        if mode == "hybrid" and self.fusion_rule == "rrf":
            top = fusion.rrf_order(dense, lexical)[:k]  # ranks by RRF; the score shown stays the 0-1 one
        else:
            top = np.argpartition(-score, k - 1)[:k]
            top = top[np.argsort(-score[top], kind="stable")]
        hits = []
        for i in top:
            if score[i] < threshold or score[i] <= 0.0:
                continue
            meta = snap.metas[i]
            hits.append(
                Hit(
                    id=snap.ids[i], source=meta.get("source", ""), text=snap.texts[i], score=float(score[i]),
                    dense=float(dense[i]), lexical=float(lexical[i]), chunk=int(meta.get("chunk", 0)), heading=meta.get("heading", ""),
                    page=meta.get("page"), slide=meta.get("slide"),
                )
            )
        return hits
