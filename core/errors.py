"""Errors whose message is safe to show a user and says what to do next.

Anything else that escapes is a bug: the UI logs it and shows a generic apology, never a
traceback.

Each user error carries English (what `str()` gives: CLI, API and logs stay English) and,
keyword-only, Simplified Chinese for the UI, which defaults to Chinese; `text(lang)` picks one.
New code passes `Message`s instead (`UserError(msg("kb.file_too_large", name=n), msg("kb.file_too_large.hint"))`):
the texts then live only in the language tables.
"""

from __future__ import annotations

from core.i18n import Message, msg


class UserError(Exception):
    """A problem the user can fix; `hint` tells them how."""

    def __init__(
        self, message: str | Message, hint: str | Message = "", *, zh: str = "", zh_hint: str = ""
    ) -> None:
        self.parts = (message, hint)
        if isinstance(message, Message):
            zh, zh_hint = message.render("zh"), hint.render("zh") if isinstance(hint, Message) else ""
        message, hint = str(message), str(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.zh = zh
        self.zh_hint = zh_hint

    def text(self, lang: str) -> str:
        """The message and hint in `lang` ("zh" or "en"); English when no Chinese was given."""
        if all(isinstance(part, Message) or not part for part in self.parts):
            return " ".join(part.render(lang) for part in self.parts if part).strip()
        if lang == "zh" and self.zh:
            return f"{self.zh} {self.zh_hint}".strip()
        return str(self)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


def chinese_text(exc: BaseException) -> str:
    """A user error's Chinese text, to store beside its English one; "" for any other error
    (technical text that stays as str(exc)) or a user error given no Chinese."""
    return exc.text("zh") if isinstance(exc, UserError) and exc.zh else ""


class ModelSourceError(UserError):
    """The model source cannot be resolved (missing folder, no weights, offline hub)."""


class PreflightError(UserError):
    """Loading would fail; raised before spending minutes on it."""


class ModelNotLoaded(UserError):
    def __init__(self) -> None:
        super().__init__(msg("errors.no_model"), msg("errors.no_model.hint"))


class InputError(UserError):
    """The request itself is invalid (empty message, bad option)."""


class Cancelled(Exception):
    """A job or generation was stopped on request."""
