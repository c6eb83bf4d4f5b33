"""Sidebar sampling controls shared by Chat and Compare; returns validated options.

Every control explains itself in plain words (`help=`), the two everyday ones (length,
temperature) are in front and the rest sit under "高级设置". Values are remembered per
browser user (`components.prefs`), so they survive page changes and reloads.
"""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from components.prefs import remembered
from core.models.options import GenerationOptions


def _within(lo: float, hi: float):
    return lambda v: isinstance(v, (int, float)) and lo <= v <= hi


def generation_options(key: str, default_max_tokens: int = 512) -> GenerationOptions:
    defaults = GenerationOptions(max_new_tokens=default_max_tokens)
    with st.sidebar.expander(t("gen.title"), expanded=False):
        max_new = st.slider(t("gen.max_new_tokens"), 16, 4096, step=16, help=t("help.max_new_tokens"),
                            **remembered(f"{key}-max", defaults.max_new_tokens, _within(16, 4096)))
        temperature = st.slider(t("gen.temperature"), 0.0, 2.0, step=0.05, help=t("help.temperature"),
                                **remembered(f"{key}-temp", defaults.temperature, _within(0.0, 2.0)))
        with st.expander(t("help.advanced")):
            top_p = st.slider(t("help.top_p_label"), 0.05, 1.0, step=0.05, help=t("help.top_p"),
                              **remembered(f"{key}-top-p", defaults.top_p, _within(0.05, 1.0)))
            top_k = st.slider(t("help.top_k_label"), 0, 200, step=1, help=t("help.top_k"),
                              **remembered(f"{key}-top-k", defaults.top_k, _within(0, 200)))
            repetition = st.slider(t("gen.repetition_penalty"), 0.8, 2.0, step=0.05, help=t("help.repetition_penalty"),
                                   **remembered(f"{key}-rep", defaults.repetition_penalty, _within(0.8, 2.0)))
            seed_text = st.text_input(t("gen.seed"), help=t("help.seed"), **remembered(f"{key}-seed", ""))
    seed = int(seed_text) if seed_text.strip().isdigit() else None
    return GenerationOptions(
        max_new_tokens=max_new, temperature=temperature, top_p=top_p, top_k=top_k, repetition_penalty=repetition, seed=seed
    )
