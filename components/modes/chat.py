"""Plain chat: the conversation goes to the model as it is."""

from __future__ import annotations

import streamlit as st

from components import chat_view
from components.i18n import t
from components.modes import ModeContext
from core.conversations import Turn

KEY = "chat"


def sidebar() -> dict:
    return {}


def answer(ctx: ModeContext) -> None:
    st.button(t("chat.stop"), key="stop")  # a click reruns the page, which closes the stream
    gen = ctx.engine.stream(ctx.conv.messages(), ctx.options, adapter=ctx.adapter)
    try:
        st.write_stream(chat_view.stream_into_page(gen))
    finally:
        if not gen.finished.is_set():
            gen.stop()
        if gen.text:
            meta = {"stats": chat_view.stats_dict(gen), "dropped_turns": gen.stats.dropped_turns, "stopped": gen.cancel.is_set()}
            ctx.conv.turns.append(Turn("assistant", gen.text, variant=ctx.adapter or "base", meta=meta))
            ctx.store.save(ctx.conv)
