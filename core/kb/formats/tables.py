"""Rows of cells as a Markdown table: the one form every table takes inside a chunk, so the
chunker can keep it whole (or repeat its header) and the model reads rows with their columns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def markdown_table(rows: Iterable[Sequence[object]]) -> str:
    """The first non-empty row is the header; empty rows and trailing empty columns are dropped.
    "" when nothing is left (an empty sheet or a layout table with no text)."""
    cleaned = [[_cell(v) for v in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return ""
    width = max(max((i + 1 for i, v in enumerate(row) if v), default=0) for row in cleaned)
    cleaned = [(row + [""] * width)[:width] for row in cleaned]
    header, body = cleaned[0], cleaned[1:]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)
