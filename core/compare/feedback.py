"""👍/👎 on Chat answers, kept with the question that produced them so they can become training data.

One JSON line per rating, appended; a later rating of the same answer replaces the earlier
one when read (a user who changes their mind is counted once, as they decided last).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import InputError
from core.i18n import msg

RATINGS = ("up", "down")


@dataclass
class Feedback:
    rating: str  # "up" or "down"
    messages: list[dict]  # the conversation up to and including the question (system prompt first, if any)
    answer: str
    variant: str = ""  # "base" or the adapter that answered
    conversation: str = ""
    turn: int = 0  # index of the answer in the conversation, which identifies it with `conversation`
    model: str = ""
    settings: dict = field(default_factory=dict)  # what the answer's turn recorded (stats, options)
    time: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    def __post_init__(self) -> None:
        if self.rating not in RATINGS:
            raise InputError(msg("pref.bad_rating", rating=self.rating), msg("pref.bad_rating.hint"))
        if not self.answer.strip() or not any(m.get("role") == "user" for m in self.messages):
            raise InputError(msg("pref.rating_needs_answer"))

    @property
    def prompt(self) -> str:
        """The last question asked (what a single-turn preference pair is about)."""
        return next(m["content"] for m in reversed(self.messages) if m.get("role") == "user")


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def add(self, feedback: Feedback) -> None:
        line = json.dumps(asdict(feedback), ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def all(self) -> list[Feedback]:
        """Every rated answer once, with its latest rating; unreadable lines (a torn write) are skipped."""
        if not self.path.exists():
            return []
        latest: dict[tuple, Feedback] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                item = Feedback(**json.loads(line))
            except (ValueError, TypeError, KeyError, StopIteration, InputError):
                continue
            key = (item.conversation, item.turn, item.answer) if item.conversation else (len(latest), item.answer)
            latest.pop(key, None)
            latest[key] = item
        return list(latest.values())

    def rating_of(self, conversation: str, turn: int, answer: str) -> str | None:
        return next((f.rating for f in self.all() if (f.conversation, f.turn, f.answer) == (conversation, turn, answer)), None)
