"""Downloading a ModelScope model as a background job: progress, ETA, cancel, resume.

The installed `modelscope` client does the transfer (it resumes a file from its
`.incomplete` part with an HTTP Range request and skips files already complete), into a
folder of ours under the data folder. We add what a job needs on top:

- the file list first (one request), so progress is bytes of the whole model and the
  preflight can refuse a model before any weight is fetched;
- one weight format only (a repo shipping `.safetensors` and `.bin` copies would double
  the download);
- cancel: the progress callback raises `DownloadCancelled`, a BaseException, which the
  client's retry loops (they catch `Exception`) let through and which stops its thread pool;
- a marker file once everything arrived, so loading the id later needs no network.

`settings.modelscope_endpoint` points the client at another hub (a mirror, or the local
test server in tests/modelscope_server.py).
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import Cancelled, ModelSourceError
from core.i18n import msg

log = logging.getLogger(__name__)
COMPLETE_MARKER = ".liandan-complete"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
SKIPPED_WHEN_SAFETENSORS = (".bin", ".pt", ".pth")


class DownloadCancelled(BaseException):
    """Raised inside modelscope's progress callback; a BaseException so its retries let it through."""


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int


def model_folder(models_dir: Path, model_id: str) -> Path:
    owner, name = model_id.split("/", 1)
    return models_dir / "modelscope" / owner / name


def is_complete(folder: Path) -> bool:
    return (folder / COMPLETE_MARKER).exists()


def unreachable(model_id: str, exc: BaseException) -> ModelSourceError:
    return ModelSourceError(
        "errors.downloads.could_reach_modelscope", model_id=model_id, error_type=type(exc).__name__, exc=str(exc)[:200],
    )


def chosen(files: list[RemoteFile]) -> list[RemoteFile]:
    """Every file, except .bin/.pt copies of weights when the repo also has .safetensors."""
    if not any(f.path.endswith(".safetensors") for f in files):
        return files
    return [f for f in files if not f.path.endswith(SKIPPED_WHEN_SAFETENSORS)]


class ModelScopeHub:
    """The three calls we make to ModelScope, through its own client."""

    def __init__(self, endpoint: str | None = None) -> None:
        self.endpoint = endpoint or None

    def list_files(self, model_id: str) -> list[RemoteFile]:
        from modelscope.hub.api import HubApi

        try:
            entries = HubApi(endpoint=self.endpoint).get_model_files(model_id, recursive=True)
        except Exception as exc:  # the hub client raises many types; all mean "could not list it"
            raise unreachable(model_id, exc) from exc
        return [RemoteFile(e.get("Path") or e.get("Name"), int(e.get("Size") or 0))
                for e in entries if (e.get("Type") or "blob") != "tree"]

    def read_json(self, model_id: str, path: str, scratch: Path) -> dict:
        """One small file (config.json), without touching the weights."""
        from modelscope.hub.file_download import model_file_download

        try:
            local = model_file_download(model_id, path, revision="master", local_dir=str(scratch), endpoint=self.endpoint)
            return json.loads(Path(local).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ModelSourceError("errors.downloads.valid_json", model_id=model_id, path=path) from exc
        except Exception as exc:  # noqa: BLE001 - network / hub errors
            raise unreachable(model_id, exc) from exc

    def download(self, model_id: str, folder: Path, files: list[RemoteFile], on_bytes: Callable[[int], None]) -> None:
        """Fetch `files` into `folder`; `on_bytes` may raise DownloadCancelled to stop."""
        from modelscope import snapshot_download
        from modelscope.hub.callback import ProgressCallback

        class Reporter(ProgressCallback):
            def update(self, size: int) -> None:
                on_bytes(size)

        try:
            snapshot_download(model_id, local_dir=str(folder), endpoint=self.endpoint,
                              allow_patterns=[f.path for f in files], progress_callbacks=[Reporter])
        except DownloadCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - network / hub errors
            raise ModelSourceError(
                "errors.downloads.downloading_modelscope_failed", model_id=model_id, error_type=type(exc).__name__, exc=str(exc)[:200],
            ) from exc


class ByteCounter:
    """Bytes received across the client's parallel file threads, reported as a fraction."""

    def __init__(self, total: int, already: int, report: Callable[[int, int], None], cancel: threading.Event) -> None:
        self.total, self.done = max(1, total), already
        self._report, self._cancel = report, cancel
        self._lock = threading.Lock()
        self._last = 0.0

    def __call__(self, size: int) -> None:
        if self._cancel.is_set():
            raise DownloadCancelled()
        with self._lock:
            self.done = min(self.total, self.done + size)
            now = time.monotonic()
            if now - self._last < 0.25 and self.done < self.total:
                return
            self._last = now
        self._report(self.done, self.total)


def disk_findings(models_dir: Path, model_id: str, files: list[RemoteFile]) -> list:
    """An error when the data folder's disk cannot hold what is left to download."""
    from core.models.preflight import Finding

    folder = model_folder(models_dir, model_id)
    left = sum(f.size for f in files) - complete_bytes(folder, files)
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free
    if left <= free:
        return []
    return [Finding(
        "error",
        msg("errors.downloads.needs_gib_more_disk", model_id=model_id, left=left / 2**30, free=free / 2**30, probe=probe),
        msg("errors.downloads.needs_gib_more_disk.hint"),
    )]


def complete_bytes(folder: Path, files: list[RemoteFile]) -> int:
    """Bytes of files already fully present (a resumed job counts them as done)."""
    return sum(f.size for f in files if (folder / f.path).is_file() and (folder / f.path).stat().st_size == f.size)


def fetch(
    hub: ModelScopeHub, model_id: str, models_dir: Path, files: list[RemoteFile],
    report: Callable[[int, int], None], cancel: threading.Event,
) -> Path:
    """Download `files` of `model_id` into its folder and mark it complete; resumable."""
    folder = model_folder(models_dir, model_id)
    folder.mkdir(parents=True, exist_ok=True)
    total = sum(f.size for f in files)
    counter = ByteCounter(total, 0, report, cancel)
    # modelscope reports a partial file's existing bytes again when it resumes it, and skips
    # complete files silently: count the complete ones now, the partial ones as it reports them.
    counter.done = complete_bytes(folder, files)
    report(counter.done, counter.total)
    try:
        hub.download(model_id, folder, files, counter)
    except DownloadCancelled as exc:
        raise Cancelled() from exc
    missing = [f.path for f in files if not (folder / f.path).is_file()]
    if missing:
        raise ModelSourceError(
            "errors.downloads.file_s_did_arrive", model_id=model_id, missing_count=len(missing), missing=', '.join(missing[:3]),
        )
    (folder / COMPLETE_MARKER).write_text(json.dumps({"model_id": model_id, "bytes": total}), encoding="utf-8")
    report(total, max(1, total))
    return folder
