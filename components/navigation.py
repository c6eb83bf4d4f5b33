"""The one list of pages: Home.py builds navigation from it and the Home page links to it."""

from __future__ import annotations

PAGES: list[tuple[str, str, str]] = [  # (script, i18n key of the title, icon)
    ("pages/home.py", "nav.home", "🏠"),
    ("pages/chat.py", "nav.chat", "💬"),
    ("pages/knowledge_base.py", "nav.kb", "📚"),
    ("pages/fine_tune.py", "nav.finetune", "🧪"),
    ("pages/compare.py", "nav.compare", "⚖️"),
    ("pages/system.py", "nav.system", "🖥️"),
]
