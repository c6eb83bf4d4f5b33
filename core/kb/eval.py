"""Retrieval evaluation on a user's own `{"question", "source"}` list: hit@1, hit@5, MRR.

A question counts as found at rank r when the r-th distinct source in the results is its
`source` (the same path `search --json` prints); other fields of a line are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from core.errors import UserError

SEARCH_DEPTH = 20  # chunks fetched per question; enough to fill 5+ distinct sources


@dataclass(frozen=True)
class QA:
    question: str
    source: str


@dataclass
class EvalResult:
    n: int
    hit1: float
    hit5: float
    mrr: float
    rows: list[dict] = field(default_factory=list)  # per question: question, source, rank (0 = not found), top

    def as_dict(self) -> dict:
        return {"n": self.n, "hit@1": round(self.hit1, 4), "hit@5": round(self.hit5, 4), "mrr": round(self.mrr, 4)}


def parse_qa(text: str) -> list[QA]:
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append(QA(str(row["question"]).strip(), str(row["source"]).strip()))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise UserError("errors.eval.line_qa_list_json", number=number) from exc
    if not items:
        raise UserError("errors.eval.qa_list_empty")
    return items


def rank_of(sources: list[str], target: str) -> int:
    distinct: list[str] = []
    for s in sources:
        if s not in distinct:
            distinct.append(s)
    return distinct.index(target) + 1 if target in distinct else 0


def evaluate(manager, kb: str, items: list[QA], mode: str = "hybrid", progress=None) -> EvalResult:
    rows = []
    aliases = manager.get(kb).manifest.aliases()  # a duplicate file is found through its twin
    for i, qa in enumerate(items):
        hits = manager.search(kb, qa.question, k=SEARCH_DEPTH, mode=mode)
        rank = rank_of([h.source for h in hits], aliases.get(qa.source, qa.source))
        rows.append({"question": qa.question, "source": qa.source, "rank": rank, "top": hits[0].source if hits else ""})
        if progress:
            progress(i + 1, len(items))
    n = len(rows)
    return EvalResult(
        n=n,
        hit1=sum(r["rank"] == 1 for r in rows) / n,
        hit5=sum(0 < r["rank"] <= 5 for r in rows) / n,
        mrr=sum(1 / r["rank"] for r in rows if r["rank"]) / n,
        rows=rows,
    )
