"""Follow-up questions ("那它需要多少显存？"): searched as typed vs rewritten from the chat history
(core.kb.followup's rule; the model rewrite needs a >= 1B model and is not measured here), on
bench/data/datawhale_followups.jsonl, with the knowledge base's real search.

    .venv/bin/python bench/followups.py --data-dir DIR --kb NAME
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import devset  # noqa: E402
from core.config import Settings  # noqa: E402
from core.kb import eval as kb_eval  # noqa: E402
from core.kb import followup  # noqa: E402
from core.kb.manager import KnowledgeBaseManager  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--kb", default="datawhale")
    args = parser.parse_args()
    kbs = KnowledgeBaseManager(Settings(data_dir=args.data_dir, load_on_start=False))
    aliases = kbs.get(args.kb).manifest.aliases()
    rows = devset.load(devset.FOLLOWUPS)
    ways = {
        "as typed": lambda r: r["question"],
        "previous + follow-up": lambda r: f"{followup.last_user_questions(r['history'], 1)[0]} {r['question']}",
        "rule rewrite (default)": lambda r: followup.standalone(r["question"], r["history"])[0],
    }
    print(f"{len(rows)} follow-ups on '{args.kb}'")
    print(f"{'query':24} {'hit@1':>6} {'hit@5':>6} {'MRR':>6}")
    for name, make in ways.items():
        ranks = []
        for r in rows:
            hits = kbs.search(args.kb, make(r), kb_eval.SEARCH_DEPTH)
            ranks.append(kb_eval.rank_of([h.source for h in hits], aliases.get(r["source"], r["source"])))
        n = len(ranks)
        print(f"{name:24} {sum(k == 1 for k in ranks) / n:6.3f} {sum(0 < k <= 5 for k in ranks) / n:6.3f} {sum(1 / k for k in ranks if k) / n:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
