"""Fine-tune step 3 and what the page remembers: the adapter name, the Start button and why it is off.

Streamlit forgets a widget's value when its page is not drawn (another page was opened) and
on reload, so the page's choices are kept on disk by `FineTuner.remember_form` and put back
into the widgets' keys before they are drawn (`restore`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components import errors
from components.finetune.dataset import STATE
from components.i18n import t
from core.errors import UserError
from core.tuning.presets import PRESETS, TrainConfig

NAME, PERSONA, PRESET = "ft-name", "ft-persona", "ft-preset"
AUTO = "ft-name-suggested"  # the name the page prefilled, so it can follow the dataset until the user types one
STARTED = "ft-started"
JOB = "ft-job"  # the job this session started last  # set for one rerun after Start, to say so above the (now disabled) button


def restore(ft) -> None:
    """Put the last dataset, persona, preset and name back when this session has none of them."""
    form = ft.form()
    if STATE not in st.session_state and form.get("dataset"):
        st.session_state[STATE] = form["dataset"]
    if PERSONA not in st.session_state and isinstance(form.get("persona"), str):
        st.session_state[PERSONA] = form["persona"]
    if PRESET not in st.session_state and form.get("preset") in PRESETS:
        st.session_state[PRESET] = form["preset"]
    last = str(form.get("name") or "").strip()
    if NAME not in st.session_state and last and not ft.name_taken(last):
        st.session_state[NAME] = last
        if form.get("name_suggested"):  # still the page's suggestion: it follows the next dataset
            st.session_state[AUTO] = last


def _suggest(ft) -> None:
    """Prefill an unused name from the dataset's file name; a suggestion (never a typed name) follows
    a new dataset and moves on once its adapter exists or a job took it."""
    chosen = st.session_state.get(STATE) or {}
    current = st.session_state.get(NAME)
    if current is None or (current == st.session_state.get(AUTO) and (
            ft.name_taken(current) or current != ft.suggest_name(chosen.get("name")))):
        st.session_state[NAME] = st.session_state[AUTO] = ft.suggest_name(chosen.get("name"))


def remember(ft) -> None:
    ft.remember_form({"dataset": st.session_state.get(STATE), "persona": st.session_state.get(PERSONA, ""),
                      "preset": st.session_state.get(PRESET), "name": st.session_state.get(NAME, ""),
                      "name_suggested": st.session_state.get(NAME) == st.session_state.get(AUTO)})


def _blocked(ft, dataset, name: str, active) -> str | None:
    """Why Start is off, in the UI language (None: it can start)."""
    try:
        ft.trainer()
    except UserError:  # shown above the settings (the page's warning names the reason)
        return t("ft.start.cannot_train")
    if dataset is None:
        return t("ft.start.need_data")
    if active is not None:
        return t("ft.start.busy", name=active.params.get("name", ""))
    if not name:
        return t("ft.start.need_name")
    if ft.name_taken(name):
        return t("ft.start.taken", name=name)
    return None


def start_section(ft, dataset, config: TrainConfig | None, chosen_key: str = STATE) -> None:
    """`chosen_key`: the session key of the file to train on (the DPO preset's pairs live apart)."""
    st.subheader(t("ft.start.header"))
    _suggest(ft)
    name = st.text_input(t("ft.start.name"), key=NAME, help=t("ft.start.name_help")).strip()
    active = ft.active()
    reason = _blocked(ft, dataset, name, active)
    if st.session_state.pop(STARTED, False):
        st.success(t("ft.start.started"))
    if st.button(t("ft.start.button"), type="primary", disabled=reason is not None, key="ft-start"):
        with errors.guard() as outcome:
            chosen = st.session_state[chosen_key]
            job = ft.start(Path(chosen["path"]), name, config, dataset_name=chosen["name"])
        if not outcome.failed:
            st.session_state[STARTED] = True
            st.session_state[JOB] = job.id  # the Train tab keeps showing it (and its result) after it ends
            remember(ft)
            st.rerun()  # redraw with the job running: the button off, the live panel below
    if reason is not None and not st.session_state.get(STARTED):
        st.caption(reason)
