"""Watched folders: a server folder a knowledge base keeps in sync, through `watchdog`.

Why it is built this way:
- One `watchdog` observer and one debounce thread per process (owned by the knowledge-base
  manager), whatever the number of bases and folders; both stop on `stop()`.
- Events only mark a folder dirty. After `debounce_s` without a new event the folder is handed to
  the ordinary incremental index job (progress, cancel, per-file report as for a click), so a burst
  (a `git pull` of 500 files) is one run, and the manifest's hashes make sure an unchanged file
  is never embedded again. A file still being written keeps producing events, so the run waits
  until the writer is quiet; an event during a run marks the folder dirty again for one more run.
- Restarts: after each finished run the folder's fingerprint (names, sizes, mtimes) is stored in
  the base's `watch.json`; at start a folder whose fingerprint or manifest differs is caught up.
- Safety: a folder is watched only after `manager.allowed_folder` accepted it (LIANDAN_KB_ROOTS,
  never the data folder), again before every run; watchdog does not follow links, and the index
  run reads through the path policy (a link out of the folder is refused, as for a click).
- A folder that vanishes (an unmounted disk) pauses its watch with a message and keeps its chunks;
  it is caught up when it comes back. Deleting the base drops its watches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from core.errors import UserError
from core.i18n import Message, msg
from core.jobs import Job
from core.kb.indexer import _keep_dir, _keep_file
from core.kb.store import KnowledgeBase, write_json
from core.paths import PathPolicy

if TYPE_CHECKING:
    from core.kb.manager import KnowledgeBaseManager

log = logging.getLogger(__name__)
WATCH_FILE = "watch.json"
# Event types that say something changed (watchdog 7 also reports opened/closed-without-write).
CHANGES = {"created", "modified", "moved", "deleted", "closed"}


@dataclass
class WatchRecord:
    """One watched folder of one base, as persisted in the base's `watch.json`."""

    folder: str
    since: float = field(default_factory=time.time)
    last_sync: float | None = None
    changes: int = 0  # files indexed or removed by the last sync
    runs: int = 0  # syncs finished since the folder was first watched
    fingerprint: str = ""  # of the folder as the last finished sync read it


@dataclass(frozen=True)
class WatchStatus:
    """What the KB page shows for one watched folder."""

    folder: str
    last_sync: float | None
    changes: int
    runs: int
    pending: int  # changes seen and not yet synced
    syncing: bool
    problem: Message | None  # why the folder is not watched right now


@dataclass
class _Live:
    record: WatchRecord
    kb_id: str
    pending: set[str] = field(default_factory=set)
    last_event: float = 0.0
    job_id: str | None = None
    handle: object | None = None  # watchdog's ObservedWatch while scheduled
    problem: Message | None = None
    started_fingerprint: str = ""


