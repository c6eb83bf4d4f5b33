"""Comparing variants: runs side by side, blind votes and Chat ratings, the leaderboard, prompt lists."""
