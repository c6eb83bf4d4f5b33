"""Background jobs (indexing, training, model loading) that the UI polls.

Workers never touch the UI: they report into a `JobContext`, which updates the `Job` and
writes it to disk, so a browser refresh re-attaches and an app restart shows what
happened (a job that was running when the process died is marked `interrupted` and can
be resumed by its kind's runner).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
import copy
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from core.errors import Cancelled, UserError
from core.i18n import Message, msg, stored, verbatim

log = logging.getLogger(__name__)

ACTIVE = ("pending", "running")
FINAL = ("done", "failed", "cancelled", "interrupted")
INTERRUPTED = msg("job.interrupted")  # what a job that was running when the app stopped says


@dataclass
class Job:
    id: str
    kind: str
    title: str
    params: dict[str, Any]
    status: str = "pending"  # pending | running | done | failed | cancelled | interrupted
    progress: float = 0.0
    status_message: Message | None = None  # the latest progress text, rendered where it is shown
    error_message: Message | None = None  # why it failed: a UserError's texts, or a bug's one line verbatim
    created: float = field(default_factory=time.time)
    started: float | None = None
    updated: float = field(default_factory=time.time)
    finished: float | None = None
    metrics: list[dict[str, Any]] = field(default_factory=list)  # e.g. loss per step
    details: dict[str, Any] = field(default_factory=dict)  # e.g. per-file status table
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def eta_seconds(self) -> float | None:
        if self.status != "running" or not self.started or self.progress <= 0.0:
            return None
        if isinstance(self.details.get("eta_seconds"), (int, float)):  # the worker's own rate (right after a resume)
            return float(self.details["eta_seconds"])
        elapsed = time.time() - self.started
        return elapsed * (1.0 - self.progress) / self.progress

    @property
    def message(self) -> str:
        """The progress text in English (CLI, logs); the UI renders `status_message` in its language."""
        return str(self.status_message) if self.status_message else ""

    @property
    def error(self) -> str:
        return str(self.error_message) if self.error_message else ""

    def snapshot(self) -> "Job":
        return copy.deepcopy(self)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # a Message becomes {"key", "params"}, as Message.to_json writes it

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Job":
        """A job file of this version, or of one before messages were keys (message/message_zh and
        error/error_zh as sentences): those still render, in Chinese where their writer gave it."""
        data = dict(data)
        old_message, old_message_zh = data.pop("message", ""), data.pop("message_zh", "")
        old_error, old_error_zh = data.pop("error", ""), data.pop("error_zh", "")
        known = {f.name for f in fields(cls)}
        job = cls(**{k: v for k, v in data.items() if k in known})
        job.status_message = stored(data.get("status_message")) or stored(old_message, old_message_zh)
        job.error_message = stored(data.get("error_message")) or stored(old_error, old_error_zh)
        if job.message == str(INTERRUPTED):  # older files wrote the sentence, not the key
            job.status_message = INTERRUPTED
        return job


class JobContext:
    """What a worker sees: report progress, record metrics and details, check for cancel."""

    def __init__(self, registry: "JobRegistry", job: Job) -> None:
        self._registry = registry
        self.job = job
        self.cancel_event = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancel(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()

    def report(self, progress: float | None = None, message: Message | None = None, **details: Any) -> None:
        """`message` is a `Message` (`msg("kb.step", ...)`), stored as key + parameters and rendered
        where it is shown; `None` keeps the previous one. A plain str is refused: it would reach the
        Chinese UI untranslated."""
        if message is not None and not isinstance(message, Message):
            raise TypeError(f"JobContext.report takes a Message (core.i18n.msg), not {type(message).__name__}")
        with self._registry.lock:
            if progress is not None:
                self.job.progress = max(0.0, min(1.0, progress))
            if message is not None:
                self.job.status_message = message
            self.job.details.update(details)
            self.job.updated = time.time()
        self._registry.save(self.job)

    def metric(self, **values: Any) -> None:
        with self._registry.lock:
            self.job.metrics.append(values)
        self._registry.save(self.job)

    def keep_metrics(self, keep: Callable[[dict[str, Any]], bool]) -> None:
        """Drop recorded metrics a resumed worker will record again (e.g. steps after a checkpoint)."""
        with self._registry.lock:
            self.job.metrics = [m for m in self.job.metrics if keep(m)]
        self._registry.save(self.job)

    def set_result(self, **values: Any) -> None:
        with self._registry.lock:
            self.job.result.update(values)
        self._registry.save(self.job)


Runner = Callable[[JobContext], None]


class JobRegistry:
    """One per process. Kinds register a runner so interrupted jobs can be resumed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._contexts: dict[str, JobContext] = {}
        self._runners: dict[str, Runner] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._load()

    def _path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.json"

    def _load(self) -> None:
        for path in sorted(self.folder.glob("*.json")):
            try:
                job = Job.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("skipping unreadable job file %s: %s", path, exc)
                continue
            if job.status in ACTIVE:
                job.status = "interrupted"
                job.status_message = INTERRUPTED
                self.save(job)
            self._jobs[job.id] = job

    def save(self, job: Job) -> None:
        # Under the lock: the worker and the UI (cancel, resume) may save one job at once,
        # and two writers sharing the temp file would lose a rename.
        with self.lock:
            tmp = self._path(job.id).with_suffix(".tmp")
            tmp.write_text(json.dumps(job.to_json(), ensure_ascii=False), encoding="utf-8")
            tmp.replace(self._path(job.id))

    def register(self, kind: str, runner: Runner) -> None:
        self._runners[kind] = runner

    def start(self, kind: str, title: str, params: dict[str, Any], runner: Runner | None = None) -> Job:
        runner = runner or self._runners.get(kind)
        if runner is None:
            raise UserError("errors.jobs.runner_jobs_kind", kind=kind)
        job = Job(id=f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}", kind=kind, title=title, params=params)
        with self.lock:
            self._jobs[job.id] = job
        self.save(job)
        self._launch(job, runner)
        return job.snapshot()

    def resume(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise UserError("errors.jobs.job", job_id=job_id)
        if job.active:
            raise UserError("errors.jobs.job_still_running")
        runner = self._runners.get(job.kind)
        if runner is None:
            raise UserError("errors.jobs.jobs_kind_resumed", kind=job.kind)
        with self.lock:
            job.status, job.error_message, job.finished = "pending", None, None
            job.status_message = None  # "the app stopped…" no longer holds once it runs again
            job.details["resumed"] = job.details.get("resumed", 0) + 1
        self.save(job)
        self._launch(job, runner)
        return job.snapshot()

    def _launch(self, job: Job, runner: Runner) -> None:
        ctx = JobContext(self, job)
        self._contexts[job.id] = ctx
        thread = threading.Thread(target=self._run, args=(ctx, runner), name=f"job-{job.id}", daemon=True)
        self._threads[job.id] = thread
        thread.start()

    def _run(self, ctx: JobContext, runner: Runner) -> None:
        job = ctx.job
        with self.lock:
            job.status, job.started = "running", time.time()
        self.save(job)
        error: Message | None = None
        try:
            runner(ctx)
            status = "cancelled" if ctx.cancelled else "done"
        except Cancelled:
            status = "cancelled"
        except UserError as exc:
            status, error = "failed", exc.as_message()
        except Exception as exc:  # a bug: keep the trace in the log, show one line
            log.error("job %s failed:\n%s", job.id, traceback.format_exc())
            status, error = "failed", verbatim(f"{type(exc).__name__}: {exc}")
        with self.lock:
            job.status, job.error_message, job.finished = status, error, time.time()
            if status == "done":
                job.progress = 1.0
        self.save(job)

    def cancel(self, job_id: str) -> None:
        ctx = self._contexts.get(job_id)
        if ctx is not None:
            ctx.cancel_event.set()

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            job = self._jobs.get(job_id)
            return job.snapshot() if job else None

    def list(self, kind: str | None = None) -> list[Job]:
        with self.lock:
            jobs = [j.snapshot() for j in self._jobs.values() if kind is None or j.kind == kind]
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def delete(self, job_id: str) -> None:
        with self.lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            if job.active:
                raise UserError("errors.jobs.cancel_job_before_deleting")
            del self._jobs[job_id]
        self._path(job_id).unlink(missing_ok=True)

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(job_id)
