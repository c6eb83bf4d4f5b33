"""Calibration on the KB page: the user's QA list picks this base's fusion rule, dense weight and
relevance threshold (core.kb.calibrate), shown as a before/after table; saved only when asked."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import errors
from components.i18n import t
from core.kb import calibrate
from core.kb import eval as kb_eval
from core.kb.manager import KnowledgeBaseManager


def _describe(s: calibrate.Setting) -> str:
    weight = f"w={s.dense_weight:.1f}" + (f"/{s.dense_weight_en:.1f}" if s.fusion == "language" else "")
    return f"{s.fusion} {weight} · {s.threshold:.2f}"


def calibration(kbs: KnowledgeBaseManager, name: str) -> None:
    st.subheader(t("kb.cal.title"))
    st.caption(t("kb.cal.help"))
    upload = st.file_uploader(t("kb.eval_upload"), type=["jsonl", "json", "txt"], key="kb-cal-upload")
    c1, c2 = st.columns(2)
    run, save = c1.button(t("kb.cal.run"), key="kb-cal-run"), c2.button(t("kb.cal.apply"), key="kb-cal-apply", type="primary")
    if upload is None or not (run or save):
        return
    with errors.guard():
        items = kb_eval.parse_qa(upload.getvalue().decode("utf-8-sig"))
        bar = st.progress(0.0)
        result = calibrate.calibrate(kbs, name, items, apply=save, progress=lambda done, total: bar.progress(done / total, text=f"{done}/{total}"))
        bar.empty()
        st.write(t("kb.cal.setting", b=_describe(result.before), a=_describe(result.after)))
        labels = {"kept": t("kb.cal.kept"), "turned_away": t("kb.cal.turned_away")}
        rows = result.table()
        st.dataframe(
            pd.DataFrame({
                t("kb.cal.measure"): [labels.get(r["measure"], r["measure"]) for r in rows],
                t("kb.cal.before"): [r["before"] for r in rows],
                t("kb.cal.after"): [r["after"] for r in rows],
            }),
            hide_index=True, width="stretch",
        )
        if save:
            a = result.after
            st.success(t("kb.cal.saved", fusion=a.fusion, w=a.dense_weight, w_en=a.dense_weight_en, t=a.threshold))
