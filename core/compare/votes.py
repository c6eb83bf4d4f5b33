"""Blind A/B votes: random sides, votes kept under the data folder, a tally per pair.

The win rate of a pair counts decisive votes only (A or B); ties and "both bad" are shown
beside it. Its uncertainty is a Wilson score interval, which stays inside 0–1 and is honest
for the ten-vote rounds users actually run (the normal approximation is not).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.csv_safe import to_csv_bytes
from core.errors import InputError
from core.models.engine import BASE
from core.i18n import msg

CHOICES = ("A", "B", "tie", "both_bad")
Z95 = 1.959963984540054


def blind_sides(prompts: int, rng: random.Random | None = None) -> list[bool]:
    """Per prompt, whether the sides are swapped (A shows the second variant)."""
    rng = rng or random.SystemRandom()
    return [rng.random() < 0.5 for _ in range(prompts)]


@dataclass
class Vote:
    a: str  # the variant shown as A
    b: str
    choice: str  # one of CHOICES
    prompt: str = ""
    answer_a: str = ""
    answer_b: str = ""
    run_id: str = ""
    model: str = ""
    voter: str = ""  # an anonymous id of the browser that voted (the leaderboard caps votes per voter)
    tag: str = ""  # the round's tag, chosen by the user (the leaderboard filters by it)
    settings: dict = field(default_factory=dict)  # generation options and each variant's system prompt
    time: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    def __post_init__(self) -> None:
        if self.choice not in CHOICES:
            raise InputError(
                msg("errors.votes.unknown_vote", choice=self.choice),
                msg("errors.votes.unknown_vote.hint", choices=', '.join(CHOICES)),
            )
        if self.a == self.b:
            raise InputError("errors.votes.vote_needs_two_different")

    @property
    def winner(self) -> str | None:
        return {"A": self.a, "B": self.b}.get(self.choice)


class VoteStore:
    """All votes, one JSON line each, appended (a crash loses at most the vote being written)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def add(self, vote: Vote) -> None:
        line = json.dumps(asdict(vote), ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def all(self) -> list[Vote]:
        if not self.path.exists():
            return []
        votes = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                votes.append(Vote(**json.loads(line)))
            except (ValueError, TypeError, InputError):
                continue  # a torn last line after a crash is not a vote
        return votes


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when there is no data."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class PairTally:
    first: str
    second: str
    first_wins: int = 0
    second_wins: int = 0
    ties: int = 0
    both_bad: int = 0

    @property
    def votes(self) -> int:
        return self.first_wins + self.second_wins + self.ties + self.both_bad

    @property
    def decisive(self) -> int:
        return self.first_wins + self.second_wins

    @property
    def win_rate(self) -> float | None:
        """Share of decisive votes won by `first`; None before any decisive vote."""
        return self.first_wins / self.decisive if self.decisive else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.first_wins, self.decisive)


def _pair_order(x: str, y: str) -> tuple[str, str]:
    """The base model first, otherwise alphabetical: the same pair always reads the same way."""
    return tuple(sorted((x, y), key=lambda v: (v != BASE, v)))  # type: ignore[return-value]


def tally(votes: Iterable[Vote]) -> list[PairTally]:
    pairs: dict[tuple[str, str], PairTally] = {}
    for v in votes:
        first, second = _pair_order(v.a, v.b)
        t = pairs.setdefault((first, second), PairTally(first, second))
        if v.choice == "tie":
            t.ties += 1
        elif v.choice == "both_bad":
            t.both_bad += 1
        elif v.winner == first:
            t.first_wins += 1
        else:
            t.second_wins += 1
    return [pairs[k] for k in sorted(pairs)]


CSV_COLUMNS = ("time", "model", "run_id", "prompt", "a", "b", "choice", "winner", "answer_a", "answer_b")


def to_csv(votes: Iterable[Vote]) -> bytes:
    """Votes as CSV with a UTF-8 BOM (Excel shows Chinese text correctly); prompts and answers
    that start like a formula are escaped (`core.csv_safe`), so opening the file runs nothing."""
    rows = (asdict(v) | {"winner": v.winner or v.choice} for v in votes)
    return to_csv_bytes(CSV_COLUMNS, ([row[c] for c in CSV_COLUMNS] for row in rows))
