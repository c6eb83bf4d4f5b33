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


STOP_WAIT_S = 3.0  # how long Stop waits for the engine to end the cancelled request (its next decode step)
STOP_BUTTON_KEY = "stop"  # one Stop per page: only one answer streams at a time


class StreamedAnswer:
    """The answer being streamed, saved exactly once: by the run streaming it when the stream ends,
    or by Stop's callback, whichever comes first.

    Stop's click starts a new script run at once (fast reruns) while the interrupted one is still
    parked in the stream; that run only notices at its next token and saves in its `finally`
    (2.1 s after the click in one browser run at load ~8). The new run draws the conversation from
    disk right after the callback, so if the callback merely waited for the old run (it did, for
    3 s), a slower old run left the new run, and a reload right after it, reading the conversation
    without the stopped answer. Saving from the callback too puts it on disk before anything reads it."""

    def __init__(self, ctx: ModeContext, meta_extra: dict[str, Any], clean: Callable[[str], str]) -> None:
        self.ctx, self.meta_extra, self.clean = ctx, meta_extra, clean
        self.gen: Generation | None = None
        self.saved = threading.Event()  # set once the answer is on disk (or there was nothing to save)
        self._lock = threading.Lock()
        self._claimed = False

    def save(self) -> None:
        """Append the text streamed so far (what the page showed) as a turn, unless already done."""
        with self._lock:
            gen = self.gen
            if self._claimed or gen is None:
                return
            self._claimed = True
            text = self.clean(gen.text)
            if text:
                meta = {"stats": stats_dict(gen), "dropped_turns": gen.stats.dropped_turns, "stopped": gen.cancel.is_set()}
                self.ctx.conv.turns.append(Turn("assistant", text, variant=self.ctx.adapter or "base",
                                                meta=meta | self.meta_extra))
                self.ctx.store.save(self.ctx.conv)
            self.saved.set()


def stop_answer(answer: StreamedAnswer) -> None:
    # Runs at the start of the rerun the click causes, before the page reads the conversation:
    # stop the stream and give the engine a moment to end it (so its stats say so), unless the
    # interrupted run already saved it; then save the partial answer if that run has not.
    gen = answer.gen
    if gen is not None:
        gen.stop()
        deadline = time.monotonic() + STOP_WAIT_S
        while not (answer.saved.is_set() or gen.finished.is_set()) and time.monotonic() < deadline:
            time.sleep(0.02)
    answer.save()


def stream_answer(
    ctx: ModeContext, messages: list[dict], extra_meta: dict[str, Any] | None = None,
    clean: Callable[[str], str] = lambda text: text,
) -> None:
    """Stream one answer into the page with a Stop button, then save it (partial or whole) as a turn.

    `clean` shapes the raw text (the knowledge-base mode strips an echoed prompt); it runs
    on every streamed piece, so what the user watches is what gets saved.
    """
    meta_extra = extra_meta or {}
    answer = StreamedAnswer(ctx, meta_extra, clean)
    st.button(t("chat.stop"), key=STOP_BUTTON_KEY, on_click=stop_answer, args=(answer,))
    answer.gen = gen = ctx.stream(messages)
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
        answer.save()
