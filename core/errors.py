"""Errors whose message is safe to show a user and says what to do next.

Anything else that escapes is a bug: the UI logs it and shows a generic apology, never a
traceback.

A user error carries `Message`s (a key in the language tables plus parameters), so it renders in
whichever language its reader uses: the UI's, English for the CLI and logs (`str()`), the
client's `Accept-Language` for the API. `UserError("kb.x", name=n)`, or
shorter `UserError("kb.x", name=n)`, which takes "kb.x.hint" as the hint when the table has one.
"""

from __future__ import annotations

from typing import Any

from core.i18n import Message, has, msg, with_hint


class UserError(Exception):
    """A problem the user can fix; `hint` tells them how."""

    def __init__(self, message: Message | str, hint: Message | str | None = None, /, **params: Any) -> None:
        if isinstance(message, str):  # a key: its parameters given here, its hint found by name
            if hint is None and has(f"{message}.hint"):
                hint = msg(f"{message}.hint", **params)
            message = msg(message, **params)
        self.message_text: Message = message
        self.hint_text: Message | None = msg(hint, **params) if isinstance(hint, str) and hint else hint or None
        super().__init__(str(message))
        self.message = str(message)  # English: what logs, the CLI and older callers read
        self.hint = str(self.hint_text) if self.hint_text is not None else ""

    def as_message(self) -> Message:
        """Message and hint as one `Message`, to store (a job's error) and render later."""
        return with_hint(self.message_text, self.hint_text)

    def text(self, lang: str) -> str:
        """The message and hint in `lang` ("zh" or "en")."""
        return self.as_message().render(lang)

    def __str__(self) -> str:
        return self.text("en")


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
