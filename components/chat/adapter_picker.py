"""The Chat sidebar's adapter selector: base or any adapter trained on the loaded base.

Switching to an adapter applies its card's persona as the conversation's system prompt
(the adapter was trained with it); switching back to the base restores the prompt the
user had before. Render it before the persona editor, which shows the prompt it set.
"""

from __future__ import annotations

import streamlit as st

from components import errors
from components.i18n import t
from components.chat.persona_editor import set_system_prompt
from core.conversations import Conversation, ConversationStore
from core.models.engine import BASE
from core.adapters.pool import AdapterPool, is_base


def adapter_picker(conv: Conversation, store: ConversationStore, pool: AdapterPool | None) -> str | None:
    """The chosen variant: an adapter's name, or None for the base model."""
    if pool is None:
        return None
    names = [c.name for c in pool.compatible()]
    if not names:
        return None
    labels = {BASE: t("compare.base"), **{n: f"🧩 {n}" for n in names}}
    last = next((x.variant for x in reversed(conv.turns) if x.role == "assistant" and x.variant), BASE)
    options = list(labels)
    choice = st.sidebar.selectbox(
        t("compare.adapter"), options, index=options.index(last) if last in options else 0,
        format_func=labels.get, key=f"chat-adapter-{conv.id}", help=t("compare.adapter_help"),
    )
    previous_key = f"chat-adapter-prev-{conv.id}"
    previous = st.session_state.get(previous_key, last if last in options else BASE)
    st.session_state[previous_key] = choice
    if choice != previous:
        switch(conv, store, pool, previous, choice)
    return None if is_base(choice) else choice


def switch(conv: Conversation, store: ConversationStore, pool: AdapterPool, previous: str, choice: str) -> None:
    """Apply the new variant's persona and load its adapter now, so an error shows at once."""
    own_key = f"chat-own-prompt-{conv.id}"
    if is_base(previous):
        st.session_state[own_key] = conv.system_prompt  # what the user had, to restore later
    with errors.guard():
        card = pool.card(choice)
        if card is not None:
            with st.sidebar, st.spinner(t("compare.adapter_loading", name=card.name)):
                pool.ensure(card.name)
        prompt = card.system_prompt if card and card.system_prompt else st.session_state.get(own_key, conv.system_prompt)
        if prompt != conv.system_prompt:
            set_system_prompt(conv, store, prompt)
            if card is not None:
                st.sidebar.caption(t("compare.persona_applied", name=card.name))
