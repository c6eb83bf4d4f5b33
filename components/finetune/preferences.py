"""Fine-tune: votes and Chat ratings as datasets (export, list, preview, use) and the DPO settings."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from components import errors
from components.finetune.dataset import STATE
from components.i18n import t
from core.models.engine import BASE
from core.tuning import pairs, preferences

PAIRS_STATE = "ft-dpo-dataset"  # {"path", "name"} of the preference pairs DPO trains on
PRESET = "ft-preset"
PREVIEW_ROWS = 20


def _use(path: Path) -> None:
    """Pick an exported file for training; a pairs file also switches to the DPO preset (and back)."""
    chosen = {"path": str(path), "name": path.name}
    if preferences.is_pairs_file(path):
        st.session_state[PAIRS_STATE] = chosen
        st.session_state[PRESET] = "dpo"
    else:
        st.session_state[STATE] = chosen
        if st.session_state.get(PRESET) == "dpo":
            st.session_state[PRESET] = "quick"


def _rows(path: Path) -> list[dict]:
    """The preview rows of an exported file (Chinese kept; a conversation shown as its turns)."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()[:PREVIEW_ROWS], 1):
        item = json.loads(line)
        if "messages" in item:
            item = {"messages": " / ".join(f"{m['role']}: {m['content']}" for m in item["messages"])}
        rows.append({"line": number, **item})
    return rows


def export_section(rt) -> None:
    """Counts of what was voted and rated, the export button, and every exported dataset."""
    votes, feedback = rt.votes, rt.feedback
    all_votes, ratings = votes.all(), feedback.all()
    with st.expander(t("pref.header"), expanded=st.session_state.get(PRESET) == "dpo"):
        st.caption(t("pref.counts", votes=len(all_votes), decisive=sum(v.winner is not None for v in all_votes),
                     up=sum(r.rating == "up" for r in ratings), down=sum(r.rating == "down" for r in ratings)))
        if st.button(t("pref.export"), key="pref-export", icon="📤"):
            with errors.guard():
                result = preferences.export(rt.finetune.save_dataset, all_votes, ratings)
                if result.pairs_path is None and result.sft_path is None:
                    st.info(t("pref.nothing"))
                else:
                    st.success(t("pref.exported", pairs=result.pairs, heldout=len(result.heldout), sft=result.sft))
        files = preferences.exported(rt.finetune.folder / "datasets")
        if files:
            st.markdown(f"**{t('pref.datasets')}**")
        for path in files:
            kind = "pairs" if preferences.is_pairs_file(path) else "sft"
            records = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
            stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
            c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="center")
            c1.markdown(t("pref.dataset_row", kind=t(f"pref.kind.{kind}"), records=records, time=stamp))
            c2.button(t("pref.use"), key=f"pref-use-{path.name}", on_click=_use, args=(path,))
            c3.download_button(t("pref.download"), path.read_bytes(), path.name.split("-", 1)[1], "application/jsonl",
                               key=f"pref-dl-{path.name}")
            with st.popover(t("pref.preview")):
                frame = pd.DataFrame(_rows(path))
                st.dataframe(frame.rename(columns=lambda c: t(f"pref.col.{c}")), hide_index=True, width="stretch")


@st.cache_data(show_spinner=False, max_entries=4)
def _parse(path: str, name: str) -> pairs.PairSet:
    return pairs.parse(name, Path(path).read_bytes())


def pairs_section(rt) -> pairs.PairSet | None:
    """The preference pairs DPO will train on (picked with "Use for training"); None until valid."""
    st.subheader(t("ft.data.header"))
    chosen = st.session_state.get(PAIRS_STATE)
    if not chosen or not Path(chosen["path"]).is_file():
        st.info(t("pref.need_pairs"), icon="⚖️")
        return None
    with errors.guard() as outcome:
        pairset = _parse(chosen["path"], chosen["name"])
        pairset.require_valid()
    if outcome.failed:
        return None
    st.info(t("pref.current", name=chosen["name"].split("-", 1)[-1], records=len(pairset.pairs)), icon="⚖️")
    return pairset


def dpo_settings(rt) -> dict:
    """Parent and β for a DPO run."""
    names = [c.name for c in rt.adapter_pool.compatible()]
    labels = {BASE: t("pref.parent_base"), **{n: f"🧩 {n}" for n in names}}
    c1, c2 = st.columns([3, 1])
    parent = c1.selectbox(t("pref.parent"), list(labels), format_func=labels.get, key="ft-dpo-parent",
                          help=t("pref.parent_help"))
    beta = c2.number_input(t("pref.beta"), 0.01, 10.0, 0.1, step=0.05, key="ft-dpo-beta", help=t("pref.beta_help"))
    return {"parent": "" if parent == BASE else parent, "beta": float(beta)}
