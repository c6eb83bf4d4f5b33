"""Regenerate, Edit (with Cancel), Clear and 👍/👎 under the last answer.

The buttons act in callbacks, which run before the page is drawn again: the conversation
is already changed when the page draws it, so the old answer (or the edit box) is gone
and the new answer streams in its place, not under a stale copy. While an answer streams
the page draws no action buttons at all.
"""

from __future__ import annotations

import streamlit as st

from components.chat.mode_picker import render_turn
from components.chat.rating import rating_buttons
from components.i18n import t
from core.conversations import Conversation, ConversationStore, Turn

PENDING = "chat-pending"  # conversation id whose last user message waits for an answer
EDITING = "chat-editing"  # conversation id whose last user message is being edited


def last_user_index(conv: Conversation) -> int | None:
    return next((i for i in range(len(conv.turns) - 1, -1, -1) if conv.turns[i].role == "user"), None)


def take_pending(conv: Conversation) -> bool:
    """True once after Regenerate / Send edited asked for a new answer to this conversation."""
    if st.session_state.get(PENDING) == conv.id:
        del st.session_state[PENDING]
        return True
    return False


def _regenerate(store: ConversationStore, conv_id: str) -> None:
    conv = store.get(conv_id)
    if conv is None or last_user_index(conv) is None:
        return
    while conv.turns and conv.turns[-1].role != "user":
        conv.turns.pop()
    store.save(conv)
    st.session_state[PENDING] = conv_id
    st.session_state.pop(EDITING, None)


def _start_edit(conv_id: str) -> None:
    st.session_state[EDITING] = conv_id


def _cancel_edit() -> None:
    st.session_state.pop(EDITING, None)


def _send_edit(store: ConversationStore, conv_id: str) -> None:
    conv = store.get(conv_id)
    text = st.session_state.get(f"edit-{conv_id}", "")
    index = last_user_index(conv) if conv is not None else None
    if index is None or not text.strip():
        return
    del conv.turns[index:]
    conv.turns.append(Turn("user", text))
    store.save(conv)
    st.session_state.pop(EDITING, None)
    st.session_state[PENDING] = conv_id


def _clear(store: ConversationStore, conv_id: str) -> None:
    conv = store.get(conv_id)
    if conv is not None:
        conv.turns.clear()
        store.save(conv)
    st.session_state.pop(EDITING, None)


def render_history(conv: Conversation, store: ConversationStore, busy: bool) -> None:
    """The saved turns; the last user message becomes an edit box while editing; actions when idle."""
    editing = not busy and st.session_state.get(EDITING) == conv.id
    edit_at = last_user_index(conv) if editing else None
    for i, turn in enumerate(conv.turns):
        if i == edit_at:
            _edit_box(conv, store, turn)
        else:
            render_turn(turn)
    if busy or not conv.turns or edit_at is not None:
        return
    c1, c2, c3, c4, c5, _ = st.columns([1, 1, 1, 0.5, 0.5, 2])
    c1.button(t("chat.regenerate"), key="chat-regenerate", on_click=_regenerate, args=(store, conv.id),
              disabled=last_user_index(conv) is None)
    c2.button(t("chat.edit_last"), key="chat-edit", on_click=_start_edit, args=(conv.id,),
              disabled=last_user_index(conv) is None)
    c3.button(t("chat.clear"), key="chat-clear", on_click=_clear, args=(store, conv.id))
    rating_buttons(conv, (c4, c5))


def _edit_box(conv: Conversation, store: ConversationStore, turn: Turn) -> None:
    with st.chat_message("user"):
        st.text_area(t("chat.edit_box"), turn.content, key=f"edit-{conv.id}")
        c1, c2, _ = st.columns([1, 1, 4])
        c1.button(t("chat.send_edit"), key="chat-send-edit", type="primary", on_click=_send_edit, args=(store, conv.id))
        c2.button(t("chat.cancel_edit"), key="chat-cancel-edit", on_click=_cancel_edit)
