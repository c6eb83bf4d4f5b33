"""Rendering turns and streaming one answer into the page, with queue position and Stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import streamlit as st

from components.i18n import t
from components.chat.modes import ModeContext
from core.answer_text import link_citations, tame_headings
from core.conversations import Turn
from core.models.engine import Generation


def render_turn(turn: Turn, extra: Callable[[Turn], None] | None = None) -> None:
    """Draw one saved turn; `extra` adds a mode's own blocks (sources, code notes) under it."""
    with st.chat_message(turn.role if turn.role in ("user", "assistant") else "assistant"):
        if turn.variant and turn.role == "assistant":
            st.caption(f"🧩 {variant_label(turn.variant)}")
        st.markdown(shown_text(turn.content, turn.meta) if turn.role == "assistant" else turn.content)
        render_meta(turn)
        if extra is not None:
            extra(turn)


def variant_label(variant: str) -> str:
    """How a variant is named on screen: the base model in the UI's language, adapters by name."""
    return t("variant.base") if variant == "base" else variant


def shown_text(content: str, meta: dict) -> str:
    """An answer as drawn: headings scaled down, knowledge-base [n] marks linked to their sources."""
    text = tame_headings(content)
    citations = meta.get("citations")
    return link_citations(text, citations, content) if citations else text


def render_meta(turn: Turn) -> None:
    """Extra blocks under an answer; other modes (RAG, interpreter) add theirs here."""
    if turn.meta.get("stopped"):
        st.caption(t("chat.stopped"))
    if turn.meta.get("dropped_turns"):
        st.caption(t("chat.dropped_turns", n=turn.meta["dropped_turns"]))
    stats = turn.meta.get("stats")
    if stats:
        st.caption(t("chat.stats", tokens=stats["completion_tokens"], tps=f"{stats['tokens_per_second']:.1f}"))


def wait_for_turn(gen: Generation) -> None:
    """Show "N requests ahead of you" until this request holds the model."""
    slot = st.empty()
    while not gen.started.is_set() and not gen.finished.is_set():
        slot.info(t("chat.queue", n=gen.ahead()), icon="⏳")
        time.sleep(0.2)
    slot.empty()


def stream_into_page(gen: Generation) -> Iterator[str]:
    """The answer's chunks; while others share its batch, a caption says with how many."""
    wait_for_turn(gen)
    slot, shown = st.empty(), 0
    try:
        for chunk in gen:
            if (n := gen.others()) != shown:
                slot.caption(t("chat.batch", n=n)) if n else slot.empty()
                shown = n
            yield chunk
    finally:
        slot.empty()


def stats_dict(gen: Generation) -> dict:
    s = gen.stats
    return {
        "completion_tokens": s.completion_tokens,
        "prompt_tokens": s.prompt_tokens,
        "tokens_per_second": s.tokens_per_second,
        "finish_reason": s.finish_reason,
    }


STOP_BUTTON_KEY = "stop"  # one Stop per page: only one answer streams at a time


class StopHandoff:
    """How a Stop click reaches the run that is streaming, which is not the run the click starts.

    Streamlit runs `request_stop` (the button's on_click) at the start of the rerun the click
    causes, in that new run, while the old run's thread is still streaming: it stops the old
    run's generation, then waits until the old run has saved the partial answer, so the new
    run draws it instead of losing it.
    """

    def __init__(self) -> None:
        self.gen: Generation | None = None
        self.saved = threading.Event()

    def request_stop(self) -> None:
        if self.gen is not None:
            self.gen.stop()
        self.saved.wait(3)


def stream_answer(
    ctx: ModeContext, messages: list[dict], extra_meta: dict[str, Any] | None = None,
    clean: Callable[[str], str] = lambda text: text,
) -> None:
    """Stream one answer into the page with a Stop button, then save it (partial or whole) as a turn.

    `clean` shapes the raw text (the knowledge-base mode strips an echoed prompt); it runs
    on every streamed piece, so what the user watches is what gets saved.
    """
    handoff = StopHandoff()
    st.button(t("chat.stop"), key=STOP_BUTTON_KEY, on_click=handoff.request_stop)
    handoff.gen = gen = ctx.stream(messages)
    meta_extra = extra_meta or {}
    slot = st.empty()
    raw = ""
    try:
        for piece in stream_into_page(gen):
            raw += piece
            slot.markdown(shown_text(clean(raw), meta_extra) + " ▌")
        slot.markdown(shown_text(clean(raw), meta_extra))
    finally:
        if not gen.finished.is_set():
            gen.stop()
        text = clean(gen.text)
        if text:
            meta = {"stats": stats_dict(gen), "dropped_turns": gen.stats.dropped_turns, "stopped": gen.cancel.is_set()}
            ctx.conv.turns.append(Turn("assistant", text, variant=ctx.adapter or "base", meta=meta | meta_extra))
            ctx.store.save(ctx.conv)
        handoff.saved.set()
