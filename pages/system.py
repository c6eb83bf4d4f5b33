"""System: the machine, the loaded model, switching models, and the app log."""

import streamlit as st

from components import errors
from components.api_panel import api_panel
from components.i18n import lang, t
from components.job_panel import job_panel
from components.model_picker import model_picker, remote_code_confirm
from components.resources import runtime
from components.server_health import server_health_section
from core import system_info
from core.logging_setup import tail
from core.models.capabilities import RemoteServer
from core.models.manager import LOAD_JOB

st.title(t("system.title"))
rt = runtime()

st.subheader(t("system.machine"))
info = system_info.collect()
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("system.cpu"), f"{info.cpu_count} / {info.cpu_percent:.0f}%")
c2.metric(t("system.ram"), f"{info.ram_used_gb:.1f} / {info.ram_total_gb:.1f} GB")
c3.metric(t("system.process"), f"{info.process_rss_gb:.2f} GB")
if info.gpus:
    for gpu in info.gpus:
        c4.metric(f"{t('system.gpu')} · {gpu.name}", f"{gpu.used_gb:.1f} / {gpu.total_gb:.1f} GB")
else:
    c4.metric(t("system.gpu"), "—", help=t("system.no_gpu"))
st.caption(t("system.versions", torch=info.torch_version, cuda=info.cuda if info.cuda not in ("", "-") else t("system.no_cuda")))

st.subheader(t("system.model"))
engine = rt.models.engine
if engine is not None:
    i = engine.info
    fields = ["name", "source", "architecture", "parameters", "dtype", "device", "context", "load_time"]
    st.table({t("system.field"): [t(f"system.info.{f}") for f in fields],
              t("system.value"): [i.name, i.source, i.architecture, t("system.info.millions", m=i.parameters / 1e6), i.dtype,
                                  i.device, t("system.info.tokens", n=i.context_length), t("system.info.seconds", s=i.load_seconds)]})
    if i.device == "cpu" and i.dtype == "float32" and info.native_bf16:
        st.caption(t("system.bf16_hint"))
    if isinstance(engine, RemoteServer):
        server_health_section(engine)
    if st.button(t("system.unload")):
        rt.models.unload()
        st.rerun()
else:
    st.info(t("model.none"))

model_picker(rt, info)

st.subheader(t("system.switch"))
source_labels = {k: t(f"system.source.{k}") for k in ("embedded", "local", "modelscope")}
kind = st.radio(t("system.source"), list(source_labels), format_func=source_labels.get, horizontal=True, key="source-kind")
spec, allowed = "embedded", True
if kind == "local":
    spec = st.text_input(t("system.path"), key="model-path").strip()
    allowed = remote_code_confirm(rt, spec) if spec else True
    if spec and st.button(t("system.preflight")):
        findings = rt.models.preflight(spec)
        for f in findings:
            {"error": st.error, "warning": st.warning}.get(f.level, st.info)(
                f.text(lang())
            )
        if not any(f.level == "error" for f in findings):
            st.success(t("system.preflight_ok"))
elif kind == "modelscope":
    spec = st.text_input(t("system.model_id"), key="model-id").strip()
if st.button(t("system.load"), type="primary"):
    if not spec:
        st.warning(t("system.empty_input"))
    elif not allowed:
        st.warning(t("picker.remote_needed"))
    elif kind == "modelscope":  # a job with progress, Cancel and Resume, checked before any weight is fetched
        with errors.guard():
            st.session_state["load_job"] = rt.models.start_download(spec)
    else:
        with errors.guard():
            st.session_state["load_job"] = rt.models.start_load(spec)
load_job = st.session_state.get("load_job") or next((j.id for j in rt.jobs.list(LOAD_JOB) if j.active), None)
if load_job:
    job_panel(load_job, key="load")

api_panel(rt.settings)

with st.expander(t("system.log")):
    st.code("".join(tail(rt.settings, 100)) or "—", language="log")
