"""UI strings in 中文 and English. Each page owns one table module; `t` merges them.

Keys are stable identifiers, never shown; a missing Chinese text falls back to English,
then to the key, so a gap is visible but never crashes a page.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

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
