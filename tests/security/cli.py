"""Running `python -m core index` in a subprocess, as a user would, and measuring its peak memory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The CLI as `python -m core`, plus one line on stderr with the peak RSS (KiB) at exit.
_WRAPPER = (
    "import atexit, resource, runpy, sys\n"
    "atexit.register(lambda: print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr))\n"
    "sys.argv = ['core', *sys.argv[1:]]\n"
    "runpy.run_module('core', run_name='__main__', alter_sys=True)\n"
)


def run_index(data_dir: Path, kb: str, *paths: Path, timeout: float = 300, cwd: Path = REPO, **env: str) -> tuple[subprocess.CompletedProcess, int]:
    """(the finished process, its peak RSS in MB). Extra `env` entries override the defaults."""
    environment = {
        **os.environ, "PYTHONPATH": str(REPO), "LIANDAN_DATA_DIR": str(data_dir), "LIANDAN_EMBEDDING_MODEL": "hash",
        "LIANDAN_LOAD_ON_START": "false", **env,
    }
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, "index", "--kb", kb, *map(str, paths)],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout,
    )
    found = re.search(r"PEAK_RSS_KB (\d+)", proc.stderr)
    return proc, int(found.group(1)) // 1024 if found else -1
