"""The chunk browser: files with chunk counts, a file's chunks, deleting a file."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import errors
from components.i18n import t
from components.kb.passage import where
from core.kb.manager import KnowledgeBaseManager


def browse(kbs: KnowledgeBaseManager, name: str) -> None:
    files = kbs.files(name)
    if not files:
        st.info(t("kb.no_files"))
        return
    st.dataframe(
        pd.DataFrame(
            {
                t("kb.col.file"): [f["source"] for f in files],
                t("kb.col.chunks"): [f["chunks"] for f in files],
                t("kb.col.size"): [f["kb"] for f in files],
                t("kb.col.encoding"): [f["encoding"] for f in files],
                t("kb.col.indexed"): [f["indexed"] for f in files],
                t("kb.col.duplicate_of"): [f["duplicate_of"] for f in files],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    source = st.selectbox(t("kb.pick_file"), [f["source"] for f in files], key=f"kb-browse-{name}")
    if st.button(t("kb.delete_file"), key="kb-delete-file"):
        with errors.guard() as outcome:
            kbs.delete_file(name, source)
        if not outcome.failed:
            st.toast(t("kb.file_deleted", source=source))
            st.rerun()
    for chunk in kbs.get(name).chunks_of(source):
        with st.expander(f"{where(chunk)} · {chunk['text'][:60]}"):
            st.text(chunk["text"])
