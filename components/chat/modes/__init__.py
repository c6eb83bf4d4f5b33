"""Chat modes: plain chat, knowledge base (RAG), code interpreter.

A mode is a module that satisfies `ChatMode`: its `KEY` (i18n key suffix, e.g. "chat"), its
sidebar controls, `answer(ctx)`, which streams one assistant answer into the page and appends
the finished `Turn`(s) to `ctx.conv`, and `resumes(conv)`: True when an answer is waiting on
the user (the code mode's Run / Skip), so the page calls `answer` again without a new message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from core.conversations import Conversation, ConversationStore
from core.models.engine import Engine, Generation
from core.models.options import GenerationOptions
from core.adapters.pool import AdapterPool


@dataclass
class ModeContext:
    conv: Conversation
    store: ConversationStore
    engine: Engine  # to measure prompts and read the model's family; answers go through `stream`
    pool: AdapterPool
    options: GenerationOptions
    adapter: str | None = None  # None = base model
    settings: dict[str, Any] = field(default_factory=dict)  # what the mode's sidebar() returned

    def stream(self, messages: list[dict]) -> Generation:
        """Answer `messages` as the chosen variant: the one path shared with Compare and the API."""
        return self.pool.stream(self.adapter, messages, self.options)


class Outcome(Enum):
    """What the page does after a mode's `answer`: rerun to draw the saved answer, or end the run
    here (buttons are on screen and the user's click starts the next run)."""

    ANSWERED = "answered"
    WAITING_FOR_USER = "waiting"


class ChatMode(Protocol):
    KEY: str

    def sidebar(self) -> dict[str, Any]:
        """Draw the mode's own controls; what they chose reaches `answer` as `ctx.settings`."""

    def answer(self, ctx: ModeContext) -> Outcome: ...

    def resumes(self, conv: Conversation) -> bool: ...
