"""Plain chat: the conversation goes to the model as it is."""

from __future__ import annotations

from components import chat_view
from components.modes import ModeContext

KEY = "chat"


def sidebar() -> dict:
    return {}


def answer(ctx: ModeContext) -> None:
    chat_view.stream_answer(ctx, ctx.conv.messages())
