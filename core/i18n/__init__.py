"""Every text a person reads, in 中文 and English. Each area owns one table module (`STRINGS`);
`t` merges them. Pages show keys with `components.i18n.t`; `core` says things as a `Message`
(`msg(key, **params)`), stored as key + parameters and rendered where it is shown.

Keys are stable identifiers, never shown; a missing Chinese text falls back to English,
then to the key, so a gap is visible but never crashes a page (tests/test_i18n_tables.py
keeps both languages present).
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


def keys() -> set[str]:
    return set(_table())


def has(key: str) -> bool:
    return key in _table()


_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Message:
    """A text for a person: a key in the language tables plus its parameters, rendered only where it
    is shown (the UI in its language, the CLI and API in English or the client's `Accept-Language`),
    so no module outside `core/i18n` holds a sentence. `str()` is English, for logs and callers that
    take a str. A parameter may itself be a `Message` (a reason inside a sentence): it renders in the
    same language. Other parameters are kept as JSON scalars (a `Path` becomes its str), so a
    message can be stored in a job file and read back unchanged."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clean = {name: _param(value) for name, value in dict(self.params).items()}
        object.__setattr__(self, "params", clean)

    def render(self, lang: str) -> str:
        values = {name: v.render(lang) if isinstance(v, Message) else v for name, v in self.params.items()}
        return t(self.key, lang, **values)

    def __str__(self) -> str:
        return self.render("en")

    def to_json(self) -> dict[str, Any]:
        """The same shape `dataclasses.asdict` gives, so a record holding a Message can be saved either way."""
        return {"key": self.key, "params": {
            name: v.to_json() if isinstance(v, Message) else v for name, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Message":
        # Any other parameter is a scalar (see _param), so a mapping parameter is a nested message.
        params = {name: cls.from_json(v) if isinstance(v, Mapping) else v
                  for name, v in dict(data.get("params") or {}).items()}
        return cls(str(data["key"]), params)


def _param(value: Any) -> Any:
    return value if isinstance(value, (Message, *_SCALARS)) else str(value)


def msg(key: str, /, **params: Any) -> Message:
    """`msg("kb.file_too_large", name=name, limit_mb=20)`: the one way core code says something to a person."""
    return Message(key, params)


def verbatim(text: str) -> Message:
    """Text that is not ours to translate (an exception's own words, a server's reply): shown as is."""
    return Message("text.verbatim", {"text": text})


def with_hint(message: Message, hint: Message | None) -> Message:
    """A message followed by what to do about it, as one stored text (a job's error)."""
    return message if hint is None else Message("text.with_hint", {"message": message, "hint": hint})


def joined(messages: list[Message]) -> Message | None:
    """Several messages as one, separated by a space (every error a preflight found)."""
    if not messages:
        return None
    first, *rest = messages
    for message in rest:
        first = Message("text.joined", {"first": first, "second": message})
    return first


def stored(value: Any, zh: str = "") -> Message | None:
    """A text read back from a file: a `Message` as `to_json` wrote it, or, from versions before
    messages were keys, an English str with its Chinese twin beside it ("" when it had none)."""
    if isinstance(value, Mapping) and "key" in value:
        return Message.from_json(value)
    if isinstance(value, str) and value:
        return Message("text.stored", {"en": value, "zh": zh or value})
    return None
