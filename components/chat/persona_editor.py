"""Persona presets and the editable system prompt of the current conversation."""

from __future__ import annotations

import streamlit as st

from components.i18n import lang, t
from core.conversations import Conversation, ConversationStore
from core.personas import DEFAULT_PERSONAS, PersonaStore


def display_name(name: str, language: str) -> str:
    """The built-in presets are named "助手 Assistant": show the half in the UI's language."""
    if name in DEFAULT_PERSONAS and " " in name:
        zh, en = name.split(" ", 1)
        return zh if language == "zh" else en
    return name


def prompt_key(conv: Conversation) -> str:
    """The session-state key of the conversation's system-prompt box."""
    return f"sys-{conv.id}"


def set_system_prompt(conv: Conversation, store: ConversationStore, prompt: str) -> None:
    """Replace the conversation's system prompt from outside the editor (the adapter picker applies
    a card's persona): the text box shows it on this run, since the picker renders first."""
    conv.system_prompt = prompt
    st.session_state[prompt_key(conv)] = prompt
    store.save(conv)


def persona_editor(conv: Conversation, store: ConversationStore, personas: PersonaStore) -> None:
    presets = personas.all()
    with st.sidebar.expander(t("chat.persona"), expanded=False):
        names = ["—", *presets]
        shown = {n: display_name(n, lang()) for n in names}  # resolved now: format_func may run outside the script
        preset = st.selectbox(t("chat.persona_preset"), names, key=f"preset-{conv.id}", format_func=shown.get)
        if preset != "—" and st.session_state.get(f"applied-{conv.id}") != preset:
            st.session_state[f"applied-{conv.id}"] = preset
            st.session_state[prompt_key(conv)] = presets[preset]
        prompt = st.text_area(t("chat.system_prompt"), conv.system_prompt, key=prompt_key(conv), height=100)
        if prompt != conv.system_prompt:
            conv.system_prompt = prompt
            store.save(conv)
        name = st.text_input(t("common.name"), key=f"persona-name-{conv.id}")
        if st.button(t("chat.save_persona"), key=f"persona-save-{conv.id}") and name.strip():
            personas.save(name, prompt)
            st.success(t("chat.persona_saved"))
