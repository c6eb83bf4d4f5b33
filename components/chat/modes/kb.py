"""Knowledge-base mode: retrieve, answer from the context with the base's prompt, cite [1] [2].

When nothing passes the threshold the model answers without context and the answer is
flagged as such, so an ungrounded answer never looks like a grounded one.
"""

from __future__ import annotations

import html

import streamlit as st

from components.chat import view as chat_view
from components.kb import passage as kb_passage
from components.i18n import lang, t
from components.chat.modes import ModeContext, Outcome
from components.prefs import remembered
from components.resources import runtime
from core.answer_text import anchor, strip_prompt_echo
from core.conversations import Conversation
from core.errors import UserError
from core.kb import rag

KEY = "kb"


def sidebar() -> dict:
    kbs = runtime().kb
    names = kbs.names()
    if not names:
        st.sidebar.info(t("kb.chat.none"))
        return {}
    settings = kbs.settings
    name = st.sidebar.selectbox(t("kb.chat.pick"), names, key="chat-kb")
    k = st.sidebar.slider(t("kb.top_k"), 1, 20, help=t("help.kb_top_k"), **remembered("chat-kb-k", settings.kb_top_k, lambda v: v in range(1, 21)))
    threshold = st.sidebar.slider(
        t("kb.threshold"), 0.0, 1.0, step=0.05, help=t("kb.threshold_help"),
        **remembered("chat-kb-threshold", float(kbs.threshold(name)), lambda v: isinstance(v, float) and 0.0 <= v <= 1.0),
    )
    whole = st.sidebar.checkbox(t("kb.whole_doc"), help=t("kb.whole_doc_help"), key="chat-kb-whole")
    return {"kb": name, "k": k, "threshold": threshold, "whole_document": whole}


def resumes(conv: Conversation) -> bool:
    return False  # an answer never waits on the user


def answer(ctx: ModeContext) -> Outcome:
    name = ctx.settings.get("kb")
    if not name:
        raise UserError(t("kb.chat.none"))
    question = ctx.conv.turns[-1].content
    with st.spinner(t("kb.chat.searching")):
        turn = rag.prepare(
            runtime().kb, name, question, ctx.conv.messages()[:-1], lang(), ctx.settings["k"], ctx.settings["threshold"],
            fits=rag.engine_fits(ctx.engine, ctx.options.max_new_tokens), engine=ctx.engine, origin="chat",
            whole_document=ctx.settings.get("whole_document", False),
        )
    if not turn.grounded:
        st.warning(t("kb.chat.ungrounded"), icon="⚠️")
        clean = str.strip
    else:  # small models repeat the prompt ("上下文：…") before answering: never show or save that
        template, prompt = rag.template_for(runtime().kb.get(name).config, lang()), turn.messages[-1]["content"]
        clean = lambda text: strip_prompt_echo(text, template, prompt)  # noqa: E731
    chat_view.stream_answer(ctx, turn.messages, {"kb": name, "grounded": turn.grounded, "citations": turn.citations}, clean)
    return Outcome.ANSWERED


def render_sources(meta: dict, content: str = "") -> None:
    """Numbered citations under a saved answer (the page reruns after streaming); each opens to its
    snippet. The [n] marks in the answer link here (the anchor is keyed by the answer's text)."""
    if not meta.get("grounded", True):
        st.caption("⚠️ " + t("kb.chat.ungrounded"))
    citations = meta.get("citations") or []
    if citations:
        st.caption(f'<span id="{anchor(content)}"></span>📚 {t("kb.chat.sources")} · {html.escape(str(meta.get("kb", "")))}', unsafe_allow_html=True)
    for c in citations:
        with st.expander(f"[{c['n']}] {c['source']}{_where(c)} · {c['score']:.2f}"):
            st.text(c["text"])
            if c.get("chunk", 0) != -1 and meta.get("kb"):  # -1: the whole document was cited
                kb_passage.open_button(meta["kb"], c, key=f"cite-{anchor(content)}-{c['n']}", switch=True)


def _where(citation: dict) -> str:
    """" · 第 12 页" when the cited chunk's loader recorded its PDF page (or pptx slide)."""
    for field, key in (("page", "kb.passage.page"), ("slide", "kb.passage.slide")):
        if isinstance(citation.get(field), int):
            return " · " + t(key, n=citation[field])
    return ""
