"""Chat: streaming answers from the shared model, saved conversations, Stop/Regenerate/Edit."""

import streamlit as st

from components import errors, resources
from components.chat.adapter_picker import adapter_picker
from components.chat.actions import render_history, take_pending
from components.chat.mode_picker import select_mode
from components.chat.conversation_list import current_conversation
from components.generation_options import generation_options
from components.i18n import t
from components.model_notes import demo_note
from components.chat.modes import ModeContext, Outcome
from components.chat.persona_editor import persona_editor
from core.conversations import Turn

st.title(t("chat.title"))
store = resources.runtime().conversations
mode = select_mode()
mode_settings = mode.sidebar()
conv = current_conversation(store)
pool = resources.runtime().adapter_pool
adapter = adapter_picker(conv, store, pool if resources.engine() else None)
persona_editor(conv, store, resources.runtime().personas)
options = generation_options("chat", resources.runtime().settings.max_new_tokens)
engine = resources.engine()

# Read the input first: when an answer is about to stream, the history is drawn without
# action buttons, and the new answer goes where the old one was.
prompt = st.chat_input(t("chat.input"))
pending = take_pending(conv)
if prompt and prompt.strip():
    conv.turns.append(Turn("user", prompt))
    pending = True
if not pending and mode.resumes(conv):  # code waiting for Run / Skip
    pending = True

if not conv.turns:
    st.info(t("chat.empty"), icon="💬")
    demo_note(engine, "chat")
render_history(conv, store, busy=pending)

if pending:
    store.save(conv)
    if engine is None:
        st.warning(t("chat.no_model"), icon="⏳")
    else:
        box = st.chat_message("assistant")
        st.empty()  # takes the place of the last run's action buttons now, not when the answer ends
        answered = None
        with box, errors.guard() as outcome:
            answered = mode.answer(ModeContext(conv, store, engine, pool, options, adapter=adapter, settings=mode_settings))
        if not outcome.failed and answered is Outcome.ANSWERED:
            st.rerun()  # show the saved answer with its stats and controls
