"""Fine-tune step 2: preset, persona, hyperparameters, and the memory preflight."""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from core.tuning import memory
from core.models.capabilities import Trainable
from core.tuning.presets import PRESETS, TrainConfig
from core.tuning.server_training import LocalBase


def settings_section(engine: Trainable | LocalBase) -> TrainConfig:
    st.subheader(t("ft.set.header"))
    labels = {k: t(f"ft.preset.{k}") for k in PRESETS}
    name = st.radio(t("ft.set.preset"), list(labels), format_func=labels.get, horizontal=True, key="ft-preset",
                    help=t("help.preset"))
    p = PRESETS[name]
    k = f"ft-{name}"  # widgets keyed per preset, so switching presets shows that preset's values
    system_prompt = st.text_area(t("ft.set.persona"), help=t("ft.set.persona_help"), key="ft-persona", height=68)
    with st.expander(t("ft.set.advanced"), expanded=name == "custom"):  # the preset's values suit a first try
        c1, c2 = st.columns(2)
        epochs = c1.number_input(t("ft.set.epochs"), 1, 100, p.epochs, help=t("help.epochs"), key=f"{k}-epochs")
        lr = c2.number_input(t("ft.set.lr"), 1e-6, 1.0, p.learning_rate, format="%.0e", help=t("help.lr"), key=f"{k}-lr")
        a1, a2, a3 = st.columns(3)
        rank = a1.number_input(t("ft.set.rank"), 1, 256, p.rank, help=t("help.rank"), key=f"{k}-rank")
        alpha = a2.number_input(t("ft.set.alpha"), 1, 1024, p.alpha, help=t("help.alpha"), key=f"{k}-alpha")
        dropout = a3.number_input(t("ft.set.dropout"), 0.0, 0.9, p.dropout, step=0.05, help=t("help.dropout"), key=f"{k}-dropout")
        b1, b2, b3 = st.columns(3)
        max_length = b1.number_input(t("ft.set.max_length"), 16, 32768, p.max_length, step=64, help=t("help.max_length"), key=f"{k}-len")
        batch = b2.number_input(t("ft.set.batch"), 1, 256, p.batch_size, help=t("help.batch"), key=f"{k}-batch")
        accum = b3.number_input(t("ft.set.accum"), 1, 1024, p.grad_accum, help=t("help.accum"), key=f"{k}-accum")
        c1, c2, c3 = st.columns(3)
        val = c1.number_input(t("ft.set.val"), 0.0, 0.5, p.val_fraction, step=0.05, help=t("help.val"), key=f"{k}-val")
        snapshots = c3.number_input(t("ft.set.snapshots"), 0, 100_000, p.snapshot_every, help=t("ft.set.snapshots_help"), key=f"{k}-snap")
        limit = c2.number_input(t("ft.set.max_records"), 0, 10**7, p.max_records or 0, help=t("help.max_records"), key=f"{k}-records")
        layers = engine.lora_candidates()
        targets = st.multiselect(t("ft.set.targets"), layers, default=engine.default_lora_targets(), help=t("help.targets"), key=f"{k}-targets")
    return p.model_copy(update=dict(
        system_prompt=system_prompt.strip(), epochs=int(epochs), learning_rate=float(lr), rank=int(rank), alpha=int(alpha),
        dropout=float(dropout), max_length=int(max_length), batch_size=int(batch), grad_accum=int(accum),
        val_fraction=float(val), snapshot_every=int(snapshots), max_records=int(limit) or None, target_modules=list(targets)))


def memory_warning(ft, engine: Trainable | LocalBase, config: TrainConfig, longest: int) -> None:
    """Warn before starting when the estimate does not fit what the device has free; beside a server,
    what each side needs (Start refuses a job that will not fit, `FineTuner.start`)."""
    if isinstance(engine, LocalBase):
        plan = ft.memory_plan(engine, config, longest)
        server = t("ft.server.kv", kv=plan.server_kv_cache_gb) if plan.server_kv_cache_gb is not None else t("ft.server.kv_unknown")
        if plan.server_gpu_share is not None and plan.device.startswith("cuda"):
            server += " " + t("ft.server.gpu_share", share=plan.server_gpu_share)
        text = t("ft.server.mem", need=plan.need_gb, weights=plan.weights_gb, training=plan.training_gb, free=plan.available_gb,
                 device="GPU" if plan.device.startswith("cuda") else "RAM", server=server)
        (st.caption if plan.fits else st.warning)(text)
        return
    est = memory.estimate(engine.base_model(), config, longest)
    device = "GPU" if est.device.startswith("cuda") else "RAM"
    text = t("ft.mem.ok" if est.fits else "ft.mem.warn", need=est.need_gb, free=est.available_gb, device=device)
    (st.caption if est.fits else st.warning)(text)
