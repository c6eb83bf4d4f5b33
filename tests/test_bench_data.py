"""The public question lists the benches and README promise are in the repository and well formed
(a too-broad .gitignore once kept them out of every clone)."""

from __future__ import annotations

import json
from pathlib import Path

from core.kb.eval import parse_qa

BENCH_DATA = Path(__file__).resolve().parents[1] / "bench" / "data"


def test_the_datawhale_qa_list_parses_and_names_corpus_files():
    items = parse_qa((BENCH_DATA / "datawhale_qa.jsonl").read_text(encoding="utf-8"))
    assert len(items) >= 40
    assert all(qa.source.startswith("datawhale/") and qa.source.endswith(".md") for qa in items)
    assert len({qa.question for qa in items}) == len(items)


def test_the_off_topic_list_has_questions_in_both_languages():
    rows = [json.loads(line) for line in (BENCH_DATA / "offtopic.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [row["question"] for row in rows]
    assert len(questions) >= 30 and all("source" not in row for row in rows)
    assert any(q.isascii() for q in questions) and any(not q.isascii() for q in questions)
