"""One sandboxed Jupyter kernel per chat session, and the pool that owns them.

ChatGLM3's demo shares one kernel between every user; here each session gets its own
process and working folder under `settings.kernels_dir`, started on first use, with the
limits of `launcher.py` (memory, files, capabilities, a subreaper supervisor), a scrubbed
environment, a time limit per cell, and an idle reaper.

The folder's name is random and unrelated to the browser session: the kernel's command
line (`--work`, `-f`) is readable by every local process in `/proc/<pid>/cmdline`, and a
Streamlit session id must never be found there (or in a log line, or a folder name).
The pool maps a session to its kernel in memory only. Everything the app itself reads or
writes in a kernel folder goes through `kernel_files`, which never follows a link.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets as secrets_module
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpec

from core.errors import UserError
from core.interpreter import kernel_files
from core.interpreter.launcher import end_descendants
from core.interpreter.results import ExecResult, OutputCollector

log = logging.getLogger(__name__)

LAUNCHER = Path(__file__).with_name("launcher.py")
PRIVATE = ".liandan"  # per-kernel state inside the working folder, hidden from the file list
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# Only these variables reach the kernel: an allow-list cannot leak a secret nobody thought of.
ENV_ALLOWED = {"PATH", "LANG", "LANGUAGE", "TZ", "TERM", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "CONDA_PREFIX", "VIRTUAL_ENV"}
SECRET_LOOKING = re.compile(r"KEY|TOKEN|SECRET|PASS|CREDENTIAL|AUTH|COOKIE|SESSION", re.IGNORECASE)
GRACE_S = 3.0  # after an interrupt, how long to wait before restarting instead

SETUP = r"""
def _liandan_setup():
    import json
    def table(df, rows=200):
        head = df.head(rows)
        data = json.loads(head.to_json(orient="split", date_format="iso", default_handler=str))
        return {"liandan": "table", "columns": [str(c) for c in head.columns], "index": [str(i) for i in head.index],
                "data": data["data"], "shape": list(df.shape)}
    json_formatter = get_ipython().display_formatter.formatters["application/json"]
    for module in ("pandas", "pandas.core.frame"):  # pandas 3 reports "pandas", older ones the full path
        json_formatter.for_type_by_name(module, "DataFrame", table)
_liandan_setup()
del _liandan_setup
"""


@dataclass(frozen=True)
class KernelLimits:
    cell_timeout_s: float = 30.0
    memory_mb: int = 2048
    file_mb: int = 512
    output_chars: int = 20_000
    sandbox: str = "auto"  # auto = Landlock when the OS has it, else the audit hook; "audit" forces the fallback


def kernel_env(environ: dict[str, str], work: Path, secrets: tuple[str, ...] = ()) -> dict[str, str]:
    """The kernel's environment: a short allow-list, nothing secret-looking, HOME and caches inside `work`."""
    env = {k: v for k, v in environ.items() if (k in ENV_ALLOWED or k.startswith("LC_")) and not SECRET_LOOKING.search(k)}
    env = {k: v for k, v in env.items() if not any(s and s in v for s in secrets)}
    private = work / PRIVATE
    env.update(
        HOME=str(work),
        TMPDIR=str(private / "tmp"),
        MPLCONFIGDIR=str(private / "matplotlib"),
        XDG_CACHE_HOME=str(private / "cache"),
        IPYTHONDIR=str(private / "ipython"),
        JUPYTER_RUNTIME_DIR=str(private / "runtime"),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        OMP_NUM_THREADS="2",
        OPENBLAS_NUM_THREADS="2",
        MKL_NUM_THREADS="2",
        HF_HUB_OFFLINE="1",
    )
    return env


def safe_name(name: str) -> str:
    """A plain file name inside the folder: no paths, no hidden files."""
    base = Path(name.replace("\\", "/")).name.strip()
    if not base or base.startswith("."):
        raise UserError("errors.kernel.usable_file_name", name=name)
    return base


