"""Preference pairs as a file: one JSON object per line with `prompt`, `chosen`, `rejected`.

This is the layout TRL's DPO trainer reads (its "standard" preference format), so a file
exported here trains elsewhere too. Reading reports every bad line by number instead of
skipping it silently: a pair that is dropped without a word changes what is learnt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from core.errors import UserError
from core.i18n import Message, msg

KEYS = ("prompt", "chosen", "rejected")
MAX_PROBLEMS = 20


@dataclass
class PairSet:
    """The pairs of one file, with the lines they came from and what was wrong with the others."""

    name: str
    pairs: list[dict[str, str]]
    lines: list[int]
    problems: list[tuple[int, Message]] = field(default_factory=list)
    sha256: str = ""

    def require_valid(self) -> None:
        if self.problems:
            line, problem = self.problems[0]
            raise UserError(msg("pref.file_problems", name=self.name, count=len(self.problems), line=line,
                                problem=problem), msg("pref.file_problems.hint"))
        if not self.pairs:
            raise UserError(msg("pref.file_empty", name=self.name), msg("pref.file_empty.hint"))

    def preview(self, limit: int = 20) -> list[dict]:
        return [{"line": line, **pair} for line, pair in zip(self.lines[:limit], self.pairs[:limit])]

    def prompts(self) -> list[str]:
        """Distinct prompts in file order (what a re-compare asks again)."""
        return list(dict.fromkeys(p["prompt"] for p in self.pairs))

    def card_info(self) -> dict:
        """What an adapter card records of its training data: the hash identifies the vote set."""
        return {"name": self.name, "format": "preference", "sha256": self.sha256, "records": len(self.pairs)}


def _check(item: object) -> dict[str, str] | Message:
    if not isinstance(item, dict):
        return msg("pref.row_not_object")
    missing = [k for k in KEYS if k not in item]
    if missing:
        return msg("pref.row_missing", keys=", ".join(missing))
    if not all(isinstance(item[k], str) for k in KEYS):
        return msg("pref.row_not_text")
    if not all(item[k].strip() for k in KEYS):
        return msg("pref.row_empty")
    if item["chosen"].strip() == item["rejected"].strip():
        return msg("pref.row_same")
    return {k: item[k] for k in KEYS}


def parse(name: str, data: bytes) -> PairSet:
    """Read a preference JSONL file; bad lines become numbered problems (the first 20 are kept)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(msg("pref.not_utf8", name=name), msg("pref.not_utf8.hint")) from exc
    result = PairSet(name=name, pairs=[], lines=[], sha256=hashlib.sha256(data).hexdigest())
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            checked = _check(json.loads(line))
        except ValueError:
            checked = msg("pref.row_not_json")
        if isinstance(checked, Message):
            if len(result.problems) < MAX_PROBLEMS:
                result.problems.append((number, checked))
            continue
        result.pairs.append(checked)
        result.lines.append(number)
    return result


def to_jsonl(pairs: list[dict[str, str]]) -> bytes:
    """UTF-8 JSONL with Chinese kept readable (not \\u-escaped), one pair per line."""
    return "".join(json.dumps({k: p[k] for k in KEYS}, ensure_ascii=False) + "\n" for p in pairs).encode("utf-8")
