"""The leaderboard across all blind runs: ratings with 95% intervals, the win-rate matrix, CSV export."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from components.chat.view import variant_label
from components.i18n import t
from core.compare.leaderboard import Board, leaderboard, to_csv
from core.compare.votes import Vote


@st.cache_data(max_entries=8, show_spinner=False)
def _board(votes: tuple[tuple, ...], cap: int, tag: str | None) -> Board:
    """Cached per vote set: the bootstrap refits the model a few hundred times."""
    fields = ("a", "b", "choice", "voter", "tag")
    return leaderboard([Vote(**dict(zip(fields, v))) for v in votes], cap=cap, tag=tag)


def ratings_chart(board: Board) -> alt.Chart:
    """One row per variant, best on top: the rating as a dot, its bootstrap interval as a bar."""
    data = pd.DataFrame([{"variant": variant_label(r.variant), "rating": r.rating, "lo": r.low, "hi": r.high, "n": r.votes}
                         for r in board.ratings])
    y = alt.Y("variant:N", sort=None, title=t("compare.lb.variant"), axis=alt.Axis(labelOverlap=False, labelLimit=300))
    scale = alt.Scale(zero=False)
    bar = alt.Chart(data).mark_rule(strokeWidth=3).encode(x=alt.X("lo:Q", scale=scale, title=t("compare.lb.rating")), x2="hi:Q", y=y)
    dot = alt.Chart(data).mark_circle(size=120).encode(
        x=alt.X("rating:Q", scale=scale, title=t("compare.lb.rating")), y=y,
        tooltip=[alt.Tooltip("variant:N", title=t("compare.lb.variant")), alt.Tooltip("rating:Q", format=".0f", title=t("compare.lb.rating")),
                 alt.Tooltip("lo:Q", format=".0f", title=t("compare.col.lo")), alt.Tooltip("hi:Q", format=".0f", title=t("compare.col.hi")),
                 alt.Tooltip("n:Q", title=t("compare.col.n"))])
    return (bar + dot).properties(height=max(80, 45 * len(data)))


def matrix_frame(board: Board) -> pd.DataFrame:
    """Row variant's observed share of votes won against the column variant (ties count half); "—" if they never met."""
    m = board.matrix.rename(index=variant_label, columns=variant_label)
    return m.map(lambda x: "—" if pd.isna(x) else f"{x:.0%}").rename_axis(t("compare.lb.variant"))


def show_leaderboard(votes: list[Vote], cap: int) -> None:
    st.subheader(t("compare.lb.title"), help=t("compare.lb.help"))
    tags = sorted({v.tag for v in votes if v.tag})
    choice = st.selectbox(t("compare.lb.tag"), [None, *tags], format_func=lambda x: t("compare.lb.all_tags") if x is None else x,
                          key="lb-tag") if tags else None
    key = tuple((v.a, v.b, v.choice, v.voter, v.tag) for v in votes)
    with st.spinner(t("compare.lb.fitting")):
        board = _board(key, cap, choice)
    if not board.ratings:
        st.caption(t("compare.lb.empty"))
        return
    st.altair_chart(ratings_chart(board), width="stretch")
    table = pd.DataFrame([{t("compare.lb.rank"): i, t("compare.lb.variant"): variant_label(r.variant), t("compare.lb.rating"): round(r.rating),
                           t("compare.col.interval"): f"{r.low:.0f}–{r.high:.0f}", t("compare.lb.votes"): r.votes}
                          for i, r in enumerate(board.ratings, 1)])
    st.dataframe(table, hide_index=True, width="stretch")
    st.markdown(f"**{t('compare.lb.matrix')}**")
    st.dataframe(matrix_frame(board), width="stretch")
    st.caption(t("compare.lb.note", used=board.votes, capped=board.capped, cap=cap))
    st.download_button(t("compare.lb.export"), to_csv(board), "leaderboard.csv", "text/csv", key="lb-csv")
