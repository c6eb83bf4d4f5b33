"""Home: what is loaded, where to go, and three steps to start."""

import streamlit as st

from components.i18n import t
from components.model_notes import demo_note
from components.navigation import PAGES
from components.resources import engine

st.title(t("app.title"))
st.caption(t("app.tagline"))

current = engine()
if current is not None:
    st.success(t("home.loaded", name=current.info.name, device=current.info.device, dtype=current.info.dtype), icon="🧠")
    demo_note(current, "home")
else:
    st.info(t("model.none"), icon="⏳")

st.subheader(t("home.start_here"))
st.markdown(t("home.steps"))

st.subheader(t("home.pages"))
for path, key, icon in PAGES[1:]:
    st.page_link(path, label=t(key), icon=icon)
