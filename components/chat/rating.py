"""👍/👎 under Chat's last answer: kept with its question, so good and bad answers become training data."""

from __future__ import annotations


from components import errors
from components.i18n import t
from components.resources import runtime
from core.conversations import Conversation
from core.compare.feedback import Feedback


def _asked(conv: Conversation, index: int) -> list[dict]:
    """The conversation the answer at `index` replied to, with the system prompt it was given."""
    messages = [{"role": "system", "content": conv.system_prompt}] if conv.system_prompt.strip() else []
    return messages + [{"role": turn.role, "content": turn.content} for turn in conv.turns[:index]
                       if turn.role in ("user", "assistant")]


def _rate(conv: Conversation, index: int, rating: str) -> None:
    turn = conv.turns[index]
    engine = runtime().models.engine
    with errors.guard():
        runtime().feedback.add(Feedback(rating=rating, messages=_asked(conv, index), answer=turn.content,
                              variant=turn.variant or "base", conversation=conv.id, turn=index,
                              model=engine.info.name if engine is not None else "", settings=dict(turn.meta)))


def rating_buttons(conv: Conversation, columns) -> None:
    """Two small buttons for the last turn when it is an answer; the recorded rating shows as the primary one."""
    index = len(conv.turns) - 1
    if index < 0 or conv.turns[index].role != "assistant" or not conv.turns[index].content.strip():
        return
    current = runtime().feedback.rating_of(conv.id, index, conv.turns[index].content)
    for column, rating in zip(columns, ("up", "down")):
        column.button(t(f"pref.chat.{rating}"), key=f"chat-rate-{rating}", help=t(f"pref.chat.{rating}_help"),
                      type="primary" if current == rating else "secondary", on_click=_rate, args=(conv, index, rating))
