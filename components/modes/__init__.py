"""Chat modes: plain chat, knowledge base (RAG), code interpreter.

Each mode module defines `KEY` (i18n key suffix, e.g. "chat"), `sidebar() -> dict`
(its own controls, rendered in the sidebar) and
`answer(ctx: ModeContext) -> None`, which streams one assistant answer into the page and
appends the finished `Turn`(s) to `ctx.conv` (the page saves it). Optionally
`resumes(conv) -> bool`: True when an answer is waiting on the user (the code mode's
Run / Skip), so the page calls `answer` again without a new message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.conversations import Conversation, ConversationStore
from core.models.engine import Engine
from core.models.options import GenerationOptions


@dataclass
class ModeContext:
    conv: Conversation
    store: ConversationStore
    engine: Engine
    options: GenerationOptions
    adapter: str | None = None  # None = base model
    settings: dict[str, Any] = field(default_factory=dict)  # what the mode's sidebar() returned
