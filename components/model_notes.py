"""Honest expectations: where the user meets the built-in demo model, say what it is and what to load instead."""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from core.models.engine import Engine

SYSTEM_PAGE = "pages/system.py"


def is_demo(engine: Engine | None) -> bool:
    """The embedded SmolLM2-135M: fine for trying the app, not for Chinese or real questions."""
    return engine is not None and engine.info.kind == "embedded"


def demo_note(engine: Engine | None, key: str) -> None:
    """The full note (Home, Chat's empty state) with a link to the System page."""
    if not is_demo(engine):
        return
    with st.container(border=True, key=f"demo-note-{key}"):
        st.markdown("🐣 " + t("demo.note"))
        st.page_link(SYSTEM_PAGE, label=t("demo.go_system"), icon="🖥️")


def demo_badge(engine: Engine | None) -> None:
    """One line under the sidebar's model badge."""
    if is_demo(engine):
        st.caption("🐣 " + t("demo.badge") + " · " + t("demo.go_system"))
