"""The Bradley–Terry leaderboard on votes whose true ratings are known."""

from __future__ import annotations

import csv
import io
import math
import random

import pytest

from core.compare.leaderboard import SCALE, expected_win, leaderboard, rating_gap, to_csv
from core.compare.votes import Vote


def elo_gap(p: float) -> float:
    """The rating gap at which the stronger side wins with probability p."""
    return SCALE * math.log10(p / (1 - p))


def synthetic(p_a: float, n: int, seed: int = 1, voter: str = "", tag: str = "") -> list[Vote]:
    """n votes A-vs-B where A wins with probability p_a, sides shown at random (as blind rounds do)."""
    rng = random.Random(seed)
    votes = []
    for _ in range(n):
        a_wins = rng.random() < p_a
        swapped = rng.random() < 0.5
        shown_a, shown_b = ("B", "A") if swapped else ("A", "B")
        choice = "A" if a_wins != swapped else "B"
        votes.append(Vote(a=shown_a, b=shown_b, choice=choice, voter=voter, tag=tag))
    return votes


def test_a_beating_b_80_percent_gives_the_true_gap_inside_the_interval():
    board = leaderboard(synthetic(0.8, 400))
    top, bottom = board.ratings
    assert (top.variant, bottom.variant) == ("A", "B")
    true_gap = elo_gap(0.8)  # ≈ 240.8
    gap = top.rating - bottom.rating
    assert abs(gap - true_gap) < 60  # 400 votes: the standard error of the gap is ≈ 30
    # The bootstrap interval of each rating (mean anchored at 1000) contains its true value ±gap/2.
    assert top.low <= 1000 + true_gap / 2 <= top.high
    assert bottom.low <= 1000 - true_gap / 2 <= bottom.high
    assert top.low < top.rating < top.high
    assert expected_win(top.rating, bottom.rating) == pytest.approx(board.matrix.loc["A", "B"], abs=0.01)
    assert board.matrix.loc["A", "B"] + board.matrix.loc["B", "A"] == pytest.approx(1.0)


def test_rating_gap_interval_covers_the_true_gap_and_ignores_other_pairs():
    votes = synthetic(0.8, 400)
    gap, low, high = rating_gap(votes, "A", "B")
    board = leaderboard(votes)
    assert gap == pytest.approx(board.ratings[0].rating - board.ratings[1].rating, abs=1e-6)
    assert low < elo_gap(0.8) < high and low < gap < high
    assert rating_gap(votes, "B", "A") == pytest.approx((-gap, -high, -low), abs=1e-6)
    # Votes of another pair do not move it; a pair that never met is an error, not a zero gap.
    other = [Vote(a="A", b="C", choice="B")] * 50
    assert rating_gap(votes + other, "A", "B")[0] == pytest.approx(gap, abs=1e-6)
    with pytest.raises(ValueError):
        rating_gap(votes, "A", "C")
    # 20 wins each: the gap is 0 and its interval straddles it, wider with 40 votes than with 400.
    even = [Vote(a="A", b="B", choice="A"), Vote(a="B", b="A", choice="A")] * 20
    even_gap, even_low, even_high = rating_gap(even, "A", "B")
    assert even_gap == pytest.approx(0, abs=1e-6)
    assert even_low < 0 < even_high and even_high - even_low > high - low


def test_three_variants_are_ordered_on_one_scale_from_separate_pairs():
    # A > B by 100 Elo, B > C by 100 Elo; A and C never meet, yet A ends ~200 above C.
    rng = random.Random(3)
    votes = []
    for strong, weak in (("A", "B"), ("B", "C")):
        p = expected_win(100, 0)
        for _ in range(600):
            votes.append(Vote(a=strong, b=weak, choice="A" if rng.random() < p else "B"))
    board = leaderboard(votes, rounds=100)
    assert [r.variant for r in board.ratings] == ["A", "B", "C"]
    by = {r.variant: r for r in board.ratings}
    assert 130 < by["A"].rating - by["C"].rating < 270
    assert math.isnan(board.matrix.loc["A", "C"])  # never met: no observed rate


def test_ties_and_both_bad_count_half_a_win_each():
    votes = [Vote(a="A", b="B", choice="tie")] * 10 + [Vote(a="B", b="A", choice="both_bad")] * 10
    board = leaderboard(votes, rounds=50)
    by = {r.variant: r for r in board.ratings}
    assert by["A"].rating == pytest.approx(by["B"].rating, abs=1e-6)
    assert by["A"].wins == by["B"].wins == 10
    assert board.matrix.loc["A", "B"] == 0.5
    # Adding ties to a 3:1 record pulls the estimate toward even, as half-wins should.
    decisive = [Vote(a="A", b="B", choice="A")] * 30 + [Vote(a="A", b="B", choice="B")] * 10
    plain = leaderboard(decisive, rounds=20).ratings
    tied = leaderboard(decisive + [Vote(a="A", b="B", choice="tie")] * 40, rounds=20).ratings
    assert plain[0].rating - plain[1].rating == pytest.approx(elo_gap(0.75), abs=1)
    assert tied[0].rating - tied[1].rating == pytest.approx(elo_gap(50 / 80), abs=1)


def test_an_unbeaten_variant_gets_a_finite_rating():
    board = leaderboard([Vote(a="A", b="B", choice="A")] * 5, rounds=20)
    assert all(math.isfinite(r.rating) and math.isfinite(r.low) for r in board.ratings)
    assert board.ratings[0].variant == "A"


def test_the_cap_counts_each_voters_first_votes_only():
    fan = [Vote(a="A", b="B", choice="A", voter="fan")] * 100
    others = synthetic(0.3, 40)  # forty other voters, one vote each, prefer B
    for i, v in enumerate(others):
        v.voter = f"user-{i}"
    board = leaderboard(fan + others, cap=10, rounds=50)
    assert board.votes == 50 and board.capped == 90
    uncapped = leaderboard(fan + others, rounds=50)
    assert uncapped.ratings[0].variant == "A"  # the fan alone decides without the cap
    assert board.ratings[0].rating - board.ratings[1].rating < uncapped.ratings[0].rating - uncapped.ratings[1].rating


def test_tag_filter_bootstrap_seed_and_empty_boards():
    votes = synthetic(0.8, 60, tag="persona") + synthetic(0.2, 60, seed=2, tag="facts")
    assert leaderboard(votes, tag="persona").ratings[0].variant == "A"
    assert leaderboard(votes, tag="facts").ratings[0].variant == "B"
    assert leaderboard(votes, tag="none-such").ratings == []
    assert leaderboard([]).ratings == []
    one, two = leaderboard(votes, seed=7, rounds=30), leaderboard(votes, seed=7, rounds=30)
    assert [(r.low, r.high) for r in one.ratings] == [(r.low, r.high) for r in two.ratings]


def test_csv_export_is_formula_safe():
    votes = [Vote(a="=HYPERLINK(1)", b="B", choice="A")] * 3 + [Vote(a="=HYPERLINK(1)", b="B", choice="B")]
    rows = list(csv.reader(io.StringIO(to_csv(leaderboard(votes, rounds=10)).decode("utf-8-sig"))))
    assert rows[0] == ["rank", "variant", "rating", "low_95", "high_95", "votes", "wins"]
    assert rows[1][1] == "'=HYPERLINK(1)" and rows[1][0] == "1"
    assert float(rows[1][2]) > float(rows[2][2])
