"""The System page's API section: where the API lives and a copyable example."""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from core.api import snippets
from core.api.app import DOCS_URL
from core.config import Settings


def api_panel(settings: Settings) -> None:
    st.subheader(t("api.title"))
    base = snippets.base_url(st.context.url, int(st.get_option("server.port")))
    key_required = settings.api_key is not None
    st.markdown(t("api.intro"))
    st.caption(t("api.base_url"))
    st.code(base, language=None)
    st.caption(t("api.key_on") if key_required else t("api.key_off"))
    curl, python = st.tabs([t("api.tab_curl"), t("api.tab_python")])
    curl.code(snippets.curl_example(base, key_required), language="bash")
    python.code(snippets.python_example(base, key_required), language="python")
    st.markdown(t("api.docs", url=f"{base}{DOCS_URL}"))
