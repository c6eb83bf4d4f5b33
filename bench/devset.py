"""The retrieval development set: questions written by reading ../shared/corpus/datawhale, each with the
one file that answers it best and a verbatim evidence span from that file.

Rules (checked by tests/test_bench_devset.py): the evidence is verbatim in the named file and in no file
with other content; a question is "paraphrased" when it shares no run of 8+ characters with its evidence
(about 3/4 are); at least a third are English questions about Chinese files; all five repositories appear.
The split is fixed by a hash of the question, so nobody picks it: tune on "dev", report "heldout".
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
DEVSET = DATA / "datawhale_dev.jsonl"
OLD = DATA / "datawhale_qa.jsonl"
FOLLOWUPS = DATA / "datawhale_followups.jsonl"
MIN_SHARED = 8  # a shared run this long means the question copies its evidence


def split_of(question: str) -> str:
    """'heldout' for half the questions, by a hash nobody tunes: never tune on them."""
    return "heldout" if int(hashlib.sha1(question.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0 else "dev"


def longest_shared_run(a: str, b: str) -> int:
    """Length of the longest common substring (case-insensitive), by dynamic programming."""
    a, b = a.lower(), b.lower()
    best, prev = 0, [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def load(path: Path = DEVSET, split: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row.setdefault("lang", "zh")
        row.setdefault("doc_lang", "zh")
    return [r for r in rows if split is None or r.get("split") == split]
