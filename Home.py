"""Liandan's entry point: page config, the shared sidebar, the password gate, navigation.

`streamlit run Home.py` first imports this file as the module `Home` to find `app`: the
Streamlit server plus the HTTP API (`/api/...`, `/v1/...`) on the same port, in the same
process, on the same engine. Each browser session then runs it as the script `__main__`.
"""

import streamlit as st

if __name__ == "__main__":
    from components.i18n import language_switch, t

    st.set_page_config(page_title="Liandan 炼丹", page_icon="🔥", layout="wide")
    # A session's first run can wait (imports, the model load starting in the background): say
    # so at once instead of leaving a blank grey page; the page's own title follows right after.
    starting = st.empty() if "started" not in st.session_state else None
    if starting is not None:
        starting.info(t("app.starting"), icon="⏳")
    from components import auth, sidebar, uploads
    from components.navigation import PAGES

    language_switch()
    uploads.localize_uploaders()
    st.session_state["started"] = True
    if starting is not None and auth.password_enabled() and not st.session_state.get(auth.KEY):
        starting.empty()  # the login form stops the run, and elements after a stop are dropped
    auth.require_password()
    navigation = st.navigation(
        [st.Page(path, title=t(title), icon=icon, default=(i == 0)) for i, (path, title, icon) in enumerate(PAGES)]
    )
    sidebar.model_status()
    if starting is not None:  # the page draws its title first thing
        starting.empty()
    navigation.run()
else:
    from starlette.middleware import Middleware
    from streamlit.runtime.pages_manager import PagesManager

    from core.api.mount import api_routes
    from core.prefs import UserCookieMiddleware

    # pages/ holds st.navigation pages, not Streamlit's old auto-discovered ones: without this, the
    # first session after a start that opens e.g. /system runs that page alone, skipping this
    # script and its password gate.
    PagesManager.uses_pages_directory = False
    # Each browser gets an id cookie, so its settings (components.prefs) survive reloads.
    app = st.App(__file__, routes=api_routes(), middleware=[Middleware(UserCookieMiddleware)])
