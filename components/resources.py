"""The only `st.cache_resource` getters: one runtime, one model, one store of each per process."""

from __future__ import annotations

import streamlit as st

from core.conversations import ConversationStore
from core.models.engine import Engine
from core.personas import PersonaStore
from core.runtime import Runtime, get_runtime


@st.cache_resource(show_spinner=False)
def runtime() -> Runtime:
    return get_runtime()


def engine() -> Engine | None:
    return runtime().models.engine


@st.cache_resource(show_spinner=False)
def conversations() -> ConversationStore:
    return ConversationStore(runtime().settings.conversations_dir)


@st.cache_resource(show_spinner=False)
def personas() -> PersonaStore:
    return PersonaStore(runtime().settings.prefs_dir / "personas.json")
