"""Votes and Chat ratings → training files: preference pairs for DPO, good answers for SFT.

A decisive blind vote (A or B better) is a pair: the winner's answer is `chosen`, the
loser's `rejected`. A tie or "both bad" says nothing about which answer is better, so it
stays a vote and never becomes a pair. In Chat, a 👍 and a 👎 answer to the same single
question (Regenerate makes the second) are a pair too; every 👍 answer is an SFT record.

Some prompts are held out of the pairs file (a fixed share, chosen by hash so the same
votes always hold out the same prompts): a re-compare asks them too, which shows whether
the new adapter learnt the preference or only the training prompts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.tuning import pairs as pairfile
from core.compare.feedback import Feedback
from core.compare.votes import Vote

PAIRS_NAME = "votes-pairs.jsonl"
SFT_NAME = "chat-sft.jsonl"
HELDOUT_SUFFIX = ".heldout.json"
HELDOUT_SHARE = 0.2
MIN_PROMPTS_TO_HOLD_OUT = 5


def pairs_from_votes(votes: Iterable[Vote]) -> list[dict[str, str]]:
    out = []
    for v in votes:
        if v.choice not in ("A", "B") or not v.prompt.strip():
            continue
        chosen, rejected = (v.answer_a, v.answer_b) if v.choice == "A" else (v.answer_b, v.answer_a)
        if chosen.strip() and rejected.strip() and chosen.strip() != rejected.strip():
            out.append({"prompt": v.prompt, "chosen": chosen, "rejected": rejected})
    return out


def _single_question(item: Feedback) -> bool:
    return sum(m.get("role") == "user" for m in item.messages) == 1


def pairs_from_feedback(feedback: Iterable[Feedback]) -> list[dict[str, str]]:
    """Every 👍 × 👎 answer to the same single question (same system prompt too)."""
    groups: dict[str, dict[str, list[str]]] = {}
    for item in feedback:
        if _single_question(item):
            key = json.dumps(item.messages, ensure_ascii=False, sort_keys=True)
            groups.setdefault(key, {"up": [], "down": []})[item.rating].append(item.answer)
    out = []
    for key, rated in groups.items():
        prompt = next(m["content"] for m in json.loads(key) if m.get("role") == "user")
        out += [{"prompt": prompt, "chosen": up, "rejected": down}
                for up in rated["up"] for down in rated["down"] if up.strip() != down.strip()]
    return out


def sft_records(feedback: Iterable[Feedback]) -> list[dict]:
    """👍 answers as `messages` records (the conversation they answered, then the answer)."""
    return [{"messages": [*item.messages, {"role": "assistant", "content": item.answer}]}
            for item in feedback if item.rating == "up"]


def _dedupe(items: list[dict]) -> list[dict]:
    return list({json.dumps(i, ensure_ascii=False, sort_keys=True): i for i in items}.values())


def held_out(prompts: list[str]) -> set[str]:
    """The prompts kept out of training: the lowest-hashed HELDOUT_SHARE of them (none when there are few)."""
    distinct = list(dict.fromkeys(prompts))
    if len(distinct) < MIN_PROMPTS_TO_HOLD_OUT:
        return set()
    ranked = sorted(distinct, key=lambda p: hashlib.sha256(p.encode("utf-8")).hexdigest())
    return set(ranked[: round(len(distinct) * HELDOUT_SHARE)])


@dataclass
class Export:
    """What one export wrote; paths are None when there was nothing of that kind."""

    pairs_path: Path | None
    sft_path: Path | None
    pairs: int
    sft: int
    heldout: list[str]
    sha256: str  # of the pairs file: the vote set's identity on the adapter card


def export(save, votes: Iterable[Vote], feedback: Iterable[Feedback]) -> Export:
    """Write the pairs (minus held-out prompts) and the SFT records with `save(name, bytes) -> Path`
    (the Fine-tune datasets folder, named by content hash, so exporting twice keeps one copy)."""
    feedback = list(feedback)
    pairs = _dedupe(pairs_from_votes(votes) + pairs_from_feedback(feedback))
    heldout = held_out([p["prompt"] for p in pairs])
    train = [p for p in pairs if p["prompt"] not in heldout]
    sft = _dedupe(sft_records(feedback))
    ordered = [p for p in dict.fromkeys(x["prompt"] for x in pairs) if p in heldout]  # in vote order
    pairs_path = sft_path = None
    data = pairfile.to_jsonl(train)
    if train:
        pairs_path = save(PAIRS_NAME, data)
        heldout_path(pairs_path).write_text(json.dumps(ordered, ensure_ascii=False), encoding="utf-8")
    if sft:
        sft_path = save(SFT_NAME, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sft).encode("utf-8"))
    return Export(pairs_path, sft_path, len(train), len(sft), ordered, hashlib.sha256(data).hexdigest())


def heldout_path(pairs_path: Path) -> Path:
    return pairs_path.with_name(pairs_path.name + HELDOUT_SUFFIX)


def read_heldout(pairs_path: Path) -> list[str]:
    """The held-out prompts saved beside a pairs file; [] when none were (or the file is unreadable)."""
    try:
        prompts = json.loads(heldout_path(pairs_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [p for p in prompts if isinstance(p, str) and p.strip()] if isinstance(prompts, list) else []


def exported(folder: Path) -> list[Path]:
    """Pairs and SFT files exported so far, newest first."""
    files = [p for p in folder.glob("*.jsonl") if p.name.endswith((f"-{PAIRS_NAME}", f"-{SFT_NAME}"))]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


def is_pairs_file(path: Path) -> bool:
    return path.name.endswith(PAIRS_NAME)
