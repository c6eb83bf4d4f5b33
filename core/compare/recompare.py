"""Re-compare a preference-trained adapter with its parent, and read the verdict off the votes.

The prompts are the ones that produced the votes (on the card) plus the held-out ones the
export kept back: winning only on the first set means it learnt those prompts, winning on
both means it learnt the preference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import UserError
from core.i18n import msg
from core.models.engine import BASE
from core.adapters.store import AdapterCard
from core.compare.votes import Vote, wilson


def contestants(card: AdapterCard) -> tuple[str, str]:
    """(new adapter, its parent) for a card made by the DPO preset."""
    if card.extra.get("method") != "dpo":
        raise UserError(msg("pref.recompare_not_dpo", name=card.name), msg("pref.recompare_not_dpo.hint"))
    return card.name, card.extra.get("parent") or BASE


def prompts(card: AdapterCard, limit: int) -> tuple[list[str], list[str]]:
    """(training prompts, held-out prompts), together at most `limit`; held-out ones keep at least half
    the room when there are enough, since they are the honest half of the answer."""
    train = [p for p in card.extra.get("train_prompts", []) if isinstance(p, str) and p.strip()]
    held = [p for p in card.extra.get("heldout_prompts", []) if isinstance(p, str) and p.strip() and p not in train]
    if not train and not held:
        raise UserError(msg("pref.recompare_no_prompts", name=card.name))
    held = held[: max(limit // 2, limit - len(train))]
    return train[: limit - len(held)], held


@dataclass
class Verdict:
    wins: int  # decisive votes for the new adapter
    losses: int
    ties: int
    seen: tuple[int, int]  # (wins, decisive) on training prompts
    held: tuple[int, int]  # (wins, decisive) on held-out prompts

    @property
    def decisive(self) -> int:
        return self.wins + self.losses

    @property
    def rate(self) -> float | None:
        return self.wins / self.decisive if self.decisive else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.wins, self.decisive)

    @property
    def outcome(self) -> str:
        """"won" / "lost" when the 95% interval is clear of 50%, else "unsure"; "none" before a decisive vote."""
        if not self.decisive:
            return "none"
        lo, hi = self.interval
        return "won" if lo > 0.5 else "lost" if hi < 0.5 else "unsure"


def verdict(votes: Iterable[Vote], new: str, parent: str, heldout: Iterable[str] = ()) -> Verdict:
    """Tally the votes between `new` and `parent` (pass the votes of one run to judge that run)."""
    held_set = set(heldout)
    wins = losses = ties = 0
    seen, held = [0, 0], [0, 0]
    for v in votes:
        if {v.a, v.b} != {new, parent}:
            continue
        if v.winner is None:
            ties += 1
            continue
        won = v.winner == new
        wins, losses = wins + won, losses + (not won)
        bucket = held if v.prompt in held_set else seen
        bucket[0] += won
        bucket[1] += 1
    return Verdict(wins, losses, ties, (seen[0], seen[1]), (held[0], held[1]))
