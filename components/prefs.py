"""Widgets whose values outlive a page change and a reload, per browser user.

Streamlit forgets a widget's value when a page that does not draw it runs (that is why
"max new tokens" fell back to 512 after visiting the Knowledge Base page). A widget made
through `remembered(key, default)` keeps its value twice: in a plain session-state dict
(survives page changes) and on disk under the browser's id cookie (survives reloads and
restarts). Without the cookie (cookies off, AppTest) it still survives page changes.
"""

from __future__ import annotations

import streamlit as st

from components.resources import runtime
from core.prefs import PrefsStore, Scalar, valid_user_id, USER_COOKIE

SESSION = "_user_prefs"  # {"user": id or None, "values": {widget key: value}}


def user_id() -> str | None:
    """This browser's id from its cookie, or None (no cookie yet, or a forged one)."""
    try:
        value = st.context.cookies.get(USER_COOKIE)
    except Exception:  # noqa: BLE001 - no browser (scripts, bare mode): nothing to persist
        return None
    return value if valid_user_id(value) else None


def _store() -> PrefsStore:
    return PrefsStore(runtime().settings.prefs_dir / "users")


def _values() -> dict[str, Scalar]:
    state = st.session_state.get(SESSION)
    uid = user_id()
    if state is None or state["user"] != uid:
        state = {"user": uid, "values": _store().load(uid) if uid else {}}
        st.session_state[SESSION] = state
    return state["values"]


def _save(key: str) -> None:
    values = _values()
    values[key] = st.session_state.get(key)
    uid = st.session_state[SESSION]["user"]
    if uid:
        _store().save(uid, values)


def remembered(key: str, default: Scalar, valid=None) -> dict:
    """Put the remembered value (or `default`) into the widget's state before it is drawn.

    Returns the keyword arguments for the widget (`key`, `on_change`); pass no `value=`.
    `valid(value) -> bool` drops a stored value that no longer fits (options changed).
    """
    values = _values()
    if key not in st.session_state:
        value = _same_type(values.get(key, default), default)
        if valid is not None and not valid(value):
            value = default
        st.session_state[key] = value
    return {"key": key, "on_change": _save, "args": (key,)}


def _same_type(value: Scalar, default: Scalar) -> Scalar:
    """A stored value of another type than the widget's (JSON turned 1.0 into 1) is converted or dropped."""
    if default is None or type(value) is type(default):
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return default
