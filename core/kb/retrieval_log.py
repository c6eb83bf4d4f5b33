"""The retrieval log of a knowledge base: each answered question, what was searched (after a follow-up
rewrite), the hits with their 0-1 scores, and whether the answer used them (passed the threshold).

Why: it shows what users really ask and what the base returned, and it exports as QA lines
(`{"question", "source"}`) that the user corrects and feeds to calibration (core.kb.calibrate). The
exported source is the file the answer cited first: the system's own guess, so review it before
calibrating on it. One JSONL file per base (`retrieval_log.jsonl` in its folder), trimmed to the last
MAX_ENTRIES lines; appends take a lock, so chat, API and CLI threads do not interleave lines.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

MAX_ENTRIES = 2000
FILE = "retrieval_log.jsonl"
_lock = threading.Lock()


def path_for(kb) -> Path:
    return Path(kb.folder) / FILE


def record(kb, question: str, query: str, how: str, hits: list[dict], used: bool, origin: str = "") -> None:
    """Append one entry; `hits` are the citations ({"source", "score", ...}); texts are not stored."""
    entry = {
        "time": round(time.time(), 3), "question": question, "query": query, "rewrite": how, "used": used, "origin": origin,
        "hits": [{"source": h["source"], "score": round(float(h["score"]), 4)} for h in hits],
    }
    path = path_for(kb)
    with _lock:
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > 2 * MAX_ENTRIES:  # trim rarely, not on every append
            path.write_text("\n".join(lines[-MAX_ENTRIES:]) + "\n", encoding="utf-8")


def entries(kb, limit: int = 200) -> list[dict]:
    """The newest `limit` entries, newest first; an unreadable line is skipped, not fatal."""
    path = path_for(kb)
    if not path.exists():
        return []
    out = []
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
        if len(out) >= limit:
            break
    return out


def export_qa(kb) -> str:
    """QA lines for calibration: each distinct question that was answered with the base, and the file
    its answer cited first (review before use: it is the system's own guess)."""
    seen, lines = set(), []
    for e in reversed(entries(kb, MAX_ENTRIES)):
        if e.get("used") and e.get("hits") and e["question"] not in seen:
            seen.add(e["question"])
            lines.append(json.dumps({"question": e["question"], "source": e["hits"][0]["source"]}, ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else "")
