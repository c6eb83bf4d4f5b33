"""The mode picker of the Chat page; add a mode by adding its module to MODES."""

from __future__ import annotations

from types import ModuleType

import streamlit as st

from components.i18n import t
from components.modes import chat

MODES: list[ModuleType] = [chat]


def select_mode() -> ModuleType:
    if len(MODES) == 1:
        return MODES[0]
    labels = {m.KEY: t(f"chat.mode.{m.KEY}") for m in MODES}
    key = st.sidebar.radio(t("chat.mode"), list(labels), format_func=labels.get, key="chat-mode", horizontal=True)
    return next(m for m in MODES if m.KEY == key)
