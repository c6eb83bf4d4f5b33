"""System page: the remote engine server's own health and queue (vLLM's /health and /metrics)."""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from core.models.capabilities import RemoteServer


def server_health_section(engine: RemoteServer) -> None:
    """Four figures from the server; "unknown" for what it does not report (not every server has them)."""
    st.subheader(t("system.server"))
    health = engine.server_health()
    unknown = t("system.server.unknown")
    if not health.reachable:
        state = t("system.server.unreachable")
    else:
        state = {True: t("system.server.healthy"), False: t("system.server.unhealthy"), None: unknown}[health.healthy]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("system.server.state"), state)
    c2.metric(t("system.server.running"), unknown if health.running is None else health.running)
    c3.metric(t("system.server.waiting"), unknown if health.waiting is None else health.waiting)
    kv = unknown if health.kv_cache_used is None else f"{health.kv_cache_used:.0%}"
    c4.metric(t("system.server.kv"), kv)
    st.caption(t("system.server.note"))
    if st.button(t("system.server.refresh"), key="server-refresh"):
        st.rerun()
