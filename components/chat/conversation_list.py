"""The sidebar list of saved conversations: switch, new, rename, delete, export."""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from core.conversations import Conversation, ConversationStore, to_markdown

KEY = "conversation_id"


def unique_labels(convs: list[Conversation], untitled: str) -> dict[str, str]:
    """Radio labels must differ: two "(untitled)" chats would make the list jump between them."""
    labels = {c.id: c.title or untitled for c in convs}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {cid: f"{label} · {cid[:4]}" if counts[label] > 1 else label for cid, label in labels.items()}


def current_conversation(store: ConversationStore, default_system_prompt: str = "") -> Conversation:
    convs = store.list()
    conv_id = st.session_state.get(KEY)
    conv = store.get(conv_id) if conv_id else None
    if conv is None:
        conv = convs[0] if convs else store.new(default_system_prompt)
        st.session_state[KEY] = conv.id
    with st.sidebar:
        st.subheader(t("chat.conversations"))
        if st.button(t("chat.new"), use_container_width=True):
            st.session_state[KEY] = store.new(conv.system_prompt).id
            st.rerun()
        ids = [c.id for c in convs] or [conv.id]
        titles = unique_labels(convs, t("chat.untitled"))  # resolved now: format_func may run outside the script
        untitled = t("chat.untitled")
        chosen = st.radio(
            t("chat.conversations"), ids, index=ids.index(conv.id) if conv.id in ids else 0,
            format_func=lambda i: titles.get(i, untitled), label_visibility="collapsed",
        )
        if chosen != conv.id:
            st.session_state[KEY] = chosen
            st.rerun()
        with st.expander(f"{t('common.rename')} / {t('common.delete')} / {t('chat.export')}"):
            title = st.text_input(t("chat.rename_to"), conv.title, key=f"title-{conv.id}")
            c1, c2 = st.columns(2)
            if c1.button(t("common.rename"), key="rename") and title.strip():
                store.rename(conv.id, title)
                st.rerun()
            if c2.button(t("common.delete"), key="delete", type="secondary"):
                store.delete(conv.id)
                st.session_state.pop(KEY, None)
                st.rerun()
            st.download_button(
                t("chat.export"), to_markdown(conv), file_name=f"{conv.title or conv.id}.md", mime="text/markdown"
            )
    return conv
