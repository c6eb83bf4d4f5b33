"""Sidebar sampling controls shared by Chat and Compare; returns validated options."""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from core.models.options import GenerationOptions


def generation_options(key: str, default_max_tokens: int = 512) -> GenerationOptions:
    defaults = GenerationOptions(max_new_tokens=default_max_tokens)
    with st.sidebar.expander(t("gen.title"), expanded=False):
        max_new = st.slider(t("gen.max_new_tokens"), 16, 4096, defaults.max_new_tokens, 16, key=f"{key}-max")
        temperature = st.slider(t("gen.temperature"), 0.0, 2.0, defaults.temperature, 0.05, key=f"{key}-temp", help=t("gen.temperature_help"))
        top_p = st.slider("top-p", 0.05, 1.0, defaults.top_p, 0.05, key=f"{key}-top-p")
        top_k = st.slider("top-k", 0, 200, defaults.top_k, 1, key=f"{key}-top-k")
        repetition = st.slider(t("gen.repetition_penalty"), 0.8, 2.0, defaults.repetition_penalty, 0.05, key=f"{key}-rep")
        seed_text = st.text_input(t("gen.seed"), "", key=f"{key}-seed", help=t("gen.seed_help"))
    seed = int(seed_text) if seed_text.strip().isdigit() else None
    return GenerationOptions(
        max_new_tokens=max_new, temperature=temperature, top_p=top_p, top_k=top_k, repetition_penalty=repetition, seed=seed
    )
