"""A blind A/B round: per prompt, two answers on random sides, one vote, then the reveal.

Side A always streams first, whichever variant it is, so the order gives nothing away.
The round (prompts, answers, sides, position) is on disk and in the session, so a rerun
or a vote never regenerates an answer already shown.
"""

from __future__ import annotations

import streamlit as st

from components.auth import voter_id
from components.chat.view import variant_label, wait_for_turn
from components.compare.run import show_answer
from components.i18n import t
from core.errors import InputError
from core.models.options import GenerationOptions
from core.adapters.pool import AdapterPool
from core.compare.runs import RunStore, new_run, stream_cells, vote_settings
from core.compare.votes import CHOICES, Vote, VoteStore, blind_sides

STATE = "compare-blind"
SIDES = ("A", "B")


def start(pool: AdapterPool, runs: RunStore, variants: list[str], prompts: list[str], options: GenerationOptions,
          tag: str = "") -> None:
    if len(variants) != 2:
        raise InputError("errors.compare_blind.two_variants")
    run = new_run(pool, variants, prompts, options)
    runs.save(run)
    st.session_state[STATE] = {"run": run.id, "sides": blind_sides(len(prompts)), "index": 0, "last": None,
                                "tag": tag.strip()[:40]}


def blind_round(pool: AdapterPool, runs: RunStore, votes: VoteStore) -> None:
    state = st.session_state.get(STATE)
    if state is None:
        return
    run = runs.get(state["run"])
    labels = {c: t(f"compare.vote_{c.lower()}") for c in CHOICES}
    if state["last"]:
        a, b, choice = state["last"]
        st.info(t("compare.revealed", a=variant_label(a), b=variant_label(b), choice=labels[choice]), icon="🔎")
    i = state["index"]
    if i >= len(run.prompts):
        st.success(t("compare.blind_done", n=len(run.prompts)))
        if st.button(t("compare.blind_again"), key="blind-again"):
            del st.session_state[STATE]
            st.rerun()
        return
    order = [1, 0] if state["sides"][i] else [0, 1]  # order[k]: the run's variant shown on side k
    st.markdown(f"#### {t('compare.blind_round', i=i + 1, n=len(run.prompts))}")
    st.markdown(f"> {run.prompts[i]}")
    columns = st.columns(2)
    for column, side in zip(columns, SIDES):
        column.markdown(f"**{side}**")
    if not all(a.finish_reason for a in run.answers[i]):
        for cell in stream_cells(pool, run, only=[i], order=order):
            with columns[order.index(cell.variant)]:
                wait_for_turn(cell.gen)
                st.write_stream(cell)
        runs.save(run)
    else:
        for column, v in zip(columns, order):
            with column:
                show_answer(run.answers[i][v])
    for column, choice in zip(st.columns(len(CHOICES)), CHOICES):
        if column.button(labels[choice], key=f"vote-{run.id}-{i}-{choice}", width="stretch"):
            a, b = (run.variants[v] for v in order)
            answers = [run.answers[i][v].text for v in order]
            votes.add(Vote(a=a, b=b, choice=choice, prompt=run.prompts[i], answer_a=answers[0], answer_b=answers[1],
                           run_id=run.id, model=run.model, voter=voter_id(), tag=state.get("tag", ""),
                           settings=vote_settings(run, a, b)))
            state.update(index=i + 1, last=(a, b, choice))
            st.rerun()
