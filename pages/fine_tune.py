"""Fine-tune: dataset → settings → a background LoRA job on the shared model → adapters."""

import streamlit as st

from components import errors
from components.finetune.adapters import adapters_section
from components.finetune.dataset import STATE, dataset_section, stats_section
from components.finetune.jobs import job_view, jobs_section
from components.finetune.preferences import PAIRS_STATE, dpo_settings, export_section, pairs_section
from components.finetune.settings import memory_warning, settings_section
from components.finetune.start import JOB, remember, restore, start_section
from components.i18n import lang, t
from components.compare.recompare import recompare_button
from components.resources import runtime
from core.errors import UserError
from core.tuning.server_training import LocalBase, is_server

st.title(t("ft.title"))
st.caption(t("ft.intro"))
rt = runtime()
engine = rt.models.engine
if engine is None:
    st.info(t("ft.no_model"))
    st.stop()
ft = rt.finetune

restore(ft)
train_tab, jobs_tab, adapters_tab = st.tabs([t("ft.tab.train"), t("ft.tab.jobs"), t("ft.tab.adapters")])
with train_tab:
    export_section(rt)  # votes and ratings become datasets whatever the engine
    preference = False
    try:  # the engine itself, or a server's base opened here (its weights loaded only while a job runs)
        trainer = ft.trainer()
    except UserError as exc:
        trainer, why = None, exc
    if trainer is not None:
        if isinstance(trainer, LocalBase):
            st.info(t("ft.server.intro", engine=engine.info.name))
        preference = st.session_state.get("ft-preset") == "dpo"  # DPO trains on pairs, not on answers
        dataset = pairs_section(rt) if preference else dataset_section(rt)
        config = settings_section(trainer)
        if config.preset == "dpo":
            config = config.model_copy(update=dpo_settings(rt))
        if dataset is not None:
            with errors.guard():
                if config.preset == "dpo":  # each pair is two rows (chosen, rejected) in one forward pass
                    memory_warning(ft, trainer, config.model_copy(update={"batch_size": 2 * config.batch_size}), config.max_length)
                else:
                    longest = stats_section(trainer, st.session_state[STATE], config.system_prompt, config.max_length, config.max_records)
                    memory_warning(ft, trainer, config, longest)
    elif is_server(engine):  # a server whose base is not on this machine: say why here, not deep inside a job
        st.warning(t("ft.server.unavailable", reason=why.text(lang())))
        dataset, config = None, None
    else:  # the echo demo only answers
        st.warning(t("ft.no_training", engine=engine.info.name))
        dataset, config = None, None
    start_section(ft, dataset, config, chosen_key=PAIRS_STATE if preference else STATE)
    remember(ft)
    active = ft.active()
    shown = active.id if active is not None else st.session_state.get(JOB)
    if shown and (job := rt.jobs.get(shown)) is not None:
        job_view(ft, shown, key="train")
        if job.status == "done" and job.result.get("adapter") and rt.adapters.exists(job.result["adapter"]):
            recompare_button(rt, job.result["adapter"], key="train")
with jobs_tab:
    jobs_section(ft)
with adapters_tab:
    adapters_section(rt)
