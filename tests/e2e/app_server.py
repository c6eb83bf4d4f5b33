"""Start the real Streamlit app in a subprocess and find a Chromium for Playwright.

Kept apart from conftest.py so the README screenshot script (`tests/e2e/screenshots.py`)
drives exactly the app the browser tests drive.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Chromium flags for a sandbox-less root container with no network: no GPU, no QUIC,
# and nothing that phones home (updates, sync, field trials) and could hang offline.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """LIANDAN_CHROMIUM if set, else Debian's chromium or another one on PATH."""
    override = os.environ.get("LIANDAN_CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_or_exit() -> str:
    """The Chromium a screenshot script drives, or exit saying what to install (scripts, not tests)."""
    executable = find_chromium()
    if executable is None:
        sys.exit("No Chromium found: apt-get install chromium (and fonts-wqy-microhei fonts-noto-color-emoji for CJK/emoji).")
    return executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def link_model_cache(data_dir: Path, model_cache: Path) -> None:
    """Let the app find the already converted embedded model instead of converting it again (~25 s)."""
    from core.models import sources

    sources.convert_embedded(model_cache)
    (data_dir / "models").mkdir(parents=True, exist_ok=True)
    link = data_dir / "models" / "embedded"
    if not link.exists():
        link.symlink_to((model_cache / "embedded").resolve(), target_is_directory=True)


@contextmanager
def run_app(data_dir: Path, model: str = "embedded", model_cache: Path | None = None, timeout: float = 90, **env: str) -> Iterator[AppServer]:
    """Serve Home.py on a free local port with its own data folder; stop it on exit.

    `env` adds LIANDAN_* settings (e.g. `LIANDAN_PASSWORD="x"`). The model loads in the
    background after the first page view, as it does for users.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    if model == "embedded" and model_cache is not None:
        link_model_cache(data_dir, model_cache)
    port = free_port()
    full_env = {
        **os.environ,
        "LIANDAN_DATA_DIR": str(data_dir),
        "LIANDAN_MODEL": model,
        "LIANDAN_EMBEDDING_MODEL": "hash",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
        **env,
    }
    log_path = data_dir.parent / f"streamlit-{port}.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "Home.py",
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
    server = AppServer(f"http://127.0.0.1:{port}", data_dir, log_path, process)
    try:
        wait_healthy(server, timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test process is killed before its cleanup runs."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def wait_healthy(server: AppServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s:\n{server.log_tail()}")


def launch_chromium(playwright, executable: str):
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
