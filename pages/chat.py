"""Chat: streaming answers from the shared model, saved conversations, Stop/Regenerate/Edit."""

import streamlit as st

from components import errors, resources
from components.adapter_picker import adapter_picker
from components.chat_modes import render_turn, select_mode
from components.conversation_list import current_conversation
from components.generation_options import generation_options
from components.i18n import t
from components.modes import ModeContext
from components.persona_editor import persona_editor
from core.conversations import Turn

st.title(t("chat.title"))
store = resources.conversations()
mode = select_mode()
mode_settings = mode.sidebar()
conv = current_conversation(store)
adapter = adapter_picker(conv, store, resources.runtime().adapter_pool if resources.engine() else None)
persona_editor(conv, store, resources.personas())
options = generation_options("chat", resources.runtime().settings.max_new_tokens)
engine = resources.engine()

for turn in conv.turns:
    render_turn(turn)

pending = False
if conv.turns:
    c1, c2, c3, _ = st.columns([1, 1, 1, 3])
    if c1.button(t("chat.regenerate")) and any(x.role == "user" for x in conv.turns):
        while conv.turns and conv.turns[-1].role != "user":
            conv.turns.pop()
        pending = True
    if c2.button(t("chat.edit_last")):
        st.session_state["editing"] = True
    if c3.button(t("chat.clear")):
        conv.turns.clear()
        store.save(conv)
        st.rerun()

if st.session_state.get("editing"):
    last_user = next((i for i in range(len(conv.turns) - 1, -1, -1) if conv.turns[i].role == "user"), None)
    if last_user is not None:
        edited = st.text_area(t("chat.edit_box"), conv.turns[last_user].content)
        if st.button(t("chat.send_edit")) and edited.strip():
            del conv.turns[last_user:]
            conv.turns.append(Turn("user", edited))
            st.session_state["editing"] = False
            pending = True

if prompt := st.chat_input(t("chat.input")):
    if prompt.strip():
        conv.turns.append(Turn("user", prompt))
        render_turn(conv.turns[-1])
        pending = True

if not pending and getattr(mode, "resumes", None) and mode.resumes(conv):  # code waiting for Run / Skip
    pending = True

if pending:
    store.save(conv)
    if engine is None:
        st.warning(t("chat.no_model"), icon="⏳")
    else:
        with st.chat_message("assistant"), errors.guard() as outcome, resources.runtime().adapter_pool.using(adapter):
            mode.answer(ModeContext(conv=conv, store=store, engine=engine, options=options, adapter=adapter, settings=mode_settings))
        if not outcome.failed:
            st.rerun()  # show the saved answer with its stats and controls
