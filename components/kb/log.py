"""The retrieval log on the KB page (core.kb.retrieval_log): newest questions first, exportable as QA
lines for calibration."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from components.i18n import t
from core.kb import retrieval_log
from core.kb.manager import KnowledgeBaseManager

SHOWN = 100


def retrieval_log_view(kbs: KnowledgeBaseManager, name: str) -> None:
    st.subheader(t("kb.log.title"))
    st.caption(t("kb.log.help"))
    kb = kbs.get(name)
    rows = retrieval_log.entries(kb, SHOWN)
    if not rows:
        st.info(t("kb.log.empty"))
        return
    st.dataframe(
        pd.DataFrame({
            t("kb.log.col.time"): [time.strftime("%Y-%m-%d %H:%M", time.localtime(r["time"])) for r in rows],
            t("kb.log.col.question"): [r["question"] for r in rows],
            t("kb.log.col.query"): [r["query"] if r["query"] != r["question"] else "" for r in rows],
            t("kb.log.col.hits"): ["; ".join(f"{h['source']} ({h['score']:.2f})" for h in r["hits"]) for r in rows],
            t("kb.log.col.used"): ["✅" if r["used"] else "—" for r in rows],
        }),
        hide_index=True, width="stretch",
    )
    st.download_button(t("kb.log.export"), retrieval_log.export_qa(kb), file_name=f"{name}-qa.jsonl",
                       mime="application/jsonl", key="kb-log-export")