def fingerprint(folder: Path, policy: PathPolicy) -> str:
    """A digest of what an index run of `folder` would see (the same walk, names, sizes, mtimes)."""
    digest = hashlib.sha1()
    for found in policy.walk(folder, _keep_dir, _keep_file):
        rel = found.path.relative_to(folder).as_posix()
        try:
            info = os.stat(found.path) if found.refused is None else None
        except OSError:
            info = None
        digest.update(f"{rel}\x00{info.st_size if info else -1}\x00{info.st_mtime_ns if info else -1}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def manifest_differs(kb: KnowledgeBase, folder: Path, policy: PathPolicy) -> bool:
    """Files the manifest has for `folder` that are gone, or none at all while the folder has files
    (a switched embedding model empties the manifest)."""
    label = folder.name or "root"
    on_disk = {f"{label}/{f.path.relative_to(folder).as_posix()}" for f in policy.walk(folder, _keep_dir, _keep_file)}
    mine = [s for s in kb.manifest.snapshot() if s.startswith(label + "/")]
    if on_disk and not mine:
        return True
    return any(s not in on_disk and not any(s.startswith(d + "/") for d in on_disk) for s in mine)


class _Handler(FileSystemEventHandler):
    """Marks a folder dirty on an event about a file the indexer would read (or a folder)."""

    def __init__(self, watcher: "FolderWatcher", key: tuple[str, str]) -> None:
        self.watcher, self.key = watcher, key

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGES or (event.is_directory and event.event_type == "modified"):
            return
        root = Path(self.key[1])
        for raw in (event.src_path, event.dest_path):
            path = os.fsdecode(raw) if raw else ""
            if path and _relevant(root, Path(path), event.is_directory):
                self.watcher._touch(self.key, path)


def _relevant(root: Path, path: Path, is_dir: bool) -> bool:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return False
    if not parts:
        return is_dir  # the folder itself (deleted or moved away)
    if not all(_keep_dir(p) for p in parts[:-1]):
        return False
    return _keep_dir(parts[-1]) if is_dir else _keep_file(parts[-1])


class FolderWatcher:
    """Every watched folder of every base of one manager. Thread-safe: the observer's thread adds
    events, the debounce thread starts runs, pages add and remove folders, all under `_lock`."""

    def __init__(self, manager: "KnowledgeBaseManager", debounce_s: float) -> None:
        self.manager = manager
        self.debounce_s = debounce_s
        self._lock = threading.RLock()
        self._live: dict[tuple[str, str], _Live] = {}
        self._observer: Observer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- lifecycle ----------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Watch every base's saved folders and catch up on what changed while the app was down."""
        with self._lock:
            if self.running:
                return
            self._stop.clear()
            self._observer = Observer()
            self._observer.daemon = True
            self._observer.start()
            for kb in self.manager.bases():
                for record in _load(kb):
                    live = _Live(record, kb.config.id)
                    self._live[(kb.config.id, record.folder)] = live
                    self._schedule(live)
                    if live.problem is None and self._stale(kb, live):
                        live.pending.add("*catch-up*")
            self._thread = threading.Thread(target=self._loop, name="kb-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the debounce thread and the observer (a run already started finishes as a job)."""
        self._stop.set()
        thread, observer = self._thread, self._observer
        if thread is not None:
            thread.join(10)
        if observer is not None:
            observer.stop()
            observer.join(10)
        with self._lock:
            self._thread = self._observer = None
            self._live.clear()

    # --- what pages call ------------------------------------------------------------
    def add(self, kb: KnowledgeBase, folder: Path) -> Job | None:
        """Keep `folder` (already checked by `allowed_folder`) in sync. The first run starts now, so
        the page that asked shows its progress at once; None while another run holds the base (the
        watcher starts it when that one ends)."""
        self.start()
        key = (kb.config.id, str(folder))
        with self._lock:
            live = self._live.get(key)
            if live is None:
                live = self._live[key] = _Live(WatchRecord(str(folder)), kb.config.id)
                self._save(kb.config.id)
                self._schedule(live)
            live.pending.add("*added*")
            live.last_event = 0.0
            if live.job_id is None and live.problem is None and not self.manager.busy(kb):
                return self._launch(kb, live)
            return None

    def remove(self, kb_id: str, folder: str) -> None:
        with self._lock:
            live = self._live.pop((kb_id, folder), None)
            if live is not None:
                self._unschedule(live)
                self._save(kb_id)

    def forget(self, kb_id: str) -> None:
        """The base is being deleted: drop its watches (its folder, watch.json included, goes with it)."""
        with self._lock:
            for key in [k for k in self._live if k[0] == kb_id]:
                self._unschedule(self._live.pop(key))

    def refresh(self, kb_id: str) -> None:
        """Re-index the base's watched folders (its index was emptied, e.g. a new embedding model)."""
        with self._lock:
            for key, live in self._live.items():
                if key[0] == kb_id:
                    live.pending.add("*refresh*")
                    live.last_event = 0.0

    def status(self, kb_id: str) -> list[WatchStatus]:
        with self._lock:
            return [
                WatchStatus(l.record.folder, l.record.last_sync, l.record.changes, l.record.runs,
                            len(l.pending - {"*catch-up*", "*added*", "*refresh*"}), l.job_id is not None, l.problem)
                for (k, _), l in sorted(self._live.items()) if k == kb_id
            ]

    def folders(self, kb: KnowledgeBase) -> list[str]:
        """The base's watched folders, also before `start` (read from its watch.json)."""
        with self._lock:
            if self.running:
                return [f for (k, f) in sorted(self._live) if k == kb.config.id]
        return [r.folder for r in _load(kb)]

    # --- the observer's side ----------------------------------------------------------
    def _touch(self, key: tuple[str, str], path: str) -> None:
        with self._lock:
            live = self._live.get(key)
            if live is not None:
                live.pending.add(path)
                live.last_event = time.monotonic()

    def _schedule(self, live: _Live) -> None:
        folder = Path(live.record.folder)
        live.problem = self._problem(folder)
        if live.problem is not None or self._observer is None:
            return
        try:
            live.handle = self._observer.schedule(_Handler(self, (live.kb_id, live.record.folder)), str(folder), recursive=True)
        except OSError as exc:  # e.g. the inotify watch limit (fs.inotify.max_user_watches)
            log.warning("cannot watch %s: %s", folder, exc)
            live.problem = msg("kb.watch.cannot", folder=str(folder), reason=exc.strerror or str(exc))

    def _unschedule(self, live: _Live) -> None:
        if live.handle is not None and self._observer is not None:
            try:
                self._observer.unschedule(live.handle)
            except (KeyError, OSError):  # the folder vanished and its emitter already ended
                pass
        live.handle = None

    def _problem(self, folder: Path) -> Message | None:
        if not folder.is_dir():
            return msg("kb.watch.missing", folder=str(folder))
        try:
            self.manager.allowed_folder(str(folder))
        except UserError:
            return msg("kb.watch.refused", folder=str(folder))
        return None

    # --- the debounce thread ----------------------------------------------------------
    def _loop(self) -> None:
        tick = max(0.05, min(0.5, self.debounce_s / 4))
        while not self._stop.wait(tick):
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - one bad tick must not end watching for every base
                log.exception("folder watch tick failed")

    def _tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            for live in list(self._live.values()):
                kb = self.manager.base_by_id(live.kb_id)
                if kb is None:  # deleted behind our back
                    self._unschedule(live)
                    self._live.pop((live.kb_id, live.record.folder), None)
                    continue
                if live.job_id is not None:
                    self._follow(kb, live)
                    continue
                folder = Path(live.record.folder)
                problem = self._problem(folder)
                if problem is not None:
                    if live.problem != problem:
                        self._unschedule(live)
                        live.problem = problem
                    continue
                if live.problem is not None or live.handle is None:  # back (remounted, roots fixed)
                    self._unschedule(live)
                    self._schedule(live)
                    live.pending.add("*catch-up*")
                if live.pending and now - live.last_event >= self.debounce_s and not self.manager.busy(kb):
                    self._launch(kb, live)

    def _launch(self, kb: KnowledgeBase, live: _Live) -> Job:
        live.pending.clear()
        folder = Path(live.record.folder)
        live.started_fingerprint = fingerprint(folder, self.manager.policy(kb))
        job = self.manager.start_index(kb.name, [folder], watched=True)
        live.job_id = job.id
        return job

    def _follow(self, kb: KnowledgeBase, live: _Live) -> None:
        job = self.manager.jobs.get(live.job_id) if self.manager.jobs is not None else None
        if job is not None and job.active:
            return
        live.job_id = None
        if job is None or job.status != "done":
            if job is not None and job.status == "failed":  # e.g. a click's run held the base: try again
                live.pending.add("*retry*")
                live.last_event = time.monotonic()
            return
        result = job.result
        live.record.last_sync = job.finished or time.time()
        live.record.changes = int(result.get("indexed", 0)) + int(result.get("removed", 0))
        live.record.runs += 1
        live.record.fingerprint = live.started_fingerprint
        self._save(live.kb_id)

    def _stale(self, kb: KnowledgeBase, live: _Live) -> bool:
        folder, policy = Path(live.record.folder), self.manager.policy(kb)
        return live.record.fingerprint != fingerprint(folder, policy) or manifest_differs(kb, folder, policy)

    def _save(self, kb_id: str) -> None:
        kb = self.manager.base_by_id(kb_id)
        if kb is None or not kb.folder.exists():
            return
        records = [asdict(l.record) for (k, _), l in sorted(self._live.items()) if k == kb_id]
        write_json(kb.folder / WATCH_FILE, {"folders": records})


def _load(kb: KnowledgeBase) -> list[WatchRecord]:
    path = kb.folder / WATCH_FILE
    if not path.exists():
        return []
    try:
        return [WatchRecord(**r) for r in json.loads(path.read_text(encoding="utf-8")).get("folders", [])]
    except (ValueError, TypeError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return []
