"""The mode picker of the Chat page; add a mode by adding its module to MODES."""

from __future__ import annotations

import streamlit as st

from components.chat import view as chat_view
from components.i18n import t
from components.chat.modes import ChatMode, chat, code, kb
from core.conversations import Turn

MODES: list[ChatMode] = [chat, kb, code]


def select_mode() -> ChatMode:
    if len(MODES) == 1:
        return MODES[0]
    labels = {m.KEY: t(f"chat.mode.{m.KEY}") for m in MODES}
    key = st.sidebar.radio(t("chat.mode"), list(labels), format_func=labels.get, key="chat-mode", horizontal=True)
    return next(m for m in MODES if m.KEY == key)


def render_turn(turn: Turn) -> None:
    """Draw a saved turn of any mode: code results and knowledge-base sources included."""
    if turn.role == "observation":
        code.render_observation(turn)
    else:
        chat_view.render_turn(turn, extra=_mode_blocks)


def _mode_blocks(turn: Turn) -> None:
    if "grounded" in turn.meta:  # a knowledge-base answer: its numbered sources
        kb.render_sources(turn.meta, turn.content)
    if "interp" in turn.meta:  # the code interpreter skipped the code or hit a limit
        code.render_code_meta(turn.meta)
