"""The tally of blind votes per pair: a win-rate chart with 95% intervals, counts, CSV export."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from components.chat.view import variant_label
from components.i18n import t
from core.compare.votes import PairTally, Vote, tally, to_csv


def _pair(p: PairTally) -> str:
    return f"{variant_label(p.first)}{t('compare.pair_sep')}{variant_label(p.second)}"


def tally_frame(pairs: list[PairTally]) -> pd.DataFrame:
    rows = []
    for p in pairs:
        lo, hi = p.interval
        rows.append({
            t("compare.col.pair"): _pair(p),
            t("compare.col.first_wins"): p.first_wins,
            t("compare.col.second_wins"): p.second_wins,
            t("compare.col.ties"): p.ties,
            t("compare.col.both_bad"): p.both_bad,
            t("compare.col.win_rate"): None if p.win_rate is None else round(p.win_rate, 3),
            t("compare.col.interval"): f"{lo:.2f}–{hi:.2f}" if p.decisive else "—",
        })
    return pd.DataFrame(rows)


def win_rate_chart(pairs: list[PairTally]) -> alt.Chart:
    """One row per pair: the first variant's win rate as a dot, its 95% interval as a bar, 50% marked."""
    data = pd.DataFrame(
        [{"pair": _pair(p), "rate": p.win_rate, "lo": p.interval[0], "hi": p.interval[1], "n": p.decisive}
         for p in pairs if p.win_rate is not None]
    )
    scale = alt.Scale(domain=[0, 1])
    y = alt.Y("pair:N", title=t("compare.col.pair"))
    interval = alt.Chart(data).mark_rule(strokeWidth=3).encode(
        x=alt.X("lo:Q", scale=scale, title=t("compare.col.win_rate")), x2="hi:Q", y=y)
    dot = alt.Chart(data).mark_circle(size=120).encode(
        x=alt.X("rate:Q", scale=scale, axis=alt.Axis(format="%"), title=t("compare.col.win_rate")), y=y,
        tooltip=[alt.Tooltip("pair:N", title=t("compare.col.pair")), alt.Tooltip("rate:Q", format=".0%", title=t("compare.col.rate")),
                 alt.Tooltip("lo:Q", format=".0%", title=t("compare.col.lo")), alt.Tooltip("hi:Q", format=".0%", title=t("compare.col.hi")),
                 alt.Tooltip("n:Q", title=t("compare.col.n"))],
    )
    even = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(strokeDash=[4, 4], color="gray").encode(x="x:Q")
    return (interval + dot + even).properties(height=max(80, 50 * len(data)))


def show_tally(votes: list[Vote]) -> None:
    st.subheader(t("compare.tally"), help=t("help.tally"))
    if not votes:
        st.caption(t("compare.no_votes"))
        return
    pairs = tally(votes)
    if any(p.win_rate is not None for p in pairs):
        st.altair_chart(win_rate_chart(pairs), width="stretch")
    st.dataframe(tally_frame(pairs), hide_index=True, width="stretch")
    st.caption(t("compare.tally_note"))
    st.download_button(t("compare.export_csv"), to_csv(votes), "votes.csv", "text/csv", key="compare-csv")
