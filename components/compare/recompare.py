"""Re-compare in one click: a blind round of a DPO adapter against its parent, and its verdict."""

from __future__ import annotations

import streamlit as st

from components import errors
from components.compare import blind as compare_blind
from components.chat.view import variant_label
from components.i18n import t
from core.models.options import GenerationOptions
from core.compare import recompare
from core.compare.votes import VoteStore

STATE = "compare-recompare"  # {"run", "new", "parent", "heldout"} of the re-compare being voted on
MODE = "compare-mode"
ROUND_PROMPTS = 20  # a blind round is voted prompt by prompt: enough for an interval, few enough to finish


def recompare_button(rt, adapter: str, key: str) -> None:
    """For a DPO adapter: what the round will ask, and the button that starts it on the Compare page."""
    card = rt.adapters.get(adapter)
    if card.extra.get("method") != "dpo":
        return
    new, parent = recompare.contestants(card)
    train, held = recompare.prompts(card, min(ROUND_PROMPTS, rt.settings.compare_max_prompts))
    st.caption(t("pref.recompare_caption", train=len(train), heldout=len(held), name=new, parent=variant_label(parent)))
    if st.button(t("pref.recompare"), key=f"recompare-{key}-{adapter}", type="primary", icon="⚖️"):
        with errors.guard() as outcome:
            runs = rt.runs
            options = GenerationOptions(max_new_tokens=min(rt.settings.max_new_tokens, 256))
            compare_blind.start(rt.adapter_pool, runs, [new, parent], train + held, options)
        if not outcome.failed:
            run_id = st.session_state[compare_blind.STATE]["run"]
            st.session_state[STATE] = {"run": run_id, "new": new, "parent": parent, "heldout": held}
            st.session_state[MODE] = "blind"
            st.switch_page("pages/compare.py")


def show_verdict(votes: VoteStore) -> None:
    """Under a re-compare round: whether the new adapter won, on all, seen and held-out prompts."""
    state = st.session_state.get(STATE)
    blind = st.session_state.get(compare_blind.STATE)
    if not state or not blind or blind.get("run") != state["run"]:
        return
    verdict = recompare.verdict([v for v in votes.all() if v.run_id == state["run"]], state["new"], state["parent"],
                                state["heldout"])
    if verdict.outcome == "none":
        st.caption(t("pref.verdict.none"))
        return
    lo, hi = verdict.interval
    text = t(f"pref.verdict.{verdict.outcome}", name=state["new"], rate=f"{verdict.rate:.0%}", lo=f"{lo:.0%}",
             hi=f"{hi:.0%}", n=verdict.decisive)
    {"won": st.success, "lost": st.error}.get(verdict.outcome, st.info)(text, icon="🏁")
    st.caption(t("pref.verdict.split", seen=f"{verdict.seen[0]}/{verdict.seen[1]}", held=f"{verdict.held[0]}/{verdict.held[1]}"))
