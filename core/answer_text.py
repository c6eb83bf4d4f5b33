"""Clean up a model's answer before it is shown: small headings, no echoed prompt, linked [n] marks.

Small models (the embedded SmolLM2 above all) like to open with a `# Title`, to repeat the
knowledge-base prompt ("上下文：…", "有用的回答：") before answering, or to start a new
"问题：…" after it. These functions are pure text → text, tested on their own, and safe
on a half-streamed answer (they run on every streamed piece).
"""

from __future__ import annotations

import hashlib
import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(\s{0,3})(#{1,6})\s+(.*?)\s*#*\s*$")
# Answer openers models add on their own, whatever the template says.
_GENERIC_CUES = ("回答：", "答：", "答案：", "有用的回答：", "answer:", "helpful answer:")
_CONTEXT_HEADER = re.compile(r"^\[\d{1,2}\] \(.*\)$")  # how format_context opens each chunk
_MARK = re.compile(r"(?<![\\\]!])(?:\[(\d{1,2})\]|【(\d{1,2})】)(?!\()")


def _outside_code(text: str):
    """(line, in_code) for each line: fenced code blocks are left exactly as written."""
    in_code = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            yield line, True
            in_code = not in_code
        else:
            yield line, in_code


def tame_headings(text: str) -> str:
    """`# Big title` inside an answer becomes a bold line: a chat bubble is not a document."""
    out = []
    for line, in_code in _outside_code(text):
        m = None if in_code else _HEADING.match(line)
        out.append(f"{m.group(1)}**{m.group(3)}**" if m and m.group(3) else line)
    return "\n".join(out)


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line.replace("：", ":")).strip().lower()


def template_labels(template: str) -> list[str]:
    """The short label lines around the template's slots: "上下文：", "问题：", "有用的回答：" for the default."""
    labels = []
    for piece in re.split(r"\{context\}|\{question\}", template):
        lines = [ln.strip() for ln in piece.splitlines() if ln.strip()]
        for line in lines[-1:] + lines[:1]:  # the line just before a slot, and the one just after
            if len(line) <= 30 and _norm(line) not in labels:
                labels.append(_norm(line))
    return labels


def strip_prompt_echo(text: str, template: str, prompt: str) -> str:
    """Drop what the model repeated of its prompt.

    `template` is the knowledge base's prompt template, `prompt` the filled-in message the
    model saw. An answer that opens with a line of the template itself (its instruction, a
    label such as "上下文：", a context header "[1] (file)") is an echo: lines of the
    prompt are dropped until the answer cue ("有用的回答：", "Answer:"), which is cut off
    its line. An answer that merely opens with a sentence of the context keeps it. The
    answer ends where the model starts a new round (a later line opening with a label).
    """
    labels = template_labels(template)
    final = labels[-1:] if labels else []
    answer_cues = sorted({*final, *(_norm(c) for c in _GENERIC_CUES)}, key=len, reverse=True)
    other_labels = [lb for lb in labels if lb not in answer_cues]
    literal = {_norm(ln) for ln in re.sub(r"\{context\}|\{question\}", "\n", template).splitlines() if ln.strip()}
    prompt_lines = {_norm(ln) for ln in prompt.splitlines() if ln.strip()}
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    first = _norm(lines[0]) if lines else ""
    echo = first in literal or _CONTEXT_HEADER.match(first) is not None or any(first.startswith(lb) for lb in other_labels)
    while lines:
        line = _norm(lines[0])
        cue = next((c for c in answer_cues if line.startswith(c)), None)
        if cue is not None:  # the answer starts right after its cue
            lines[0] = _cut_label(lines[0], cue)
            if not lines[0].strip():
                lines.pop(0)
            break
        if not echo:
            break
        if not line or line in prompt_lines:
            lines.pop(0)
            continue
        label = next((lb for lb in other_labels if line.startswith(lb)), None)
        if label is None:
            break
        rest = _cut_label(lines[0], label)
        if _norm(rest) and _norm(rest) not in prompt_lines:  # "上下文：大熊猫吃竹子。": the label glued to the answer
            lines[0] = rest
            break
        lines.pop(0)
    for i in range(1, len(lines)):
        if any(_norm(lines[i]).startswith(label) for label in labels):
            lines = lines[:i]
            break
    return "\n".join(lines).strip()


def _cut_label(line: str, cue: str) -> str:
    """Remove the label `cue` (given normalised) from the start of `line`, keeping what follows."""
    stripped = line.lstrip()
    for end in range(1, len(stripped) + 1):
        if _norm(stripped[:end]) == cue:
            return stripped[end:]
    return ""


def anchor(turn_text: str) -> str:
    """A stable id for the source list of one answer (several answers in a chat each have a [1])."""
    return f"src-{hashlib.sha1(turn_text.encode('utf-8')).hexdigest()[:10]}"


def link_citations(text: str, citations: list[dict], anchor_key: str) -> str:
    """`[1]` / `【1】` in the answer become links to the answer's source list, with source 1's
    file name as the tooltip.

    Only numbers that have a source are linked, code is untouched, and an answer without
    marks comes back unchanged.
    """
    sources = {int(c["n"]): c for c in citations}
    if not sources:
        return text

    def link(m: re.Match) -> str:
        n = int(m.group(1) or m.group(2))
        c = sources.get(n)
        if c is None:
            return m.group(0)
        title = str(c.get("source", "")).replace('"', "'")
        return f'[\\[{n}\\]](#{anchor(anchor_key)} "{title}")'

    out = []
    for line, in_code in _outside_code(text):
        if in_code:
            out.append(line)
        else:  # inline `code` spans are kept as they are
            parts = re.split(r"(`[^`]*`)", line)
            out.append("".join(p if p.startswith("`") else _MARK.sub(link, p) for p in parts))
    return "\n".join(out)
