"""A live progress panel for a background job: bar, message, ETA, Cancel / Resume.

It polls the job registry from a fragment only while the job is active, so finished
pages cost nothing, and it re-attaches after a refresh because the job lives in core.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from components.errors import job_error, job_message
from components.i18n import t
from components.resources import runtime
from core.jobs import Job


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return t("job.eta", eta=str(dt.timedelta(seconds=int(seconds))))


_TITLES = {"load-model": ("job.title.load", "spec"), "merge-adapter": ("job.title.merge", "name")}


def job_title(job: Job) -> str:
    """A job's title in the UI's language where its kind has one (stored titles are English)."""
    key, param = _TITLES.get(job.kind, (None, None))
    if key is not None and param in job.params:
        return t(key, **{param: job.params[param]})
    return job.title


def job_status_line(job: Job) -> str:
    return f"**{job_title(job)}** · {t('job.status.' + job.status)}"


def job_panel(job_id: str, key: str, poll_seconds: float = 1.0) -> Job | None:
    """Render the panel; returns the latest snapshot (None if the job vanished)."""
    jobs = runtime().jobs
    job = jobs.get(job_id)
    if job is None:
        return None

    @st.fragment(run_every=poll_seconds if job.active else None)
    def _panel() -> None:
        current = jobs.get(job_id)
        if current is None:
            return
        st.markdown(job_status_line(current))
        st.progress(current.progress, text=f"{job_message(current)} {format_eta(current.eta_seconds)}".strip())
        if current.error:
            st.error(job_error(current))
        if current.active:
            if st.button(t("job.cancel"), key=f"{key}-cancel"):
                jobs.cancel(job_id)
        elif job.active:  # it just finished: refresh the whole page once to show results
            st.rerun()

    _panel()
    return job
