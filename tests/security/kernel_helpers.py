"""Shared by the kernel attack tests: one pool whose app process holds secrets, and /proc helpers."""

from __future__ import annotations

import os
from pathlib import Path

from core.config import Settings
from core.interpreter.kernel import KernelPool, pool_from_settings

SECRETS = {"LIANDAN_PASSWORD": "pw-sec-7781", "LIANDAN_API_KEY": "key-sec-9932"}


def make_pool(home: Path, **overrides) -> KernelPool:
    settings = Settings(data_dir=home, interpreter_cell_timeout_s=15, interpreter_memory_mb=768, interpreter_idle_timeout_s=600,
                        password=SECRETS["LIANDAN_PASSWORD"], api_key=SECRETS["LIANDAN_API_KEY"], **overrides)
    return pool_from_settings(settings)


def processes_with(marker: str) -> list[int]:
    """Pids whose command line contains `marker` (what an attacker's `ps` would show)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{entry}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in (b"Z", b"X"):
            found.append(int(entry))
    return found


def proc_text(pid: int, what: str) -> bytes:
    with open(f"/proc/{pid}/{what}", "rb") as handle:
        return handle.read()
