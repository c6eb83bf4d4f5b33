"""What every page shows in the sidebar: the language switch and the model's state."""

from __future__ import annotations

import streamlit as st

from components.errors import job_error
from components.i18n import t
from components.resources import runtime
from core.models.manager import LOAD_JOB


def _loading_job():
    return next((j for j in runtime().jobs.list(LOAD_JOB) if j.active), None)


def _load_error(rt) -> str:
    """The last load failure, in the UI language when its job recorded one."""
    failed = next((j for j in rt.jobs.list(LOAD_JOB) if j.status == "failed"), None)
    return job_error(failed) if failed is not None and failed.error == rt.models.last_error else rt.models.last_error


def model_status() -> None:
    """The model's state; while it loads, the box polls and reruns the page once it is ready."""
    loading_now = _loading_job() is not None

    @st.fragment(run_every=2.0 if loading_now else None)
    def _status_box() -> None:
        rt = runtime()
        loading = _loading_job()
        if loading is not None:
            st.info(t("model.loading", message=loading.message or "…"), icon="⏳")
        elif loading_now:
            st.rerun()  # the load just ended (ready or failed): redraw the whole page once
        elif rt.models.engine is not None:
            st.success(t("model.loaded", name=rt.models.engine.info.name), icon="🧠")
        elif rt.models.last_error:
            st.error(t("model.load_failed", error=_load_error(rt)))
        else:
            st.warning(t("model.none"))

    with st.sidebar:
        _status_box()
