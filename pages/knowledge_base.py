"""Knowledge Base: create bases, add documents (background job), browse chunks, test retrieval, edit the prompt."""

import streamlit as st

from components import errors
from components.kb import admin as kb_admin
from components.kb import browser as kb_browser
from components.kb import calibration as kb_calibration
from components.kb import ingest as kb_ingest
from components.kb import log as kb_log
from components.kb import model as kb_model
from components.kb import passage as kb_passage
from components.kb import prompt as kb_prompt
from components.kb import search as kb_search
from components.i18n import t
from components.resources import runtime

st.title(t("kb.title"))
st.caption(t("kb.intro"))

with errors.guard() as outcome:
    kbs = runtime().kb
if outcome.failed:
    st.stop()

name = kb_admin.pick(kbs)
kb_admin.create_form(kbs, expanded=name is None)
if name is None:
    st.info(t("kb.none"))
    st.stop()

kb_admin.manage(kbs, name)
header = st.container()  # the base's info line, live while it indexes
progress = st.container()  # the latest index job's bar: above the tabs, always in view
with errors.guard():
    kb_passage.passage_panel(kbs, name)  # a citation opened from Chat or the search test
add, files, search, evaluate, prompt = st.tabs(
    [t("kb.tab.add"), t("kb.tab.files"), t("kb.tab.search"), t("kb.tab.eval"), t("kb.tab.prompt")]
)
with add, errors.guard():
    kb_ingest.add_documents(kbs, name, header, progress)
with files, errors.guard():
    kb_browser.browse(kbs, name)
with search:
    kb_search.search_box(kbs, name)
with evaluate:
    kb_search.evaluation(kbs, name)
    kb_model.model_switch(kbs, name)
    kb_calibration.calibration(kbs, name)
    kb_log.retrieval_log_view(kbs, name)
with prompt, errors.guard():
    kb_prompt.prompt_editor(kbs, name)
