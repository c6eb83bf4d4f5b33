"""A cited chunk in its place: the chunk, its neighbours in the same file, where it is in the file.

Why a lookup, not the cited text alone: a citation is saved with the answer, the base moves on
(a watched folder re-indexes a changed file, chunk ids change with the content). The chunk is found
by id, else by its position if the text is still the same, else by its text; when none matches the
caller says the passage is gone and shows the text as it was cited.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.kb.store import KnowledgeBase


@dataclass(frozen=True)
class Passage:
    source: str
    cited: dict | None  # the chunk row (id, text, chunk, heading, page / slide when the loader gave them)
    before: dict | None
    after: dict | None

    @property
    def page(self) -> int | None:
        """1-based PDF page of the cited chunk, when its loader recorded one."""
        value = (self.cited or {}).get("page")
        return int(value) if isinstance(value, (int, float)) and value > 0 else None

    @property
    def slide(self) -> int | None:
        value = (self.cited or {}).get("slide")
        return int(value) if isinstance(value, (int, float)) and value > 0 else None


def locate(kb: KnowledgeBase, source: str, chunk_id: str = "", chunk: int | None = None, text: str = "") -> Passage:
    rows = kb.chunks_of(source)
    at = next((i for i, r in enumerate(rows) if chunk_id and r["id"] == chunk_id), None)
    if at is None and chunk is not None:
        at = next((i for i, r in enumerate(rows) if r.get("chunk") == chunk and (not text or r["text"] == text)), None)
    if at is None and text:
        at = next((i for i, r in enumerate(rows) if r["text"] == text), None)
    if at is None:
        return Passage(source, None, None, None)
    return Passage(source, rows[at], rows[at - 1] if at > 0 else None, rows[at + 1] if at + 1 < len(rows) else None)
