"""The Adapters list: card, rename, delete, download/upload zip, merge into the base and export."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

import streamlit as st

from components import errors
from components.i18n import t
from components.job_panel import job_panel
from core.adapters.store import base_info
from components.uploads import uploader
from components.finetune.training_charts import training_charts
from core.models.capabilities import Mergeable
from core.adapters import ollama
from core.tuning.merge import MERGE_JOB


def _unload(rt, name: str) -> None:
    """Take it off the shared model first, so no request uses files that are moving."""
    if name in (rt.models.engine.adapter_names() if rt.models.engine else []):
        rt.adapter_pool.unload(name)


def _adapter(rt, card, compatible: bool) -> None:
    name = card.name
    loss = f"{card.train_loss:.3f}" if card.train_loss is not None else "—"
    title = f"**{name}** · {card.base_model} · {t('ft.ad.title', steps=card.steps, loss=loss)} · {card.created}"
    with st.expander(title + ("" if compatible else f" {t('ft.ad.other_base')}")):
        if card.system_prompt:
            st.caption(card.system_prompt)
        if card.extra.get("checkpoint_of"):
            st.caption(t("ft.ad.checkpoint_of", name=card.extra["checkpoint_of"], step=card.extra.get("step", card.steps)))
        if card.val_loss is not None:
            st.caption(t("ft.ad.val", val=f"{card.val_loss:.4f}"))
        with st.popover(t("ft.ad.card")):
            st.json(asdict(card), expanded=1)
        if card.extra.get("metrics"):
            with st.popover(t("ft.ad.curves")):
                training_charts(card.extra["metrics"], f"ad-chart-{name}")
        c1, c2, c3 = st.columns([2, 1, 1])
        new = c1.text_input(t("ft.ad.new_name"), value=name, key=f"ad-name-{name}")
        if c1.button(t("common.rename"), key=f"ad-rename-{name}", disabled=new.strip() == name):
            with errors.guard():
                _unload(rt, name)
                rt.adapters.rename(name, new)
                st.rerun()
        c2.download_button(t("ft.ad.zip"), data=partial(rt.adapters.export_zip, name), file_name=f"{name}.zip",
                           mime="application/zip", key=f"ad-zip-{name}")
        if compatible and rt.models.engine is not None:
            _ollama_export(rt, name, c2)
        base = base_info(rt.models.engine) if compatible and rt.models.engine else None
        if base is not None and base.qkv_sizes is not None:  # ChatGLM3: the tutorial's own format too
            c2.download_button(t("ft.ad.tutorial_zip"), data=partial(rt.adapters.export_tutorial_zip, name, base),
                               file_name=f"{name}-chatglm3-peft.zip", mime="application/zip", key=f"ad-tzip-{name}",
                               help=t("ft.ad.tutorial_zip_help"))
        sure = c3.checkbox(t("ft.ad.delete_confirm"), key=f"ad-sure-{name}")
        if c3.button(t("common.delete"), key=f"ad-delete-{name}", disabled=not sure):
            with errors.guard():
                _unload(rt, name)
                rt.adapters.delete(name)
                st.rerun()
        if compatible and isinstance(rt.models.engine, Mergeable) and st.button(t("ft.ad.merge"), key=f"ad-merge-{name}", help=t("ft.ad.merge_help")):
            with errors.guard():
                st.session_state["ft-merge-job"] = rt.finetune.merge(name).id


def _ollama_export(rt, name: str, column) -> None:
    """The adapter with a Modelfile and README: built on click (it renders the card's template), then offered."""
    key = f"ad-ollama-{name}"
    if column.button(t("ft.ad.ollama"), key=key, help=t("ft.ad.ollama_help")):
        with errors.guard():
            st.session_state[key + "-zip"] = ollama.export_zip(rt.adapters, name, rt.models.engine.tokenizer)
    if data := st.session_state.get(key + "-zip"):
        column.download_button(t("ft.ad.ollama_download"), data, file_name=f"{name}-ollama.zip", mime="application/zip",
                               key=key + "-dl")


def adapters_section(rt) -> None:
    fingerprint = rt.adapter_pool.fingerprint()
    upload = uploader(t("ft.ad.upload"), ["zip"], key="ft-adapter-zip")
    if upload is not None and st.session_state.get("ft-imported") != upload.file_id:
        with errors.guard():
            card = rt.adapters.import_zip(upload.getvalue(), fingerprint, base=base_info(rt.models.engine),
                                          fallback_name=upload.name.rsplit(".", 1)[0])
            st.session_state["ft-imported"] = upload.file_id
            st.success(t("ft.ad.uploaded", name=card.name))
    cards = rt.adapters.list()
    if not cards:
        st.caption(t("ft.ad.none"))
    for card in sorted(cards, key=lambda c: c.base_fingerprint != fingerprint):
        _adapter(rt, card, card.base_fingerprint == fingerprint)
    merge_job = st.session_state.get("ft-merge-job") or next((j.id for j in rt.jobs.list(MERGE_JOB) if j.active), None)
    if merge_job:
        job = job_panel(merge_job, key="ft-merge")
        if job and job.status == "done":
            st.success(t("ft.ad.merged", path=job.result.get("path")))
            if job.result.get("modelfile"):
                st.caption(t("ft.ad.merged_modelfile"))
