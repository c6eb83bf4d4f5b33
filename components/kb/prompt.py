"""Edit the answer prompt of one knowledge base (Chinese and English variants)."""

from __future__ import annotations

import streamlit as st

from components import errors
from components.i18n import t
from core.kb.manager import KnowledgeBaseManager
from core.kb.rag import DEFAULT_PROMPTS


def prompt_editor(kbs: KnowledgeBaseManager, name: str) -> None:
    config = kbs.get(name).config
    st.caption(t("kb.prompt_help"))
    zh = st.text_area(t("kb.prompt_zh"), config.prompt_zh or DEFAULT_PROMPTS["zh"], height=180, key=f"kb-prompt-zh-{name}")
    en = st.text_area(t("kb.prompt_en"), config.prompt_en or DEFAULT_PROMPTS["en"], height=180, key=f"kb-prompt-en-{name}")
    if st.button(t("common.save"), key="kb-prompt-save"):
        with errors.guard() as outcome:
            kbs.set_prompts(name, "" if zh.strip() == DEFAULT_PROMPTS["zh"] else zh, "" if en.strip() == DEFAULT_PROMPTS["en"] else en)
        if not outcome.failed:
            st.success(t("kb.prompt_saved"))
