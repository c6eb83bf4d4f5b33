"""Helpers for tests that drive the API over real HTTP."""

from __future__ import annotations

import time
from pathlib import Path

from core.api.server import free_port, serve_in_thread as serve  # noqa: F401 - re-exported for the tests
from core.config import Settings
from core.runtime import Runtime, create_runtime


def echo_runtime(data_dir: Path, **settings) -> Runtime:
    """A runtime on the echo engine (chosen by settings, as LIANDAN_ENGINE=echo does)."""
    rt = create_runtime(Settings(data_dir=data_dir, engine="echo", load_on_start=False, embedding_model="hash",
                                 **settings))
    rt.models.load("echo")
    return rt


def wait_until(condition, timeout: float) -> float:
    """Seconds until `condition()` held; raises AssertionError after `timeout`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)
    return time.monotonic() - start
