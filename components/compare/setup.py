"""The Compare page's inputs: which variants (base + adapters that fit), which prompts."""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from components.uploads import uploader
from core.errors import InputError
from core.models.engine import BASE
from core.adapters.pool import AdapterPool
from core.compare.runs import MAX_VARIANTS
from core.compare.prompt_lists import parse_prompts


def pick_variants(pool: AdapterPool, blind: bool) -> list[str]:
    """Base plus the adapters trained on the loaded base; others are named, not offered."""
    names = [c.name for c in pool.compatible()]
    hidden = [c.name for c in pool.incompatible()]
    if hidden:
        st.caption(t("compare.hidden", n=len(hidden), names=", ".join(hidden)))
    if not names:
        st.info(t("compare.no_adapters"), icon="🧩")
    labels = {BASE: t("compare.base"), **{n: f"🧩 {n}" for n in names}}
    options = list(labels)
    default = options[:2]
    key = "compare-variants-blind" if blind else "compare-variants"
    return st.multiselect(
        t("compare.variants_blind" if blind else "compare.variants"),
        options,
        default=default,
        format_func=labels.get,
        max_selections=2 if blind else MAX_VARIANTS,
        key=key,
        help=t("help.variants"),
    )


def prompt_input(limit: int) -> list[str]:
    """Typed prompts, or an uploaded file's (the file wins when both are given)."""
    typed = st.text_area(t("compare.prompts"), "你是谁？", key="compare-prompts", height=120)
    upload = uploader(t("compare.prompts_file"), ["txt", "jsonl", "json"], key="compare-file")
    if upload is not None:
        try:
            text = upload.getvalue().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError("errors.compare_setup.not_utf8", name=upload.name) from exc
        prompts = parse_prompts(text, upload.name, limit)
    else:
        prompts = parse_prompts(typed, "", limit)
    st.caption(t("compare.prompts_count", n=len(prompts)))
    return prompts
