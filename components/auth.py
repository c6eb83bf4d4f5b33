"""The optional password gate in front of every page."""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from components.resources import runtime
from core.auth import check_password

KEY = "authenticated"


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
    if expected is None or st.session_state.get(KEY):
        return
    st.title(t("auth.title"))
    with st.form("login"):
        given = st.text_input(t("auth.password"), type="password")
        if st.form_submit_button(t("auth.submit")):
            if check_password(given, expected):
                st.session_state[KEY] = True
                st.rerun()
            st.error(t("auth.wrong"))
    st.stop()


def password_enabled() -> bool:
    return expected_password() is not None
