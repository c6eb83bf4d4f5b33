"""The System page's model picker: a short catalog with memory per precision and what fits
here, checked and downloaded from ModelScope as a job (progress, ETA, Cancel, Resume), then
loaded. Everything it decides comes from core (catalog, downloads, compatibility, loader)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components import errors
from components.i18n import lang, t
from components.job_panel import job_panel
from core import system_info
from core.models import catalog, compatibility, downloads, loader
from core.models.manager import DOWNLOAD_JOB
from core.runtime import Runtime

RESUMABLE = ("cancelled", "interrupted", "failed")
PRECISION_SHORT = {"bfloat16": "bf16", "8bit": "8-bit", "4bit": "4-bit", "float32": "fp32"}


def machine_budget(info: system_info.SystemInfo) -> tuple[str, int]:
    """Where models would run and how much memory that place has (all GPUs, or RAM)."""
    if info.gpus:
        return "cuda", int(sum(g.total_gb for g in info.gpus) * catalog.GIB)
    return "cpu", int(info.ram_total_gb * catalog.GIB)


def _rows(judged: list[catalog.Fit], models_dir: Path) -> dict[str, list[str]]:
    cols = {k: [] for k in ("model", "params", "download", "bf16", "8bit", "4bit", "fits", "state")}
    for fit in judged:
        e = fit.entry
        cols["model"].append(e.name)
        cols["params"].append(f"{e.billions:.2f} B")
        cols["download"].append(catalog.gib(e.download_bytes))
        for col, precision in (("bf16", "bfloat16"), ("8bit", "8bit"), ("4bit", "4bit")):
            cols[col].append(catalog.gib(e.memory_bytes(precision)))
        best = fit.best
        cols["fits"].append(t("picker.fits", precision=PRECISION_SHORT[best]) if best else t("picker.too_big"))
        done = downloads.is_complete(downloads.model_folder(models_dir, e.modelscope_id))
        cols["state"].append(t("picker.downloaded") if done else t("picker.not_downloaded"))
    return {t(f"picker.col.{k}"): v for k, v in cols.items()}


def _latest_download(rt: Runtime, model_id: str):
    return next((j for j in rt.jobs.list(DOWNLOAD_JOB) if j.params.get("model_id") == model_id), None)


def model_picker(rt: Runtime, info: system_info.SystemInfo) -> None:
    st.subheader(t("picker.title"))
    device, budget = machine_budget(info)
    quantization = device == "cuda" and loader.quantization_available()
    judged = catalog.fits(catalog.CATALOG, device, budget, quantization)
    where = t(f"picker.where.{device}")
    st.caption(t("picker.intro", where=where, budget=catalog.gib(budget)))
    if device == "cpu":
        rec = catalog.cpu_recommendation(budget)
        st.info(t("picker.cpu_hint", name=rec.name, memory=catalog.gib(rec.memory_bytes("float32"))))
    elif not quantization:
        st.info(t("picker.no_bnb"))
    st.table(_rows(judged, rt.settings.models_dir))

    by_key = {f.entry.key: f for f in judged}
    default = catalog.cpu_recommendation(budget).key if device == "cpu" else next(
        (f.entry.key for f in reversed(judged) if f.best), judged[0].entry.key)
    key = st.selectbox(t("picker.choose"), list(by_key), index=list(by_key).index(default), key="picker-model",
                       format_func=lambda k: f"{by_key[k].entry.name} · {by_key[k].entry.modelscope_id}")
    fit = by_key[key]
    options = list(fit.fits)
    precision = options[0]
    if len(options) > 1:  # only on CUDA with bitsandbytes
        precision = st.radio(t("picker.precision"), options, index=options.index(fit.best or options[-1]),
                             format_func=lambda p: t(f"picker.precision.{p}"), horizontal=True, key="picker-precision",
                             help=t("help.precision"))
    if not fit.fits[precision]:
        st.warning(t("picker.wont_fit", name=fit.entry.name, where=where))
    quant = precision if precision in ("8bit", "4bit") else None
    model_id = fit.entry.modelscope_id

    c1, c2, c3 = st.columns(3)
    if c1.button(t("picker.check"), key="picker-check"):
        findings = rt.models.preflight_remote(model_id)
        for f in findings:
            {"error": st.error, "warning": st.warning}.get(f.level, st.info)(
                f.text(lang()))
        if not any(f.level == "error" for f in findings):
            st.success(t("picker.check_ok", name=fit.entry.name))
    downloaded = downloads.is_complete(downloads.model_folder(rt.settings.models_dir, model_id))
    if downloaded:
        if c2.button(t("picker.load"), type="primary", key="picker-load"):
            with errors.guard():
                st.session_state["load_job"] = rt.models.start_load(model_id, quant)
    elif c2.button(t("picker.download"), type="primary", key="picker-download"):
        with errors.guard():
            st.session_state["picker_job"] = rt.models.start_download(model_id, load_after=True, quantization=quant)
    last = _latest_download(rt, model_id)
    if last is not None and last.status in RESUMABLE and not downloaded:
        if c3.button(t("picker.resume"), key="picker-resume"):
            with errors.guard():
                st.session_state["picker_job"] = rt.jobs.resume(last.id).id
    job_id = st.session_state.get("picker_job") or next((j.id for j in rt.jobs.list(DOWNLOAD_JOB) if j.active), None)
    if job_id:
        job_panel(job_id, key="picker")


def remote_code_confirm(rt: Runtime, folder: str) -> bool:
    """For a local folder that ships .py files: name them, and ask before running them.

    Returns whether loading may go ahead (no code, code that will not run, or confirmed).
    """
    path = Path(folder).expanduser()
    if not path.is_dir():
        return True
    files = compatibility.python_files(path)
    if not files:
        return True
    names = ", ".join(files)
    if not rt.settings.trust_remote_code:
        st.caption(t("picker.remote_off", files=names))
        return True
    st.warning(t("picker.remote_files", files=names))
    return st.checkbox(t("picker.remote_confirm"), key=f"remote-ok-{path}")


__all__ = ["model_picker", "remote_code_confirm"]
