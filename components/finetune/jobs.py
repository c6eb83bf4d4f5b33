"""Training jobs: live step/epoch/ETA/speed, the charts (loss, validation loss, gradient norm, learning rate), Cancel, Resume.

The list is read from the job registry, so it survives a refresh and an app restart; the
live part is a fragment that polls only while its job is active.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from components import errors
from components.i18n import t
from components.job_panel import job_title
from components.finetune.training_charts import training_charts
from core.jobs import Job


def _number(value) -> str:
    """A loss as text; "no value" in the UI's language (no validation set, or nothing measured yet)."""
    if value is None:
        return t("ft.no_value")
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _numbers(job: Job) -> None:
    d = job.details
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("ft.jobs.step"), f"{d.get('step', 0)} / {d.get('total_steps', '?')}")
    c2.metric(t("ft.jobs.epoch"), f"{d.get('epoch', 0)} / {job.params['config']['epochs']}")
    c3.metric(t("ft.jobs.speed"), f"{d.get('samples_per_second', 0):.2f}")
    eta = d.get("eta_seconds") if job.active else None
    c4.metric(t("ft.jobs.eta"), str(dt.timedelta(seconds=int(eta))) if eta is not None else "—")


def job_view(ft, job_id: str, key: str = "jobs") -> None:
    first = ft.runtime.jobs.get(job_id)

    @st.fragment(run_every=1.0 if first and first.active else None)
    def _live() -> None:
        job = ft.runtime.jobs.get(job_id)
        if job is None:
            return
        st.progress(job.progress, text=errors.job_message(job))
        _numbers(job)
        training_charts(job.metrics, f"{key}-chart-{job_id}")
        if job.error:
            st.error(errors.job_error(job))
        if job.status == "done" and job.result:
            st.success(t("ft.jobs.result", name=job.result.get("adapter"), train=_number(job.result.get("train_loss")),
                         val=_number(job.result.get("val_loss"))))
        if job.details.get("checkpoint_step") and job.status in ("cancelled", "interrupted", "failed"):
            st.caption(t("ft.jobs.checkpoint", step=job.details["checkpoint_step"]))
        c1, c2 = st.columns(2)
        if job.active:
            if c1.button(t("job.cancel"), key=f"{key}-cancel-{job_id}"):
                ft.runtime.jobs.cancel(job_id)
        elif first is not None and first.active:
            st.rerun()  # it just ended: refresh the page once (adapters list, buttons)
        else:
            if job.status in ("cancelled", "interrupted", "failed") and c1.button(t("ft.jobs.resume"), key=f"{key}-resume-{job_id}", type="primary"):
                with errors.guard():
                    ft.resume(job_id)
                    st.rerun()
            if c2.button(t("ft.jobs.delete"), key=f"{key}-delete-{job_id}"):
                with errors.guard():
                    ft.delete(job_id)
                    st.rerun()

    _live()


def jobs_section(ft) -> None:
    jobs = ft.jobs()
    if not jobs:
        st.caption(t("ft.jobs.none"))
    for job in jobs:
        when = dt.datetime.fromtimestamp(job.created).strftime("%m-%d %H:%M")
        label = f"{job_title(job)} · {t('job.status.' + job.status)} · {when}"
        with st.expander(label, expanded=job.active or job is jobs[0]):
            job_view(ft, job.id)
