"""Switch a knowledge base's embedding model (core: KnowledgeBaseManager.change_embedding_model): the
offline ones ship in wheels; the downloadable ones fetch from ModelScope on machines with network.
The index is emptied because old vectors do not fit a new model: re-index needed."""

from __future__ import annotations

import streamlit as st

from components import errors
from components.i18n import t
from core.kb.embeddings import CHOICES
from core.kb.manager import KnowledgeBaseManager

OTHER = "__other__"


def model_switch(kbs: KnowledgeBaseManager, name: str) -> None:
    current = kbs.get(name).config.embedding_model
    with st.expander(t("kb.model.title", model=current)):
        st.caption(t("kb.model.help"))
        options = [*CHOICES, OTHER]
        label = {**{spec: t(key) for spec, key in CHOICES.items()}, OTHER: t("kb.model.other")}
        pick = st.selectbox(t("kb.embedding_model"), options, format_func=label.get,
                            index=options.index(current) if current in options else len(options) - 1, key=f"kb-model-{name}")
        spec = st.text_input(t("kb.model.spec"), "" if current in CHOICES else current, key=f"kb-model-spec-{name}") if pick == OTHER else pick
        if st.button(t("kb.model.switch"), key=f"kb-model-switch-{name}", disabled=not spec.strip() or spec.strip() == current):
            with errors.guard(), st.spinner(t("kb.preparing_model")):
                uploads = kbs.change_embedding_model(name, spec)
                if uploads and kbs.jobs is not None:
                    kbs.start_index(name, uploads)
                    st.success(t("kb.model.reindexing", n=len(uploads)))
                else:
                    st.warning(t("kb.model.reindex_needed"))
