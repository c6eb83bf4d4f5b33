"""Pick, create, rename and delete knowledge bases (the top of the Knowledge Base page)."""

from __future__ import annotations

import streamlit as st

from components import errors
from components.i18n import t
from components.errors import job_message
from core.jobs import Job
from core.kb.manager import KnowledgeBaseManager

SELECTED = "kb-selected"
PENDING = "kb-select-next"  # a base to select on the next run: the picker's own key is locked once drawn


def select_next_run(name: str) -> None:
    st.session_state[PENDING] = name
    st.rerun()


def pick(kbs: KnowledgeBaseManager) -> str | None:
    """The selected base's name (None while there is none); also used by the Chat mode."""
    names = kbs.names()
    if PENDING in st.session_state:
        st.session_state[SELECTED] = st.session_state.pop(PENDING)
    if not names:
        return None
    if st.session_state.get(SELECTED) not in names:
        st.session_state[SELECTED] = names[0]
    return st.selectbox(t("kb.select"), names, key=SELECTED)


def create_form(kbs: KnowledgeBaseManager, expanded: bool) -> None:
    settings = kbs.settings
    with st.expander(t("kb.create"), expanded=expanded), st.form("kb-create", clear_on_submit=True):
        name = st.text_input(t("common.name"), key="kb-new-name")
        with st.expander(t("help.advanced")):  # the defaults suit most documents
            model = st.text_input(t("kb.embedding_model"), settings.embedding_model, help=t("help.embedding_model"), key="kb-new-model")
            c1, c2 = st.columns(2)
            size = c1.number_input(t("kb.chunk_size"), 50, 8000, settings.kb_chunk_size, step=50, help=t("help.chunk_size"), key="kb-new-size")
            overlap = c2.number_input(t("kb.chunk_overlap"), 0, 4000, settings.kb_chunk_overlap, step=10,
                                      help=t("help.chunk_overlap"), key="kb-new-overlap")
        if st.form_submit_button(t("kb.create_button"), type="primary"):
            # The first base on a machine also prepares the embedding model (~25 s, once).
            with errors.guard() as outcome, st.spinner(t("kb.preparing_model"), show_time=True):
                kb = kbs.create(name, model, int(size), int(overlap))
            if not outcome.failed:
                select_next_run(kb.name)


def manage(kbs: KnowledgeBaseManager, name: str) -> None:
    with st.expander(t("kb.manage")):
        new = st.text_input(t("kb.new_name"), name, key=f"kb-rename-{name}")
        if st.button(t("common.rename"), key="kb-rename") and new.strip() != name:
            with errors.guard() as outcome:
                kbs.rename(name, new)
            if not outcome.failed:
                select_next_run(new.strip())
        sure = st.checkbox(t("kb.confirm_delete", name=name), key=f"kb-confirm-{name}")
        if st.button(t("common.delete"), key="kb-delete", disabled=not sure, type="primary"):
            with errors.guard() as outcome:
                kbs.delete(name)
            if not outcome.failed:
                st.session_state.pop(SELECTED, None)
                st.rerun()


def info_line(kbs: KnowledgeBaseManager, name: str, job: Job | None) -> None:
    """Model, chunking and counts; while `job` indexes, it redraws every second and says how far
    the job is. Its file count grows as files are read: a round's files enter the manifest only
    once their chunks are written (embedded in batches sorted by length across files), so the
    job's own count (`files_read`) leads until then."""

    @st.fragment(run_every=1.0 if job is not None and job.active else None)
    def _line() -> None:
        kb = kbs.get(name)
        c = kb.config
        current = kbs.jobs.get(job.id) if job is not None else None
        files = len(kb.manifest.files)
        read = current.details.get("files_read") if current is not None and current.active else None
        if isinstance(read, int):
            files = max(files, read)
        text = t("kb.info", model=c.embedding_model, size=c.chunk_size, overlap=c.chunk_overlap,
                 files=files, chunks=kb.manifest.chunk_count())
        if current is not None and current.active:
            doing = job_message(current)  # empty until the job's first report
            text += " · " + (t("kb.info_indexing", step=doing) if doing else t("kb.info_starting"))
        st.caption(text)

    _line()