@dataclass(frozen=True)
class KernelFile:
    """One listed file: its path relative to the kernel's folder (posix), size and modification time."""

    relative: str
    size: int
    mtime: float

    @property
    def name(self) -> str:
        return self.relative.rsplit("/", 1)[-1]


class SandboxedKernel:
    """A kernel for one session; thread-safe (one cell at a time), started lazily."""

    def __init__(self, folder: Path, protect: Path, limits: KernelLimits, secrets: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.protect = protect
        self.limits = limits
        self.secrets = secrets
        self.last_used = time.monotonic()
        self._km: KernelManager | None = None
        self._client = None
        self._lock = threading.RLock()
        self._busy = threading.Event()

    # --- lifecycle ---------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._km is not None and self._km.is_alive()

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def sandbox_report(self) -> dict:
        """What the launcher wrote; read without following a link the kernel's code may have planted."""
        try:
            report = json.loads(kernel_files.read_file(self.folder, f"{PRIVATE}/sandbox.json", max_bytes=64_000))
        except (UserError, OSError, ValueError):
            return {}
        return report if isinstance(report, dict) else {}

    def _prepare_folder(self) -> None:
        """Real folders where the app and the launcher will write: the kernel's code may have swapped
        `.liandan` (or a file in it) for a link out of its folder while it ran."""
        kernel_files.real_dir(self.folder)
        kernel_files.real_dir(self.folder / PRIVATE)
        for sub in ("tmp", "matplotlib", "cache", "ipython", "runtime"):
            kernel_files.real_dir(self.folder / PRIVATE / sub)
        kernel_files.remove_if_not_regular(self.folder / PRIVATE / "kernel.json")
        (self.folder / PRIVATE / "sandbox.json").unlink(missing_ok=True)

    def _end_descendants(self) -> None:
        """Kill every process below the kernel's supervisor (setsid children and daemons included)."""
        km = self._km
        pid = getattr(getattr(km, "provisioner", None), "pid", None) if km is not None else None
        if pid:
            end_descendants(pid)

    def start(self) -> None:
        with self._lock:
            if self.alive:
                return
            self.shutdown()
            self._prepare_folder()
            argv = [
                sys.executable, str(LAUNCHER), "--work", str(self.folder), "--protect", str(self.protect),
                "--memory-mb", str(self.limits.memory_mb), "--file-mb", str(self.limits.file_mb), "--sandbox", self.limits.sandbox,
                "-f", "{connection_file}", "--HistoryManager.enabled=False", "--IPKernelApp.log_level=ERROR",
            ]
            km = KernelManager(connection_file=str(self.folder / PRIVATE / "kernel.json"), transport="tcp", ip="127.0.0.1")
            # No public way to give an argv without installing a kernelspec on disk.
            km._kernel_spec = KernelSpec(argv=argv, display_name="liandan", language="python", interrupt_mode="signal")
            km.start_kernel(env=kernel_env(dict(os.environ), self.folder, self.secrets), cwd=str(self.folder))
            self._km = km
            self._connect()

    def _connect(self) -> None:
        client = self._km.blocking_client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
        except RuntimeError as exc:
            client.stop_channels()
            raise UserError("errors.kernel.python_kernel_did_start") from exc
        self._client = client
        reply = self._run(SETUP, timeout=30, silent=True)
        if reply.status != "ok":
            log.warning("kernel setup failed: %s", reply.text())

    def restart(self) -> None:
        """Fresh process, same folder: variables are lost, files stay."""
        with self._lock:
            if self._km is None or not self._km.has_kernel:
                self.start()
                return
            if self._client is not None:
                self._client.stop_channels()
            self._restart_process()
            self._connect()

    def _restart_process(self) -> None:
        self._end_descendants()
        self._prepare_folder()
        self._km.restart_kernel(now=True)

    def interrupt(self) -> None:
        """Like Ctrl+C; safe from any thread while a cell runs."""
        if self._km is not None and self._km.has_kernel:
            self._km.interrupt_kernel()

    def shutdown(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.stop_channels()
                self._client = None
            if self._km is not None:
                try:
                    self._end_descendants()
                    self._km.shutdown_kernel(now=True)
                except Exception:  # noqa: BLE001 - already gone is fine
                    log.debug("kernel shutdown", exc_info=True)
                self._km = None

    # --- running code --------------------------------------------------------------
    def execute(self, code: str, timeout: float | None = None, on_progress: Callable[[float, ExecResult], None] | None = None) -> ExecResult:
        """Run one cell. Past `timeout` it is interrupted, and restarted if it will not stop.

        `on_progress(elapsed, partial)` is called a few times a second: the UI refreshes from
        it (and Streamlit may abort a rerun there, which leaves the cell running: interrupt it).
        """
        timeout = self.limits.cell_timeout_s if timeout is None else timeout
        with self._lock:
            if not self.alive:
                self.start()
            self.last_used = time.monotonic()
            try:
                return self._run(code, timeout, on_progress=on_progress)
            finally:
                self.last_used = time.monotonic()

    def _run(self, code: str, timeout: float, silent: bool = False, on_progress=None) -> ExecResult:
        collector = OutputCollector(self.limits.output_chars)
        msg_id = self._client.execute(code, silent=silent, store_history=not silent, allow_stdin=False)
        started = time.monotonic()
        deadline = started + timeout
        interrupted_at: float | None = None
        self._busy.set()
        try:
            while True:
                now = time.monotonic()
                if now > deadline and interrupted_at is None:
                    collector.note("timeout", seconds=timeout)
                    self.interrupt()
                    interrupted_at = now
                elif interrupted_at is not None and now > interrupted_at + GRACE_S:
                    collector.note("restarted")
                    self._client.stop_channels()
                    self._restart_process()
                    self._connect()
                    return collector.finish("timeout", now - started)
                if not self._km.is_alive():
                    collector.note("died")
                    self._restart_process()
                    self._connect()
                    return collector.finish("died", now - started)
                try:
                    msg = self._client.get_iopub_msg(timeout=0.2)
                except Exception:  # queue.Empty: nothing yet
                    if on_progress is not None:
                        on_progress(time.monotonic() - started, collector.result)
                    continue
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = msg["header"]["msg_type"], msg["content"]
                if kind == "status" and content.get("execution_state") == "idle":
                    break
                collector.add(kind, content)
                if on_progress is not None and kind != "status":
                    on_progress(time.monotonic() - started, collector.result)
            status = "timeout" if interrupted_at is not None else ("error" if collector.result.errors() else "ok")
            if status == "error" and collector.result.errors()[-1]["ename"] == "KeyboardInterrupt":
                status = "interrupted"
            return collector.finish(status, time.monotonic() - started)
        finally:
            self._busy.clear()
            self._drain_shell()

    def _drain_shell(self) -> None:
        while True:
            try:
                self._client.get_shell_msg(timeout=0)
            except Exception:  # queue.Empty
                return

    # --- files -------------------------------------------------------------------------
    def files(self) -> list[KernelFile]:
        """Regular files the user and the code put in the folder, newest first.

        Hidden state is excluded, and so is every link (to a file or a folder): a cell can
        plant `env.txt -> /proc/self/environ`, and the app must never offer what it points to.
        """
        if not self.folder.is_dir():
            return []
        found = [KernelFile(rel, info.st_size, info.st_mtime) for rel, info in kernel_files.list_files(self.folder)]
        return sorted(found, key=lambda f: f.mtime, reverse=True)

    def save_upload(self, name: str, data: bytes) -> Path:
        """A new regular file in the folder; a link the code planted under that name is replaced, not written through."""
        kernel_files.real_dir(self.folder)
        return kernel_files.write_file(self.folder, safe_name(name), data)

    def read_file(self, relative: str, max_bytes: int | None = None) -> bytes:
        """A regular file of the folder, opened without following any link (see `kernel_files`)."""
        return kernel_files.read_file(self.folder, relative, max_bytes)


class KernelPool:
    """The process-wide owner of all session kernels; a daemon thread shuts down idle ones."""

    def __init__(self, root: Path, protect: Path, limits: KernelLimits, idle_timeout_s: float, secrets: tuple[str, ...] = ()) -> None:
        self.root = root
        self.protect = protect
        self.limits = limits
        self.idle_timeout_s = idle_timeout_s
        self.secrets = secrets
        self._kernels: dict[str, SandboxedKernel] = {}
        # Set by the UI (e.g. Streamlit's is_active_session): kernels of closed tabs stop early.
        self.session_alive: Callable[[str], bool] | None = None
        self._lock = threading.Lock()
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()

    def get(self, session_id: str) -> SandboxedKernel:
        """The session's kernel object (the process starts on its first cell)."""
        if not SESSION_ID.match(session_id):
            raise UserError("errors.kernel.invalid_session_id")
        with self._lock:
            kernel = self._kernels.get(session_id)
            if kernel is None:
                kernel = self._kernels[session_id] = SandboxedKernel(self._new_folder(), self.protect, self.limits, self.secrets)
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap_forever, name="kernel-reaper", daemon=True)
                self._reaper.start()
            return kernel

    def _new_folder(self) -> Path:
        """A fresh folder with a random name: nothing in it (or in the kernel's argv) names the session."""
        self.root.mkdir(parents=True, exist_ok=True)
        while True:
            folder = self.root.resolve() / secrets_module.token_hex(16)
            try:
                folder.mkdir()
                return folder
            except FileExistsError:
                continue

    def sessions(self) -> list[str]:
        with self._lock:
            return list(self._kernels)

    def reap(self, now: float | None = None, alive: Callable[[str], bool] | None = None) -> list[str]:
        """Shut down kernels idle past the timeout, or whose session is gone; returns their ids."""
        now = time.monotonic() if now is None else now
        with self._lock:
            items = list(self._kernels.items())
        stopped = []
        for sid, kernel in items:
            gone = alive is not None and not alive(sid)
            if kernel.alive and not kernel.busy and (gone or now - kernel.last_used > self.idle_timeout_s):
                kernel.shutdown()
                stopped.append(sid)
                log.info("shut down the idle kernel in %s", kernel.folder.name)  # never the session id
        return stopped

    def _reap_forever(self) -> None:
        while not self._stop.wait(min(60.0, max(1.0, self.idle_timeout_s / 4))):
            try:
                self.reap(alive=self.session_alive)
            except Exception:  # noqa: BLE001 - the reaper must survive one bad kernel
                log.exception("kernel reaper")

    def discard(self, session_id: str, delete_files: bool = False) -> None:
        with self._lock:
            kernel = self._kernels.pop(session_id, None)
        if kernel is not None:
            kernel.shutdown()
            if delete_files:
                shutil.rmtree(kernel.folder, ignore_errors=True)

    def close(self) -> None:
        self._stop.set()
        for sid in self.sessions():
            self.discard(sid)


def pool_from_settings(settings) -> KernelPool:
    """The pool configured by `Settings`; it protects the whole data folder from reads."""
    secrets = tuple(s.get_secret_value() for s in (settings.password, settings.api_key) if s is not None)
    limits = KernelLimits(
        cell_timeout_s=settings.interpreter_cell_timeout_s,
        memory_mb=settings.interpreter_memory_mb,
        file_mb=settings.interpreter_file_mb,
        output_chars=settings.interpreter_output_chars,
        sandbox=settings.interpreter_sandbox,
    )
    return KernelPool(settings.kernels_dir, settings.home, limits, settings.interpreter_idle_timeout_s, secrets)
