"""What every page shows in the sidebar: the language switch and the model's state."""

from __future__ import annotations

import streamlit as st

from components.errors import job_message
from components.i18n import lang, t
from components.model_notes import demo_badge
from components.resources import runtime
from core.models.manager import LOAD_JOB


def _loading_job():
    return next((j for j in runtime().jobs.list(LOAD_JOB) if j.active), None)


def model_status() -> None:
    """The model's state; while it loads, the box polls and reruns the page once it is ready."""
    loading_now = _loading_job() is not None

    @st.fragment(run_every=2.0 if loading_now else None)
    def _status_box() -> None:
        rt = runtime()
        loading = _loading_job()
        if loading is not None:
            st.info(t("model.loading", message=job_message(loading) or "…"), icon="⏳")
        elif loading_now:
            st.rerun()  # the load just ended (ready or failed): redraw the whole page once
        elif rt.models.engine is not None:
            st.success(t("model.loaded", name=rt.models.engine.info.name), icon="🧠")
            demo_badge(rt.models.engine)
        elif rt.models.last_error:
            st.error(t("model.load_failed", error=rt.models.last_error.render(lang())))
        else:
            st.warning(t("model.none"))

    with st.sidebar:
        _status_box()
