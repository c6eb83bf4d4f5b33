"""How pages and components reach the process's runtime (`core.runtime`, the composition root).

No Streamlit resource cache here: the runtime is the one process-wide singleton, so a test that
installs another runtime replaces everything the pages see at once.
"""

from __future__ import annotations

from core.models.engine import Engine
from core.runtime import Runtime, get_runtime


def runtime() -> Runtime:
    return get_runtime()


def engine() -> Engine | None:
    return runtime().models.engine
