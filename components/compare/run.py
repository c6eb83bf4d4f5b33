"""Side-by-side comparison: stream a run's answers into one column per variant, then show it.

The engine generates one answer at a time (one copy of the weights), so columns fill in
turn: every column of a prompt is queued at once and streamed in order, which gives the
same total time as interleaving tokens but shows each answer whole as early as possible.
"""

from __future__ import annotations

import time

import streamlit as st

from components.chat.view import wait_for_turn
from components.i18n import lang, t
from core.models.engine import BASE
from core.adapters.pool import AdapterPool
from core.compare.runs import Answer, CompareRun, RunStore, stream_cells, to_markdown

RUN_KEY = "compare-run-id"


def column_header(pool: AdapterPool, variant: str) -> None:
    st.markdown(f"**{t('compare.base') if variant == BASE else '🧩 ' + variant}**")
    card = pool.card(variant) if variant != BASE and pool.store.exists(variant) else None
    if card and card.system_prompt:
        st.caption(t("compare.persona", prompt=card.system_prompt))
    tokenizer = getattr(pool.engine(), "tokenizer", None)
    if card and card.chat_template and tokenizer is not None and card.chat_template != tokenizer.chat_template:
        st.caption(t("compare.template_differs"))


def show_answer(answer: Answer) -> None:
    if answer.error_message:
        st.error(t("compare.answer_error", error=answer.error_message.render(lang())), icon="⚠️")
    st.markdown(answer.text or ("" if answer.error else t("compare.no_answer")))
    if answer.finish_reason and not answer.error:
        st.caption(t("compare.answer_stats", tokens=answer.tokens, seconds=f"{answer.seconds:.1f}"))


def eta(started: float, done: int, total: int) -> str:
    if not done:
        return "…"
    left = (time.perf_counter() - started) / done * (total - done)
    return f"{left:.0f} s" if left < 120 else f"{left / 60:.1f} min"


def stream_run(pool: AdapterPool, runs: RunStore, run: CompareRun) -> None:
    """Generate every cell into the page, saving the run after each answer (a Stop keeps them)."""
    st.button(t("compare.stop"), key="compare-stop")  # a click reruns the page, which cancels the rest
    st.caption(t("compare.order_note"))
    total, done, started = len(run.prompts) * len(run.variants), 0, time.perf_counter()
    bar = st.progress(0.0, text=t("compare.progress", done=0, total=total, eta="…"))
    columns: list = []
    row = -1
    for cell in stream_cells(pool, run):
        if cell.prompt != row:  # a new prompt: its heading and one column per variant
            row = cell.prompt
            st.markdown(f"#### {row + 1}. {run.prompts[row]}")
            columns = st.columns(len(run.variants))
            for column, variant in zip(columns, run.variants):
                with column:
                    column_header(pool, variant)
        with columns[cell.variant]:
            wait_for_turn(cell.gen)
            st.write_stream(cell)
        done += 1
        bar.progress(done / total, text=t("compare.progress", done=done, total=total, eta=eta(started, done, total)))
        runs.save(run)
    runs.save(run)

def show_run(pool: AdapterPool, run: CompareRun) -> None:
    st.caption(t("compare.last_run", id=run.id))
    for p, prompt in enumerate(run.prompts):
        st.markdown(f"#### {p + 1}. {prompt}")
        for column, variant, answer in zip(st.columns(len(run.variants)), run.variants, run.answers[p]):
            with column:
                column_header(pool, variant)
                show_answer(answer)
    st.download_button(
        t("compare.export_md"), to_markdown(run).encode("utf-8"), f"compare-{run.id}.md", "text/markdown", key="compare-md"
    )
