"""Every piece of text an AppTest run put on screen, and the Latin words in it that need a reason.

Used by `tests/test_ui_language.py`. It reads the rendered element tree (protobufs), not the
i18n tables, so new pages, widgets and keys are covered without touching it. What counts as
allowed Latin lives in `tests/latin_allowlist.txt` (one word a line, `#` comments), plus the
patterns below (paths, file names, code identifiers, URLs, placeholders).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.json_format import MessageToDict

ALLOWLIST = Path(__file__).with_name("latin_allowlist.txt")
# Proto fields that are never shown as text (ids, styling, data, what the user typed).
SKIP_FIELDS = {
    "id", "formId", "key", "icon", "type", "format", "url", "pageScriptHash", "fragmentId", "color", "width",
    "height", "data", "default", "value", "rawValue", "setValue", "spec", "body_html", "avatar", "avatarType",
    "deltaPath", "mimeType", "fileName", "elementHash", "selections", "columnOrder", "columns", "editingMode",
    "selectionMode", "useContainerWidth", "theme", "vegaLiteTheme", "language", "placement", "labelVisibility",
    "alignment", "gap", "verticalAlignment", "widthConfig", "heightConfig", "textAlignmentConfig", "iconPosition",
    "dataframeTheme", "autoplay", "accept", "acceptMultipleFiles", "maxUploadSizeMb", "tabIndex", "page",
    "tag", "deferredFileId", "anchor", "dataType",
}
# Code blocks in these languages are code (examples, logs); plain-text ones are messages.
CODE_LANGUAGES = {"bash", "sh", "shell", "python", "json", "log", "toml", "yaml", "javascript", "text/x-python"}
ALLOWED_PATTERNS = [
    r"<[^>]+>",  # markup in unsafe_allow_html text (an anchor) is not shown
    r"https?://\S+",
    r"`[^`]*`",  # inline code
    r"\{[A-Za-z_]+\}",  # a template placeholder shown as such
    r"[\w.@-]*[/\\][\w./\\@-]*",  # paths and ids with a slash: /root/autodl-tmp, ZhipuAI/chatglm3-6b
    r"[\w-]+\.(?:md|txt|json|jsonl|csv|pdf|docx|html|ipynb|zip|exe|py|toml|log|gguf|safetensors|toml)\b",
    r"(?<![\w])\.[A-Za-z0-9]+\b",  # a bare extension: .md .exe
    r"\b[A-Za-z0-9]*_[A-Za-z0-9_]*\b",  # code identifiers: q_proj, LIANDAN_PASSWORD, disable_adapter
    r"\b[A-Za-z]+\.[A-Za-z_.]+\b",  # dotted code: server.address, torch.float32
    r"\b\d+(?:\.\d+)?e[-+]?\d+\b",  # 1e-4
    r"\b\d+(?:\.\d+)?[A-Za-z]+\b",  # numbers with units glued: 200MB, 1.5B, 0.5B
    r"\b\d[\w-]*",  # ids and dates that start with a digit: 20261202-014305-673a82
]
WORD = re.compile(r"[A-Za-z][A-Za-z0-9@+'’-]*")


def allowlist(extra: set[str] = frozenset()) -> set[str]:
    words = set()
    for line in ALLOWLIST.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.add(line.lower())
    return words | {w.lower() for w in extra}


@dataclass
class Shown:
    where: str  # element type and path, for the failure message
    text: str


def _strings(value, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in SKIP_FIELDS:
                yield from _strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, path)
    elif isinstance(value, str):
        yield path, value


def _chart_texts(spec: dict) -> Iterator[str]:
    """Titles a Vega-Lite chart draws, and field names it shows where no title was given."""
    if isinstance(spec, dict):
        for channel, enc in (spec.get("encoding") or {}).items():
            for e in enc if isinstance(enc, list) else [enc]:
                if isinstance(e, dict) and "field" in e and channel not in ("x2", "y2") and "title" not in e:
                    yield str(e["field"])
        for k, v in spec.items():
            if k == "title" and isinstance(v, str):
                yield v
            elif k not in ("data", "datasets"):
                yield from _chart_texts(v)
    elif isinstance(spec, list):
        for v in spec:
            yield from _chart_texts(v)


def _frame_texts(frame) -> Iterator[str]:
    yield from (str(c) for c in frame.columns)
    for column in frame.columns:
        yield from (v for v in frame[column].tolist() if isinstance(v, str))


def shown_texts(node, skip_bodies: set[str] = frozenset(), path: str = "") -> Iterator[Shown]:
    """Walk the tree; `skip_bodies` are markdown bodies (stripped) that are content (model answers), not UI."""
    kind = getattr(node, "type", type(node).__name__)
    here = f"{path}/{kind}"
    proto = getattr(node, "proto", None)
    if kind == "chat_message":
        children = list(node.children.values())
        first_md = next((c for c in children if getattr(c, "type", "") == "markdown"), None)
        for child in children:  # the message body is the user's words or the model's
            if child is not first_md:
                yield from shown_texts(child, skip_bodies, here)
        return
    if kind in ("html", "code", "json", "arrow_vega_lite_chart", "vega_lite_chart") or hasattr(proto, "spec"):
        if kind == "code" and proto.language not in CODE_LANGUAGES:
            yield Shown(here, proto.code_text)
        elif hasattr(proto, "spec") and proto.spec:
            yield from (Shown(here, s) for s in _chart_texts(json.loads(proto.spec)))
        return
    if kind in ("dataframe", "arrow_data_frame", "arrow_table", "table"):
        yield from (Shown(here, s) for s in _frame_texts(node.value))  # AppTest decodes the Arrow data
    elif proto is not None:
        d = MessageToDict(proto, preserving_proto_field_name=False, use_integers_for_enums=True)  # enums are not text
        for where, s in _strings(d, here):
            if kind == "markdown" and s.strip() in skip_bodies:
                continue
            yield Shown(where, s)
    for child in getattr(node, "children", {}).values():
        yield from shown_texts(child, skip_bodies, here)


def latin_leaks(texts: list[Shown], allowed: set[str]) -> list[tuple[str, str, str]]:
    """(word, where, text) for every Latin word that is neither allowed nor inside an allowed pattern."""
    leaks = []
    for shown in texts:
        text = shown.text
        for pattern in ALLOWED_PATTERNS:
            text = re.sub(pattern, " ", text)
        for word in WORD.findall(text):
            word = word.strip("'’-+@")
            if len(word) < 2 or word.lower() in allowed:
                continue
            leaks.append((word, shown.where, shown.text[:160]))
    return leaks
