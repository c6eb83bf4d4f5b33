"""Serve the API next to the Streamlit UI: one process, one port, one engine.

`Home.py` hands `api_routes()` to `st.App(..., routes=...)`; Streamlit's own server then
sends every request under `/api/` and `/v1/` to the API app (its path untouched, so the
same app also runs headless) and everything else to the UI.
"""

from __future__ import annotations

import threading

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from core.api.app import PREFIXES, create_app
from core.runtime import Runtime, get_runtime


class PrefixRoute(BaseRoute):
    """A route that owns whole path prefixes and passes requests on unchanged (Mount would strip them)."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes
        self.path = prefixes[0]  # read by st.App's check against Streamlit's reserved routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            return Match.FULL, {}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: object):
        raise NoMatchFound(name, path_params)


def api_routes(runtime: Runtime | None = None) -> list[BaseRoute]:
    """The routes st.App mounts; the runtime (and so the engine) is the UI's own."""
    runtime = runtime or get_runtime()
    # The server process starts here: watched folders catch up now, not at the first page view.
    threading.Thread(target=runtime.start_watching, name="kb-watch-start", daemon=True).start()
    return [PrefixRoute(create_app(runtime), PREFIXES)]
