"""Training curves: loss (train and held-out), gradient norm and learning rate, from a job's metrics.

The same drawing serves the live job panel (metrics as they are recorded) and the adapter
card (the curve kept with the adapter), so a finished adapter still shows how it trained.
A series with no point (no validation slice, an older card) is left out, never drawn as None.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from components.i18n import t


def _series(metrics: list[dict], key: str, label: str) -> list[dict]:
    return [{"step": m["step"], "series": label, "value": m[key]} for m in metrics if m.get(key) is not None and "step" in m]


def _line(rows: list[dict], title: str, log: bool = False) -> alt.Chart:
    scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    return alt.Chart(pd.DataFrame(rows)).mark_line(point=len(rows) < 60).encode(
        x=alt.X("step:Q", title=t("ft.jobs.step")), y=alt.Y("value:Q", title=title, scale=scale),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("series:N", title=None), alt.Tooltip("step:Q", title=t("ft.jobs.step")),
                 alt.Tooltip("value:Q", format=".4g", title=title)],
    ).properties(height=200)


def training_charts(metrics: list[dict], key: str) -> None:
    """Loss (train + validation), then gradient norm and learning rate side by side; nothing before step 1."""
    loss = _series(metrics, "loss", t("ft.jobs.train_loss")) + _series(metrics, "val_loss", t("ft.jobs.val_loss"))
    if not loss:
        return
    st.altair_chart(_line(loss, t("ft.jobs.loss")), width="stretch", key=f"{key}-loss")
    grad, lr = _series(metrics, "grad_norm", t("ft.jobs.grad_norm")), _series(metrics, "lr", t("ft.jobs.lr"))
    c1, c2 = st.columns(2)
    if grad:
        c1.altair_chart(_line(grad, t("ft.jobs.grad_norm"), log=True), width="stretch", key=f"{key}-grad")
    if lr:
        c2.altair_chart(_line(lr, t("ft.jobs.lr")), width="stretch", key=f"{key}-lr")
