"""Training jobs: live step/epoch/ETA/speed, the charts (loss, validation loss, gradient norm, learning rate), Cancel, Resume.

The list is read from the job registry, so it survives a refresh and an app restart; the
live part is a fragment that polls only while its job is active, about twice per optimizer step.
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


POLL_SECONDS = (1.0, 2.0, 5.0)


def poll_every(job: Job | None) -> float | None:
    """Seconds between two reads of an active job (None when it is not active): about twice per
    optimizer step, from 1 s (before the first step has finished, or quick steps) to 5 s.

    Why not always 1 s: each poll runs the fragment in the process that trains and redraws four
    charts in the browser. On 2 busy cores, polling every second slowed 12-second steps by 1.5x
    (tests/e2e/test_finetune_browser.py), while it shows nothing new between two steps."""
    if job is None or not job.active:
        return None
    d = job.details
    left = (d.get("total_steps") or 0) - (d.get("step") or 0)
    eta = d.get("eta_seconds")
    per_step = eta / left if eta and left > 0 else 0.0
    return max((p for p in POLL_SECONDS if p <= per_step / 2), default=POLL_SECONDS[0])


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
    interval = poll_every(first)

    @st.fragment(run_every=interval)
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
            if poll_every(job) != interval:
                st.rerun()  # a fragment's period is fixed when it is made: the page makes it anew at the new one
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
