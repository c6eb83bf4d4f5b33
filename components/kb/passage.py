"""A cited chunk opened in the chunk browser: its file, page or slide, the chunk before, the cited
one highlighted, the chunk after. Opened from a Chat answer's sources and from the KB search test;
drawn above the KB page's tabs (a tab cannot be selected from code), until closed."""

from __future__ import annotations

import html

import streamlit as st

from components.i18n import t
from components.kb.admin import PENDING
from core.kb.manager import KnowledgeBaseManager
from core.kb.passage import Passage, locate

FOCUS = "kb-passage"
KB_PAGE = "pages/knowledge_base.py"


def focus_on(kb: str, source: str, chunk_id: str = "", chunk: int | None = None, text: str = "") -> None:
    """Remember what to open; the KB page shows it (and selects `kb`) on its next run."""
    st.session_state[FOCUS] = {"kb": kb, "source": source, "id": chunk_id, "chunk": chunk, "text": text}
    st.session_state[PENDING] = kb


def open_button(kb: str, citation: dict, key: str, switch: bool) -> None:
    """`switch`: go to the KB page (from Chat); else the KB page reruns with the passage on top."""
    if st.button(t("kb.passage.open"), key=key):
        focus_on(kb, citation["source"], citation.get("id", ""), citation.get("chunk"), citation.get("text", ""))
        st.switch_page(KB_PAGE) if switch else st.rerun()


def where(row: dict) -> str:
    """"第 12 页 · 分块 3" / "p. 12 · Chunk 3" (page and slide only when the loader recorded them)."""
    p = Passage("", row, None, None)
    parts = [t("kb.passage.page", n=p.page) if p.page else "", t("kb.passage.slide", n=p.slide) if p.slide else "",
             t("kb.chunk", n=int(row.get("chunk", 0)) + 1)]
    return " · ".join(x for x in parts if x)


def _block(text: str, highlight: bool) -> str:
    body = html.escape(text).replace("\n", "<br>")
    return f"<mark>{body}</mark>" if highlight else f'<span style="opacity:0.65">{body}</span>'


def passage_panel(kbs: KnowledgeBaseManager, name: str) -> None:
    focus = st.session_state.get(FOCUS)
    if not focus or focus["kb"] != name:
        return
    passage = locate(kbs.get(name), focus["source"], focus.get("id", ""), focus.get("chunk"), focus.get("text", ""))
    with st.container(border=True, key="kb-passage-panel"):
        if passage.cited is None:
            st.markdown(f"**{t('kb.passage.title_gone', source=focus['source'])}**")
            st.warning(t("kb.passage.gone"))
            st.text(focus.get("text", ""))
        else:
            st.markdown(f"**{t('kb.passage.title', source=focus['source'], where=where(passage.cited))}**")
            _neighbour(passage.before, "kb.passage.before", "kb.passage.first")
            st.markdown(_block(passage.cited["text"], True), unsafe_allow_html=True)
            _neighbour(passage.after, "kb.passage.after", "kb.passage.last")
            if not focus.get("shown"):  # once: the Files tab opens on the same file, then is the user's again
                st.session_state[f"kb-browse-{name}"] = focus["source"]
                focus["shown"] = True
        if st.button(t("kb.passage.close"), key="kb-passage-close"):
            st.session_state.pop(FOCUS, None)
            st.rerun()


def _neighbour(row: dict | None, label: str, none: str) -> None:
    if row is None:
        st.caption(t(none))
        return
    st.caption(t(label, n=int(row.get("chunk", 0)) + 1))
    st.markdown(_block(row["text"], False), unsafe_allow_html=True)
