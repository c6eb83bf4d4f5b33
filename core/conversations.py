"""Conversations on disk, one JSON file each, so they survive refreshes and restarts."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError

TITLE_CHARS = 40


@dataclass
class Turn:
    role: str
    content: str
    variant: str = ""  # which model/adapter answered ("base", adapter name)
    meta: dict[str, Any] = field(default_factory=dict)  # citations, stats, code results


@dataclass
class Conversation:
    id: str
    title: str
    system_prompt: str = ""
    turns: list[Turn] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    def messages(self) -> list[dict]:
        out = [{"role": "system", "content": self.system_prompt}] if self.system_prompt.strip() else []
        return out + [{"role": t.role, "content": t.content} for t in self.turns]


def title_from(message: str) -> str:
    """The first line with words in it: a message may open with a code fence or a heading."""
    for line in message.splitlines():
        words = line.strip().strip("`#>*-").strip()
        if words:
            return words[:TITLE_CHARS]
    return ""


class ConversationStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _path(self, conv_id: str) -> Path:
        if not conv_id.isalnum():
            raise UserError("errors.conversations.invalid_conversation_id")
        return self.folder / f"{conv_id}.json"

    def new(self, system_prompt: str = "", title: str = "") -> Conversation:
        conv = Conversation(id=uuid.uuid4().hex[:12], title=title, system_prompt=system_prompt)
        self.save(conv)
        return conv

    def save(self, conv: Conversation) -> None:
        conv.updated = time.time()
        if not conv.title:
            conv.title = title_from(next((t.content for t in conv.turns if t.role == "user"), ""))
        data = json.dumps(asdict(conv), ensure_ascii=False, indent=1)
        with self._lock:
            tmp = self._path(conv.id).with_suffix(".tmp")
            tmp.write_text(data, encoding="utf-8")
            tmp.replace(self._path(conv.id))

    def get(self, conv_id: str) -> Conversation | None:
        path = self._path(conv_id)
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        data["turns"] = [Turn(**t) for t in data.get("turns", [])]
        return Conversation(**data)

    def list(self) -> list[Conversation]:
        convs = [c for c in (self.get(p.stem) for p in self.folder.glob("*.json")) if c is not None]
        return sorted(convs, key=lambda c: c.updated, reverse=True)

    def rename(self, conv_id: str, title: str) -> None:
        conv = self.get(conv_id)
        if conv is None:
            raise UserError("errors.conversations.conversation_longer_exists")
        if not title.strip():
            raise UserError("errors.conversations.title_empty")
        conv.title = title.strip()[:200]
        self.save(conv)

    def delete(self, conv_id: str) -> None:
        self._path(conv_id).unlink(missing_ok=True)


def to_markdown(conv: Conversation) -> str:
    lines = [f"# {conv.title or 'Conversation'}", ""]
    if conv.system_prompt:
        lines += [f"> System: {conv.system_prompt}", ""]
    for t in conv.turns:
        who = {"user": "User", "assistant": "Assistant"}.get(t.role, t.role.title())
        if t.variant:
            who += f" ({t.variant})"
        lines += [f"**{who}:**", "", t.content, ""]
        for i, c in enumerate(t.meta.get("citations", []), 1):
            lines.append(f"[{i}] {c.get('source', '')}")
        if t.meta.get("citations"):
            lines.append("")
    return "\n".join(lines)
