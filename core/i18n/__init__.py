"""UI strings in 中文 and English. Each page owns one table module; `t` merges them.

Keys are stable identifiers, never shown; a missing Chinese text falls back to English,
then to the key, so a gap is visible but never crashes a page.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Mapping

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"


@cache
def _table() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for module in pkgutil.iter_modules(__path__):
        strings = getattr(importlib.import_module(f"{__name__}.{module.name}"), "STRINGS", {})
        for key, (zh, en) in strings.items():
            if key in merged:
                raise ValueError(f"duplicate i18n key {key} in {module.name}")
            merged[key] = {"zh": zh, "en": en}
    return merged


def t(key: str, lang: str = DEFAULT_LANGUAGE, **fmt: object) -> str:
    entry = _table().get(key)
    text = (entry.get(lang) or entry.get("en")) if entry else key
    return text.format(**fmt) if fmt else text


class Bilingual(str):
    """A message that is English as a str (CLI, logs, callbacks that take a str) and also carries
    its Chinese in `.zh`, for stored texts the UI shows in its language (job progress)."""

    zh: str

    def __new__(cls, en: str, zh: str) -> "Bilingual":
        message = super().__new__(cls, en)
        message.zh = zh
        return message

    def __reduce__(self):  # copy / pickle keep both languages
        return Bilingual, (str(self), self.zh)


def chinese_of(message: str) -> str:
    """The Chinese a Bilingual message carries; "" for a plain str."""
    return getattr(message, "zh", "")


def keys() -> set[str]:
    return set(_table())


@dataclass(frozen=True)
class Message:
    """A text for a person: a key in the language tables plus its parameters, rendered only where it
    is shown (the UI in its language, the CLI and API in English), so no module outside `core/i18n`
    holds a sentence. `str()` is English, for logs and callers that take a str."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: str) -> str:
        return t(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.render("en")

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Message":
        return cls(str(data["key"]), dict(data.get("params") or {}))


def msg(key: str, **params: Any) -> Message:
    """`msg("kb.file_too_large", name=name, limit_mb=20)`: the one way core code says something to a person."""
    return Message(key, params)
