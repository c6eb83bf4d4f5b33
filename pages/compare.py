"""Adapter Compare: base vs adapters side by side on the one loaded model, and blind A/B votes."""

import streamlit as st

from components import errors, resources
from components.compare import blind as compare_blind
from components.compare import run as compare_run
from components.compare.setup import pick_variants, prompt_input
from components.compare.leaderboard import show_leaderboard
from components.compare.tally import show_tally
from components.generation_options import generation_options
from components.i18n import t
from components.compare.recompare import show_verdict
from core.compare.runs import new_run

st.title(t("compare.title"))
st.caption(t("compare.intro"))
settings = resources.runtime().settings
if resources.engine() is None:
    st.warning(t("compare.no_model"), icon="⏳")
    st.stop()
pool = resources.runtime().adapter_pool
runs, votes = resources.runtime().runs, resources.runtime().votes
options = generation_options("compare", min(settings.max_new_tokens, 256))

modes = {"side": t("compare.mode.side"), "blind": t("compare.mode.blind")}
mode = st.radio(t("compare.mode"), list(modes), format_func=modes.get, horizontal=True, key="compare-mode")
blind = mode == "blind"

with errors.guard():
    variants = pick_variants(pool, blind)
    prompts = prompt_input(settings.compare_max_prompts)
    if not blind and st.button(t("compare.run"), type="primary", key="compare-start"):
        run = new_run(pool, variants, prompts, options)
        runs.save(run)
        st.session_state[compare_run.RUN_KEY] = run.id
        compare_run.stream_run(pool, runs, run)
        st.rerun()  # show the finished run with its export
    tag = st.text_input(t("compare.tag"), key="blind-tag", help=t("compare.tag_help")) if blind else ""
    if blind and st.button(t("compare.blind_start"), type="primary", key="blind-start"):
        compare_blind.start(pool, runs, variants, prompts, options, tag)

with errors.guard():
    if blind:
        compare_blind.blind_round(pool, runs, votes)
    elif run_id := st.session_state.get(compare_run.RUN_KEY):
        compare_run.show_run(pool, runs.get(run_id))

if blind:
    with errors.guard():
        show_verdict(votes)
        model = pool.engine().info.name
        mine = [v for v in votes.all() if v.model == model]
        show_tally(mine)
        show_leaderboard(mine, settings.leaderboard_votes_per_voter)
