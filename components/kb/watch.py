"""Watched folders on the KB page: one toggle and one live status line per folder
("正在监视 · 上次同步：2 分钟前 · 3 处变化"); the watching itself is core.kb.watch."""

from __future__ import annotations

import hashlib
import time

import streamlit as st

from components.i18n import lang, t
from core.kb.manager import KnowledgeBaseManager
from core.kb.watch import WatchStatus


def ago(seconds: float) -> str:
    """"2 分钟前" / "2 min ago": the one unit a glance needs."""
    seconds = max(0, int(seconds))
    for limit, size, key in ((60, 1, "s"), (3600, 60, "min"), (86400, 3600, "h")):
        if seconds < limit:
            return t(f"kb.watch.ago_{key}", n=seconds // size)
    return t("kb.watch.ago_d", n=seconds // 86400)


def status_line(status: WatchStatus, now: float | None = None) -> str:
    last = t("kb.watch.never") if status.last_sync is None else ago((now or time.time()) - status.last_sync)
    line = t("kb.watch.status", ago=last, changes=status.changes)
    if status.syncing:
        line += " · " + t("kb.watch.syncing")
    elif status.pending:
        line += " · " + t("kb.watch.pending", n=status.pending)
    return line


def toggle_key(name: str, folder: str) -> str:
    digest = hashlib.sha1("\x00".join((name, folder)).encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"kb-watch-{digest}"


def watched_folders(kbs: KnowledgeBaseManager, name: str) -> None:
    """Redrawn every 2 s while shown, so a sync started by a change on disk appears by itself."""
    kbs.start_watching()
    if not kbs.watch_status(name):
        return

    @st.fragment(run_every=2.0)
    def _list() -> None:
        statuses = kbs.watch_status(name)
        # A sync that started or ended since this session last drew the page: redraw it all, so the
        # job's bar, the per-file table and the counts follow the folder without a click.
        seen = tuple((s.folder, s.syncing, s.runs) for s in statuses)
        if st.session_state.setdefault(f"kb-watch-seen-{name}", seen) != seen:
            st.session_state[f"kb-watch-seen-{name}"] = seen
            st.rerun()
        if statuses:
            st.markdown(f"**{t('kb.watch.title')}**")
        for status in statuses:
            key = toggle_key(name, status.folder)
            with st.container(key=f"{key}-box"):
                if not st.toggle(t("kb.watch.toggle", folder=status.folder), value=True, key=key):
                    kbs.unwatch(name, status.folder)
                    st.session_state.pop(key, None)
                    st.toast(t("kb.watch.stopped", folder=status.folder))
                    st.rerun()
                if status.problem is not None:
                    st.warning(status.problem.render(lang()), icon="⚠️")
                else:
                    st.caption("👁 " + status_line(status))

    _list()
