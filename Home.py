"""Liandan's entry point: page config, the shared sidebar, the password gate, navigation.

`streamlit run Home.py` first imports this file as the module `Home` to find `app`: the
Streamlit server plus the HTTP API (`/api/...`, `/v1/...`) on the same port, in the same
process, on the same engine. Each browser session then runs it as the script `__main__`.
"""

import streamlit as st

if __name__ == "__main__":
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
else:
    from streamlit.runtime.pages_manager import PagesManager

    from core.api.mount import api_routes

    # pages/ holds st.navigation pages, not Streamlit's old auto-discovered ones: without this, the
    # first session after a start that opens e.g. /system runs that page alone, skipping this
    # script and its password gate.
    PagesManager.uses_pages_directory = False
    app = st.App(__file__, routes=api_routes())
