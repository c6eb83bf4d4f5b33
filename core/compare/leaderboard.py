"""A leaderboard across every blind run: Bradley–Terry ratings on the Elo scale, with bootstrap intervals.

The pair tally (core.compare.votes) answers "did A beat B"; with several adapters, base and
checkpoints voted in different pairs, one scale is needed. Bradley–Terry models
P(i beats j) = 1 / (1 + 10^((R_j − R_i) / 400)), fitted by maximum likelihood as a logistic
regression without intercept (scikit-learn, the way LMSYS's Chatbot Arena does it) on one
row per distinct (pair, outcome), weighted by how many votes it has: +1 in A's column, −1 in B's.

Ties: a "tie" or "both bad" vote counts as half a win for each side (two rows, one won
by each, at weight ½), the usual Bradley–Terry treatment of draws (and the Arena's). Every
vote is also entered mirrored, so the fit always sees both outcomes and is symmetric.

Votes per voter are capped (`cap`): each voter's first `cap` votes count, later ones are
left out, so one enthusiastic tester cannot decide the board. Votes without a voter id
(older files, the CLI) form one voter "".

Intervals are percentile bootstrap 95% intervals: votes resampled with replacement,
`rounds` times, from a seeded generator (the same votes give the same board). A tiny L2
penalty keeps ratings finite when one variant won every vote (MLE would diverge); ratings
are shifted so their mean is 1000.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.csv_safe import to_csv_bytes
from core.compare.votes import Vote

SCALE = 400.0
ANCHOR = 1000.0
ROUNDS = 200
SEED = 20240501
PENALTY_C = 1e3  # inverse L2 strength: negligible against hundreds of votes, finite for an unbeaten variant


@dataclass
class Rating:
    variant: str
    rating: float
    low: float  # bootstrap 2.5th percentile
    high: float  # bootstrap 97.5th percentile
    votes: int  # votes the variant took part in (after the cap and the filter)
    wins: float  # ties count ½


@dataclass
class Board:
    ratings: list[Rating]  # best first
    matrix: pd.DataFrame  # row variant's share of votes won against the column variant (ties ½); NaN if never met
    votes: int  # votes used
    capped: int  # votes left out by the per-voter cap


def cap_votes(votes: Iterable[Vote], cap: int | None) -> tuple[list[Vote], int]:
    """Each voter's first `cap` votes (in file order, i.e. time order); and how many were left out."""
    kept, seen, dropped = [], {}, 0
    for v in votes:
        n = seen.get(v.voter, 0)
        if cap is not None and n >= cap:
            dropped += 1
            continue
        seen[v.voter] = n + 1
        kept.append(v)
    return kept, dropped


def _outcome(v: Vote) -> float:
    """1 when the variant shown as A won, 0 when B won, ½ for a tie or "both bad"."""
    return {"A": 1.0, "B": 0.0}.get(v.choice, 0.5)


