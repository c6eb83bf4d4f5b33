"""Split documents into chunks that stand on their own.

Markdown is split at headings first and every chunk starts with its heading path
("安装 > 环境配置"), so a chunk from deep inside a section still says what it is about.
The character splitter knows Chinese sentence ends (。！？；), the tutorial's 500/150 is
the default, and both numbers are per knowledge base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "! ", "? ", "; ", ". ", "，", ", ", " ", ""]
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_WORDS = re.compile(r"\w")


@dataclass(frozen=True)
class Chunk:
    text: str
    index: int
    heading: str = ""


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


def split(text: str, kind: str, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Chunks of `text`; `kind` "markdown" keeps heading paths, anything else is plain text."""
    text_splitter = splitter(chunk_size, chunk_overlap)
    sections = markdown_sections(text) if kind == "markdown" else [("", text)]
    chunks: list[Chunk] = []
    for heading, body in sections:
        for piece in text_splitter.split_text(body):
            piece = piece.strip()
            if _WORDS.search(piece):  # a lone code fence or rule between headings is not a chunk
                chunks.append(Chunk(text=f"{heading}\n{piece}" if heading else piece, index=len(chunks), heading=heading))
    return chunks
