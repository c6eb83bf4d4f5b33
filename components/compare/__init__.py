"""The Compare page's parts: setup, side-by-side run, blind vote, tally, leaderboard, re-compare."""
