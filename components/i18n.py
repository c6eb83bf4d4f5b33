"""The sidebar language switch and `t()` bound to the current session's language."""

from __future__ import annotations

import streamlit as st

from core import i18n

KEY = "lang"


def lang() -> str:
    return st.session_state.get(KEY, i18n.DEFAULT_LANGUAGE)


def t(key: str, **fmt: object) -> str:
    return i18n.t(key, lang(), **fmt)


def language_switch() -> None:
    st.session_state.setdefault(KEY, i18n.DEFAULT_LANGUAGE)
    st.sidebar.radio(
        i18n.t("sidebar.language", lang()),
        options=list(i18n.LANGUAGES),
        format_func=i18n.LANGUAGES.get,
        key=KEY,
        horizontal=True,
    )
