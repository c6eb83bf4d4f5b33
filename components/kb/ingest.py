"""Add documents: uploads and server folders become a background index job with a live per-file table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import errors
from components.kb import watch as kb_watch
from components.i18n import lang, t
from components.job_panel import job_panel
from components.kb.admin import info_line
from components.uploads import uploader
from core.i18n import Message
from core.jobs import Job
from core.kb.loaders import ARCHIVE_SUFFIXES, SUFFIXES
from core.kb.indexer import reason_of
from core.kb.manager import INDEX_JOB, KnowledgeBaseManager

UPLOAD_TYPES = sorted(s.lstrip(".") for s in SUFFIXES | ARCHIVE_SUFFIXES)


def latest_job(kbs: KnowledgeBaseManager, name: str) -> Job | None:
    """By the base's id, so a deleted base's jobs never show under a new one of the same name
    (the name only for jobs saved before ids were recorded)."""
    kb_id = kbs.get(name).config.id
    mine = (
        j for j in kbs.jobs.list(INDEX_JOB)
        if (j.params["kb_id"] == kb_id if "kb_id" in j.params else j.params.get("kb") == name)
    )
    return next(mine, None)


def add_documents(kbs: KnowledgeBaseManager, name: str, header, top) -> None:
    """The upload and folder inputs. The base's info line goes into `header` and the latest job's
    bar into `top` (containers above the tabs, in view at 1400×900 however many files the
    uploader lists), drawn after the buttons so a job started by this click is followed at once."""
    uploads = uploader(t("kb.upload"), UPLOAD_TYPES, key=f"kb-upload-{name}", multiple=True)
    if st.button(t("kb.index_uploads"), disabled=not uploads, type="primary"):
        with errors.guard():
            paths = kbs.save_uploads(name, [(f.name, f.getvalue()) for f in uploads])
            kbs.start_index(name, paths)
            st.toast(t("kb.job_started"))
    roots = ", ".join(str(r) for r in kbs.settings.kb_roots)
    folder = st.text_input(t("kb.folder"), help=t("kb.folder_help", roots=roots), placeholder=roots.split(",")[0], key="kb-folder")
    keep = st.toggle(t("kb.watch.keep"), key=f"kb-watch-new-{name}", help=t("kb.watch.keep_help", debounce=f"{kbs.settings.kb_watch_debounce_s:g}"))
    if st.button(t("kb.index_folder"), disabled=not folder.strip()):
        with errors.guard():
            if keep:  # the watcher's first sync is this index run
                kbs.watch(name, folder)
                st.toast(t("kb.watch.started"))
            else:
                kbs.start_index(name, [kbs.allowed_folder(folder)])
                st.toast(t("kb.job_started"))
    kb_watch.watched_folders(kbs, name)
    job = latest_job(kbs, name)
    with header:
        info_line(kbs, name, job)
    if job is not None:  # one bar, always in the same place: a second one would flicker beside it
        with top:
            job_panel(job.id, key=f"kb-top-{job.id}")
    if job is not None:
        show_job(kbs, job)


def show_job(kbs: KnowledgeBaseManager, job: Job) -> None:
    """Resume and the per-file table (the job's bar is drawn above the tabs)."""
    if job.status == "interrupted" and st.button(t("kb.resume"), key="kb-resume"):
        with errors.guard():
            kbs.jobs.resume(job.id)
            st.rerun()

    @st.fragment(run_every=1.0 if job.active else None)
    def _files() -> None:
        current = kbs.jobs.get(job.id) or job
        if current.result:
            st.markdown(t("kb.summary", **{k: current.result.get(k, 0) for k in ("indexed", "unchanged", "duplicate", "removed", "failed")}))
        file_table(current.details.get("files", []))

    _files()


def file_table(rows: list[dict]) -> None:
    if not rows:
        return
    frame = pd.DataFrame(
        {
            t("kb.col.file"): [r["source"] for r in rows],
            t("kb.col.status"): [t(f"kb.status.{r['status']}") for r in rows],
            t("kb.col.chunks"): [r["chunks"] for r in rows],
            t("kb.col.reason"): [_reason(r) for r in rows],
        }
    )
    failed_first = frame.iloc[sorted(range(len(rows)), key=lambda i: rows[i]["status"] != "failed")]
    st.dataframe(failed_first, hide_index=True, width="stretch")


def _reason(row: dict) -> str:
    """The failure reason, or what the reader noticed ("12 pages, 9 by OCR"; a scanned page left unread)."""
    reason = reason_of(row)
    notes = [Message.from_json(n).render(lang()) for n in row.get("notes", [])]
    return " · ".join(filter(None, [reason.render(lang()) if reason else "", *notes]))
