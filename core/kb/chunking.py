"""Split documents into chunks that stand on their own.

Markdown is split at headings first and every chunk starts with its heading path
("安装 > 环境配置"), so a chunk from deep inside a section still says what it is about.
The character splitter knows Chinese sentence ends (。！？；), the tutorial's 500/150 is
the default, and both numbers are per knowledge base. A Markdown table is never cut when it fits
in a chunk; a longer one is cut between rows, each part under the repeated header row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_text_splitters import RecursiveCharacterTextSplitter

if TYPE_CHECKING:
    from core.kb.loaders import Loaded

SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "! ", "? ", "; ", ". ", "，", ", ", " ", ""]
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_WORDS = re.compile(r"\w")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|(\s*:?-+:?\s*\|)+\s*$")


@dataclass(frozen=True)
class Chunk:
    text: str
    index: int
    heading: str = ""
    meta: Mapping[str, int] = field(default_factory=dict)  # where it came from: {"page": 3}, {"slide": 2}


def splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    if chunk_overlap >= chunk_size:
        chunk_overlap = chunk_size // 3
    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, separators=SEPARATORS, keep_separator="end"
    )


def markdown_sections(text: str) -> list[tuple[str, str]]:
    """(heading path, body) per section; headings inside code fences are not headings."""
    sections: list[tuple[str, str]] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        if "".join(body).strip():
            sections.append((" > ".join(title for _, title in path), "\n".join(body).strip()))
        body.clear()

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, match.group(2))]
        else:
            body.append(line)
    flush()
    return sections


def blocks(body: str) -> Iterator[tuple[bool, str]]:
    """(is a Markdown table, text) in order: a table is a row line followed by a `|---|` rule and
    the row lines after it."""
    lines = body.splitlines()
    text: list[str] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and _TABLE_ROW.match(lines[i]) and _TABLE_RULE.match(lines[i + 1]):
            end = i + 2
            while end < len(lines) and _TABLE_ROW.match(lines[end]):
                end += 1
            if text:
                yield False, "\n".join(text)
                text = []
            yield True, "\n".join(lines[i:end])
            i = end
        else:
            text.append(lines[i])
            i += 1
    if text:
        yield False, "\n".join(text)


def table_parts(table: str, budget: int) -> list[str]:
    """The table whole when it fits `budget` characters, else runs of rows each under the header
    and rule lines (a single row longer than the budget is a part of its own)."""
    if len(table) <= budget:
        return [table]
    lines = table.splitlines()
    head, rows = "\n".join(lines[:2]), lines[2:]
    parts: list[list[str]] = [[]]
    size = len(head)
    for row in rows:
        if parts[-1] and size + 1 + len(row) > budget:
            parts.append([])
            size = len(head)
        parts[-1].append(row)
        size += 1 + len(row)
    return ["\n".join([head, *part]) for part in parts]


def _pieces(body: str, budget: int, text_splitter: RecursiveCharacterTextSplitter) -> list[str]:
    """Text cut by the splitter, tables by `table_parts`; a table joins the text before or after it
    when both fit in one chunk (its caption and its rows belong together)."""
    pieces: list[tuple[bool, str]] = []
    for is_table, block in blocks(body):
        if is_table:
            pieces += [(True, part) for part in table_parts(block, budget)]
            continue
        for piece in text_splitter.split_text(block):
            piece = piece.strip()
            if not piece:
                continue
            if pieces and pieces[-1][0] and len(pieces[-1][1]) + 2 + len(piece) <= budget:
                pieces[-1] = (True, f"{pieces[-1][1]}\n\n{piece}")
            else:
                pieces.append((False, piece))
    merged: list[tuple[bool, str]] = []
    for is_table, piece in pieces:
        if merged and is_table and not merged[-1][0] and len(merged[-1][1]) + 2 + len(piece) <= budget:
            merged[-1] = (True, f"{merged[-1][1]}\n\n{piece}")
        else:
            merged.append((is_table, piece))
    return [piece for _, piece in merged]


def split(text: str, kind: str, chunk_size: int, chunk_overlap: int, heading: str = "", meta: Mapping[str, int] | None = None, start: int = 0) -> list[Chunk]:
    """Chunks of `text`; `kind` "markdown" keeps heading paths, anything else is plain text under
    `heading` (a sheet or slide name). Indices count from `start`; every chunk carries `meta`."""
    text_splitter = splitter(chunk_size, chunk_overlap)
    sections = markdown_sections(text) if kind == "markdown" else [(heading, text)]
    chunks: list[Chunk] = []
    for path, body in sections:
        if heading and kind == "markdown":
            path = f"{heading} > {path}" if path else heading
        budget = max(chunk_size - len(path) - 1, chunk_size // 2) if path else chunk_size
        for piece in _pieces(body, budget, text_splitter):
            if _WORDS.search(piece):  # a lone code fence or rule between headings is not a chunk
                chunks.append(Chunk(
                    text=f"{path}\n{piece}" if path else piece, index=start + len(chunks), heading=path, meta=dict(meta or {})))
    return chunks


def split_loaded(loaded: "Loaded", chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """A loaded file's chunks: section by section (page, slide, sheet) when it has sections, so no
    chunk spans two pages and each keeps its page or slide number."""
    if not loaded.sections:
        return split(loaded.text, loaded.kind, chunk_size, chunk_overlap)
    chunks: list[Chunk] = []
    for section in loaded.sections:
        chunks += split(section.text, "text", chunk_size, chunk_overlap, section.heading, section.meta, len(chunks))
    return chunks
