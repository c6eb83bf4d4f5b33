"""Fine-tune step 1: upload a dataset, see its problems by line, a preview and token stats."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from components import errors
from components.i18n import lang, t
from components.uploads import uploader
from core.tuning import datasets
from core.tuning.examples import measure

STATE = "ft-dataset"  # {"path", "name"} of the uploaded file, saved under the data folder


def dataset_section(rt) -> datasets.Dataset | None:
    """Returns the parsed dataset when it has no problems (its path is in session state)."""
    st.subheader(t("ft.data.header"))
    upload = uploader(t("ft.data.upload"), ["json", "jsonl", "csv"], key="ft-upload")
    if upload is not None:
        with errors.guard():
            path = rt.finetune.save_dataset(upload.name, upload.getvalue())
            st.session_state[STATE] = {"path": str(path), "name": upload.name}
    chosen = st.session_state.get(STATE)
    if not chosen:
        return None
    if upload is None:  # restored from an earlier visit: say which file the summary below is about
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.info(t("ft.data.current", name=chosen["name"]), icon="📄")
        if c2.button(t("ft.data.clear"), key="ft-data-clear"):
            st.session_state[STATE] = None  # None, not absent: the page must not restore it again
            st.rerun()
    with errors.guard() as outcome:
        dataset = _parse(chosen["path"], chosen["name"])
    if outcome.failed:
        return None
    if dataset.problems:
        st.error(t("ft.data.problems", count=dataset.problem_count))
        st.code("\n".join(p.text(lang()) for p in dataset.problems), language="text")
        return None
    st.caption(t("ft.data.format", format=dataset.format, records=len(dataset.records)))
    with st.expander(t("ft.data.preview")):
        frame = pd.DataFrame(dataset.preview())
        st.dataframe(frame.rename(columns=lambda c: t(f"ft.col.{c}")), hide_index=True, width="stretch")
    return dataset


@st.cache_data(show_spinner=False, max_entries=4)
def _parse(path: str, name: str) -> datasets.Dataset:
    from pathlib import Path

    return datasets.parse(name, Path(path).read_bytes())


def stats_section(engine, chosen: dict, system_prompt: str, max_length: int, max_records: int | None) -> int:
    """Token lengths as the model will see them; returns the longest (for the memory preflight)."""
    stats = _stats(engine, engine.info.name, chosen["path"], chosen["name"], system_prompt, max_length, max_records)
    st.caption(t("ft.data.stats", mean=stats.mean, longest=max(stats.lengths), truncated=stats.truncated, max_length=max_length))
    chart = alt.Chart(pd.DataFrame(stats.histogram())).mark_bar().encode(
        x=alt.X("from:Q", bin=False, title=t("ft.data.histogram")), y=alt.Y("records:Q", title=None),
        tooltip=[alt.Tooltip("tokens", title=t("ft.col.tokens")), alt.Tooltip("records", title=t("ft.col.records"))])
    st.altair_chart(chart, width="stretch")
    return min(max(stats.lengths), max_length)


@st.cache_data(show_spinner=False, max_entries=8)
def _stats(_engine, model: str, path: str, name: str, system_prompt: str, max_length: int, max_records: int | None):
    dataset = _parse(path, name)
    subset = datasets.Dataset(dataset.name, dataset.format, dataset.records[: max_records or None], dataset.lines)
    return measure(_engine.tokenizer, _engine.model_type, subset, system_prompt, max_length)
