"""Errors whose message is safe to show a user and says what to do next.

Anything else that escapes is a bug: the UI logs it and shows a generic apology, never a
traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; `hint` tells them how."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class ModelSourceError(UserError):
    """The model source cannot be resolved (missing folder, no weights, offline hub)."""


class PreflightError(UserError):
    """Loading would fail; raised before spending minutes on it."""


class ModelNotLoaded(UserError):
    def __init__(self) -> None:
        super().__init__("No model is loaded.", "Load one on the System page.")


class InputError(UserError):
    """The request itself is invalid (empty message, bad option)."""


class Cancelled(Exception):
    """A job or generation was stopped on request."""
