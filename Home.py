"""Liandan's entry point: page config, the shared sidebar, the password gate, navigation."""

import streamlit as st

from components import auth, sidebar
from components.i18n import language_switch, t
from components.navigation import PAGES

st.set_page_config(page_title="Liandan 炼丹", page_icon="🔥", layout="wide")
language_switch()
auth.require_password()
navigation = st.navigation(
    [st.Page(path, title=t(title), icon=icon, default=(i == 0)) for i, (path, title, icon) in enumerate(PAGES)]
)
sidebar.model_status()
navigation.run()
