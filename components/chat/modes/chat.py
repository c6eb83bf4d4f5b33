"""Plain chat: the conversation goes to the model as it is."""

from __future__ import annotations

from components.chat import view as chat_view
from components.chat.modes import ModeContext, Outcome
from core.conversations import Conversation

KEY = "chat"


def sidebar() -> dict:
    return {}


def resumes(conv: Conversation) -> bool:
    return False  # an answer never waits on the user


def answer(ctx: ModeContext) -> Outcome:
    chat_view.stream_answer(ctx, ctx.conv.messages())
    return Outcome.ANSWERED
