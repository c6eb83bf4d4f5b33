"""Calibration: a knowledge base picks its own fusion rule, dense weight and relevance threshold from
the user's QA list (`{"question", "source"}` lines, the same format as evaluation and the retrieval log
export), and reports the before/after numbers.

Why per base: the best mix of dense and BM25 depends on the embedder and the documents (measured on the
Datawhale dev split: a weight chosen for one model does not carry to another). The threshold is chosen
against shipped off-topic questions (offtopic.jsonl: cooking, travel, sport… in both languages): the
value that keeps the most answerable questions while turning away the most off-topic ones.
Signals are computed once per question, then every candidate is scored in numpy, so a 100-question list
costs 100 query embeddings, not 100 x grid.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import UserError
from core.kb import fusion
from core.kb.eval import QA, SEARCH_DEPTH, rank_of

OFFTOPIC = Path(__file__).with_name("offtopic.jsonl")
WEIGHTS = [round(0.1 * i, 1) for i in range(11)]
THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 19)]
MIN_QUESTIONS = 5


@dataclass(frozen=True)
class Setting:
    fusion: str
    dense_weight: float
    dense_weight_en: float
    threshold: float


@dataclass
class Scores:
    hit1: float
    hit5: float
    mrr: float
    kept: float  # share of answerable questions whose top hit passes the threshold
    turned_away: float  # share of off-topic questions whose top hit does not

    def as_dict(self) -> dict:
        return {k: round(v, 3) for k, v in asdict(self).items()}


@dataclass
class Calibration:
    n: int
    before: Setting
    after: Setting
    before_scores: Scores
    after_scores: Scores

    def table(self) -> list[dict]:
        """Rows for the KB page: one per measure, before vs after."""
        names = {"hit1": "hit@1", "hit5": "hit@5", "mrr": "MRR", "kept": "kept", "turned_away": "turned_away"}
        b, a = self.before_scores.as_dict(), self.after_scores.as_dict()
        return [{"measure": names[k], "before": b[k], "after": a[k]} for k in names]


def offtopic_questions() -> list[str]:
    return [json.loads(line)["question"] for line in OFFTOPIC.read_text(encoding="utf-8").splitlines() if line.strip()]


def _order(setting: Setting, cosine, dense, lexical, query: str) -> tuple[np.ndarray, float]:
    """Top chunk indices and the top-1 0-1 score under `setting`."""
    weight = fusion.language_weight(query, setting.dense_weight, setting.dense_weight_en) if setting.fusion == "language" else setting.dense_weight
    score = fusion.weighted(dense, lexical, weight)
    if setting.fusion == "rrf":
        order = fusion.rrf_order(dense, lexical)[:SEARCH_DEPTH]
    else:
        k = min(SEARCH_DEPTH, score.size)
        order = np.argpartition(-score, k - 1)[:k]
        order = order[np.argsort(-score[order], kind="stable")]
    return order, float(score[order[0]]) if order.size else 0.0


def measure(setting: Setting, answerable: list[tuple], offtopic: list[tuple], sources: list[str]) -> Scores:
    ranks, tops = [], []
    for target, query, signals in answerable:
        order, best = _order(setting, *signals, query)
        ranks.append(rank_of([sources[i] for i in order], target))
        tops.append(best)
    off = [_order(setting, *signals, query)[1] for query, signals in offtopic]
    n = max(1, len(ranks))
    return Scores(
        hit1=sum(r == 1 for r in ranks) / n, hit5=sum(0 < r <= 5 for r in ranks) / n,
        mrr=sum(1 / r for r in ranks if r) / n,
        kept=sum(t >= setting.threshold for t in tops) / n,
        turned_away=sum(t < setting.threshold for t in off) / max(1, len(off)),
    )


def calibrate(manager, name: str, items: list[QA], apply: bool = False, progress: Callable[[int, int], None] | None = None) -> Calibration:
    """Search the settings grid on `items`; with `apply`, store the winner in the base's kb.json."""
    kb = manager.get(name)
    aliases = kb.manifest.aliases()
    usable = [qa for qa in items if aliases.get(qa.source, qa.source) in kb.manifest.files or qa.source in kb.manifest.files]
    if len(usable) < MIN_QUESTIONS:
        raise UserError(
            "errors.calibrate.calibration_needs_least_questions", min_questions=MIN_QUESTIONS, name=name, usable_count=len(usable),
        )
    searcher = manager.searcher(name)
    sources = [m.get("source", "") for m in searcher.snapshot().metas]
    off_q = offtopic_questions()
    total = len(usable) + len(off_q)
    answerable, offtopic = [], []
    for i, qa in enumerate(usable):
        answerable.append((aliases.get(qa.source, qa.source), qa.question, searcher.signals(qa.question)))
        if progress:
            progress(i + 1, total)
    for j, q in enumerate(off_q):
        offtopic.append((q, searcher.signals(q)))
        if progress:
            progress(len(usable) + j + 1, total)
    before = Setting(searcher.fusion_rule, searcher.dense_weight, searcher.dense_weight_en, manager.threshold(name))
    candidates = [Setting("weighted", w, w, before.threshold) for w in WEIGHTS]
    candidates += [Setting("language", w, w_en, before.threshold) for w in WEIGHTS for w_en in WEIGHTS if w_en > w]
    candidates += [Setting("rrf", w, w, before.threshold) for w in WEIGHTS]
    before_scores = measure(before, answerable, offtopic, sources)

    def key(s: Setting) -> tuple:
        m = measure(s, answerable, offtopic, sources)
        return (round(m.mrr, 4), round(m.hit5, 4), s == before)  # ties keep what the base had

    best = max([before, *candidates], key=key)
    best = max((Setting(best.fusion, best.dense_weight, best.dense_weight_en, t) for t in THRESHOLDS),
               key=lambda s: (lambda m: (m.kept + m.turned_away, m.kept))(measure(s, answerable, offtopic, sources)))
    result = Calibration(len(usable), before, best, before_scores, measure(best, answerable, offtopic, sources))
    if apply:
        kb.config.fusion, kb.config.dense_weight = best.fusion, best.dense_weight
        kb.config.dense_weight_en, kb.config.threshold = best.dense_weight_en, best.threshold
        kb.save_config()
        manager.forget_searcher(name)
    return result
