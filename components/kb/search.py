"""The retrieval test box and the retrieval evaluation (upload a QA list, see hit@k)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import errors
from components.kb import passage as kb_passage
from components.i18n import t
from components.uploads import uploader
from core.kb import eval as kb_eval
from core.kb.manager import KnowledgeBaseManager
from core.kb.retrieval import MODES


def _mode(key: str) -> str:
    labels = {m: t(f"kb.mode.{m}") for m in MODES}
    return st.radio(t("kb.mode"), list(labels), format_func=labels.get, horizontal=True, key=key, help=t("help.kb_mode"))


def search_box(kbs: KnowledgeBaseManager, name: str) -> None:
    query = st.text_input(t("kb.query"), key="kb-query")
    c1, c2 = st.columns(2)
    k = c1.slider(t("kb.top_k"), 1, 20, kbs.settings.kb_top_k, key="kb-search-k", help=t("help.kb_top_k"))
    threshold = c2.slider(t("kb.threshold"), 0.0, 1.0, 0.0, 0.05, help=t("kb.threshold_help"), key="kb-search-threshold")
    mode = _mode("kb-search-mode")
    if not query.strip():
        return
    with errors.guard():
        hits = kbs.search(name, query, k, threshold, mode)
        if not hits:
            st.info(t("kb.no_hits"))
        for i, hit in enumerate(hits, 1):
            st.progress(hit.score, text=t("kb.hit", n=i, source=hit.source, score=hit.score))
            with st.expander(" ".join(hit.text.split())[:120]):
                st.text(hit.text)
                kb_passage.open_button(name, {"source": hit.source, "id": hit.id, "chunk": hit.chunk, "text": hit.text},
                                       key=f"kb-hit-open-{i}", switch=False)


def evaluation(kbs: KnowledgeBaseManager, name: str) -> None:
    upload = uploader(t("kb.eval_upload"), ["jsonl", "json", "txt"], key="kb-eval-upload")
    mode = _mode("kb-eval-mode")
    if upload is None or not st.button(t("kb.eval_run"), type="primary"):
        return
    with errors.guard():
        items = kb_eval.parse_qa(upload.getvalue().decode("utf-8-sig"))
        bar = st.progress(0.0)
        result = kb_eval.evaluate(kbs, name, items, mode, lambda done, total: bar.progress(done / total, text=f"{done}/{total}"))
        bar.empty()
        st.success(t("kb.eval_metrics", n=result.n, hit1=result.hit1, hit5=result.hit5, mrr=result.mrr))
        st.dataframe(
            pd.DataFrame(
                {
                    t("kb.col.question"): [r["question"] for r in result.rows],
                    t("kb.col.file"): [r["source"] for r in result.rows],
                    t("kb.col.rank"): [r["rank"] for r in result.rows],
                    t("kb.col.top"): [r["top"] for r in result.rows],
                }
            ),
            hide_index=True,
            width="stretch",
        )
