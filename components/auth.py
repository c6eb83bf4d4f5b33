"""The optional password gate in front of every page.

A login is bound to the browser, not to the Streamlit session id: a websocket that
presents a known session id reconnects to that session (its `session_state` included), and
session ids are not secrets (they appear in logs and used to appear in kernel command
lines). So "logged in" is stored as the browser's binding (`core.auth.login_binding`: a
digest of its XSRF cookie's token, or the connection when there is no cookie) and
compared on every run; the same session reached from another browser asks again.
"""

from __future__ import annotations

import hashlib
import secrets

import streamlit as st

from components.i18n import t
from components.resources import runtime
from core.auth import check_password, login_binding

KEY = "authenticated"
XSRF_COOKIE = "_streamlit_xsrf"
CONNECTION_TAG = "_liandan_connection"


def _connection() -> str:
    """A random tag of this session's current websocket client (a reconnect is a new client)."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        client = Runtime.instance().get_client(ctx.session_id) if ctx is not None else None
    except RuntimeError:  # no server (AppTest): nothing can reconnect
        return "no-server"
    if client is None:
        return "no-client:" + secrets.token_hex(16)  # never matches: ask for the password
    tag = getattr(client, CONNECTION_TAG, None)
    if tag is None:
        tag = secrets.token_hex(16)
        try:
            setattr(client, CONNECTION_TAG, tag)
        except AttributeError:
            tag = f"id:{id(client)}"
    return tag


def _binding() -> str:
    try:
        cookie = st.context.cookies.get(XSRF_COOKIE)
    except Exception:  # noqa: BLE001 - no context outside a server run
        cookie = None
    return login_binding(cookie, _connection())


def voter_id() -> str:
    """An anonymous, stable id of this browser (a digest of its login binding), so the leaderboard
    can cap votes per voter without knowing who anyone is."""
    return hashlib.sha256(str(_binding()).encode("utf-8")).hexdigest()[:12]


def expected_password() -> str | None:
    settings = runtime().settings
    if settings.password is not None:
        return settings.password.get_secret_value()
    try:
        value = st.secrets.get("password")
    except (FileNotFoundError, KeyError, AttributeError):  # no secrets.toml
        return None
    return str(value) if value else None


def require_password() -> None:
    """Stop the script with a login form unless the session has entered the password."""
    expected = expected_password()
    if expected is None:
        return
    binding = _binding()
    if st.session_state.get(KEY) == binding:
        return
    st.title(t("auth.title"))
    with st.form("login"):
        given = st.text_input(t("auth.password"), type="password")
        if st.form_submit_button(t("auth.submit")):
            if check_password(given, expected):
                st.session_state[KEY] = binding
                st.rerun()
            st.error(t("auth.wrong"))
    st.stop()


def password_enabled() -> bool:
    return expected_password() is not None