def _rows(votes: Sequence[Vote], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (A, B, score) triples and, per vote, which triple it is.

    Votes with the same pair and outcome are the same row of the fit, so the regression runs on
    at most a few rows per pair weighted by their counts (the same objective as one row per vote),
    and a bootstrap round only recounts them: 400 votes × 200 rounds stay well under a second."""
    triples = np.array([(index[v.a], index[v.b], _outcome(v)) for v in votes], dtype=float)
    distinct, which = np.unique(triples, axis=0, return_inverse=True)
    return distinct, which.ravel()


def _fit_counts(distinct: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """Bradley–Terry ratings (Elo scale, mean ANCHOR) from distinct triples seen `counts` times."""
    from sklearn.linear_model import LogisticRegression

    m = len(distinct)
    x = np.zeros((m, k))
    x[np.arange(m), distinct[:, 0].astype(int)] = 1.0
    x[np.arange(m), distinct[:, 1].astype(int)] = -1.0
    score = distinct[:, 2]
    # A win is one row won (weight 1) and one lost (weight 0); a draw one of each at weight ½.
    xs = np.vstack([x, x, -x, -x])
    ys = np.concatenate([np.ones(m), np.zeros(m), np.ones(m), np.zeros(m)])
    ws = np.concatenate([score, 1 - score, 1 - score, score]) * np.tile(counts, 4)
    keep = ws > 0
    model = LogisticRegression(fit_intercept=False, C=PENALTY_C, tol=1e-8, max_iter=1000)
    model.fit(xs[keep], ys[keep], sample_weight=ws[keep])
    ratings = model.coef_[0] * SCALE / math.log(10)
    return ratings - ratings.mean() + ANCHOR



def win_matrix(votes: Sequence[Vote], variants: Sequence[str]) -> pd.DataFrame:
    """Observed share of votes the row variant won against the column one (ties ½)."""
    won = pd.DataFrame(0.0, index=list(variants), columns=list(variants))
    met = won.copy()
    for v in votes:
        s = _outcome(v)
        won.loc[v.a, v.b] += s
        won.loc[v.b, v.a] += 1 - s
        met.loc[v.a, v.b] += 1
        met.loc[v.b, v.a] += 1
    return won / met.where(met > 0)


def _bootstrap(used: Sequence[Vote], variants: Sequence[str], rounds: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fitted ratings and `rounds` bootstrap refits (one row each), in `variants` order."""
    distinct, which = _rows(used, {name: i for i, name in enumerate(variants)})
    point = _fit_counts(distinct, np.bincount(which, minlength=len(distinct)).astype(float), len(variants))
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, len(variants)))
    for r in range(rounds):
        pick = rng.integers(0, len(used), len(used))
        samples[r] = _fit_counts(distinct, np.bincount(which[pick], minlength=len(distinct)).astype(float), len(variants))
    return point, samples


def rating_gap(votes: Iterable[Vote], a: str, b: str, rounds: int = ROUNDS, seed: int = SEED) -> tuple[float, float, float]:
    """R_a − R_b with the 95% bootstrap interval of the gap itself, from the votes between a and b only.

    The interval of a difference is not the difference of two intervals (the two ratings move
    together in a resample), so the gap is taken in every bootstrap round. A re-compare judged this
    way says how much better the new adapter is, not only whether it won."""
    used = [v for v in votes if {v.a, v.b} == {a, b}]
    if not used:
        raise ValueError(f"no votes between {a} and {b}")
    point, samples = _bootstrap(used, [a, b], rounds, seed)
    low, high = np.percentile(samples[:, 0] - samples[:, 1], [2.5, 97.5])
    return float(point[0] - point[1]), float(low), float(high)


def leaderboard(votes: Iterable[Vote], cap: int | None = None, tag: str | None = None,
                rounds: int = ROUNDS, seed: int = SEED) -> Board:
    """The board from `votes`: only those tagged `tag` when given, each voter's first `cap` counted."""
    chosen = [v for v in votes if tag is None or v.tag == tag]
    used, dropped = cap_votes(chosen, cap)
    variants = sorted({v.a for v in used} | {v.b for v in used})
    if len(variants) < 2:
        return Board([], pd.DataFrame(), len(used), dropped)
    point, samples = _bootstrap(used, variants, rounds, seed)
    low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    taken = {name: 0 for name in variants}
    wins = {name: 0.0 for name in variants}
    for v in used:
        taken[v.a] += 1
        taken[v.b] += 1
        wins[v.a] += _outcome(v)
        wins[v.b] += 1 - _outcome(v)
    ratings = [Rating(name, float(point[i]), float(low[i]), float(high[i]), taken[name], wins[name])
               for i, name in enumerate(variants)]
    ratings.sort(key=lambda r: -r.rating)
    order = [r.variant for r in ratings]
    return Board(ratings, win_matrix(used, variants).loc[order, order], len(used), dropped)


def expected_win(rating_a: float, rating_b: float) -> float:
    """P(a beats b) on the Elo scale (what a rating gap means)."""
    return 1.0 / (1.0 + 10 ** ((rating_b - rating_a) / SCALE))


CSV_COLUMNS = ("rank", "variant", "rating", "low_95", "high_95", "votes", "wins")


def to_csv(board: Board) -> bytes:
    """The board as CSV (cells made formula-safe: adapter names are user text)."""
    rows = ([rank, r.variant, round(r.rating, 1), round(r.low, 1), round(r.high, 1), r.votes, r.wins]
            for rank, r in enumerate(board.ratings, 1))
    return to_csv_bytes(CSV_COLUMNS, rows)
