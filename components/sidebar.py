"""What every page shows in the sidebar: the language switch and the model's state."""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from components.resources import runtime
from core.models.manager import LOAD_JOB


def model_status() -> None:
    rt = runtime()
    engine = rt.models.engine
    loading = next((j for j in rt.jobs.list(LOAD_JOB) if j.active), None)
    if loading is not None:
        st.sidebar.info(t("model.loading", message=loading.message or "…"), icon="⏳")
    elif engine is not None:
        st.sidebar.success(t("model.loaded", name=engine.info.name), icon="🧠")
    elif rt.models.last_error:
        st.sidebar.error(t("model.load_failed", error=rt.models.last_error))
    else:
        st.sidebar.warning(t("model.none"))
