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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import Cancelled, UserError, chinese_text
from core.i18n import Message

log = logging.getLogger(__name__)

ACTIVE = ("pending", "running")
FINAL = ("done", "failed", "cancelled", "interrupted")
# What an interrupted job says, in English and Chinese (the UI's default language).
INTERRUPTED_MESSAGE = "The app stopped while this job was running."
INTERRUPTED_MESSAGE_ZH = "该任务运行期间应用已停止。"


@dataclass
class Job:
    id: str
    kind: str
    title: str
    params: dict[str, Any]
    status: str = "pending"  # pending | running | done | failed | cancelled | interrupted
    progress: float = 0.0
    message: str = ""
    message_zh: str = ""  # the message in Chinese when its writer gave one; "" in job files from before it
    error: str = ""
    error_zh: str = ""  # the error in Chinese for the UI when it was a UserError with Chinese text
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

    def snapshot(self) -> "Job":
        return Job(**json.loads(json.dumps(asdict(self))))


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

    def report(
        self,
        progress: float | None = None,
        message: str | Message | None = None,
        *,
        message_zh: str = "",
        **details: Any,
    ) -> None:
        """`message` is best a `Message` (rendered in both languages); `message_zh` is the older way to
        give the Chinese. A new message without Chinese clears the old Chinese text, so the UI never
        shows a stale Chinese sentence beside a newer English one."""
        if isinstance(message, Message):
            message, message_zh = str(message), message.render("zh")
        with self._registry.lock:
            if progress is not None:
                self.job.progress = max(0.0, min(1.0, progress))
            if message is not None:
                self.job.message, self.job.message_zh = message, message_zh
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
                job = Job(**json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, TypeError) as exc:
                log.warning("skipping unreadable job file %s: %s", path, exc)
                continue
            if job.status in ACTIVE:
                job.status = "interrupted"
                job.message, job.message_zh = INTERRUPTED_MESSAGE, INTERRUPTED_MESSAGE_ZH
                self.save(job)
            elif job.message == INTERRUPTED_MESSAGE and not job.message_zh:  # interrupted before Chinese existed
                job.message_zh = INTERRUPTED_MESSAGE_ZH
            self._jobs[job.id] = job

    def save(self, job: Job) -> None:
        # Under the lock: the worker and the UI (cancel, resume) may save one job at once,
        # and two writers sharing the temp file would lose a rename.
        with self.lock:
            tmp = self._path(job.id).with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(job), ensure_ascii=False), encoding="utf-8")
            tmp.replace(self._path(job.id))

    def register(self, kind: str, runner: Runner) -> None:
        self._runners[kind] = runner

    def start(self, kind: str, title: str, params: dict[str, Any], runner: Runner | None = None) -> Job:
        runner = runner or self._runners.get(kind)
        if runner is None:
            raise UserError(f"No runner for jobs of kind '{kind}'.", zh=f"“{kind}”类任务没有对应的执行程序。")
        job = Job(id=f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}", kind=kind, title=title, params=params)
        with self.lock:
            self._jobs[job.id] = job
        self.save(job)
        self._launch(job, runner)
        return job.snapshot()

    def resume(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise UserError(f"No job {job_id}.", zh=f"任务 {job_id} 不存在。")
        if job.active:
            raise UserError("This job is still running.", zh="该任务仍在运行。")
        runner = self._runners.get(job.kind)
        if runner is None:
            raise UserError(f"Jobs of kind '{job.kind}' cannot be resumed.", zh=f"“{job.kind}”类任务无法继续运行。")
        with self.lock:
            job.status, job.error, job.error_zh, job.finished = "pending", "", "", None
            job.message, job.message_zh = "", ""  # "the app stopped…" no longer holds once it runs again
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
        error_zh = ""
        try:
            runner(ctx)
            status, error = ("cancelled", "") if ctx.cancelled else ("done", "")
        except Cancelled:
            status, error = "cancelled", ""
        except UserError as exc:
            status, error = "failed", str(exc)
            error_zh = chinese_text(exc)
        except Exception as exc:  # a bug: keep the trace in the log, show one line
            log.error("job %s failed:\n%s", job.id, traceback.format_exc())
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        with self.lock:
            job.status, job.error, job.error_zh, job.finished = status, error, error_zh, time.time()
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
                raise UserError("Cancel the job before deleting it.", zh="请先取消该任务，再删除。")
            del self._jobs[job_id]
        self._path(job_id).unlink(missing_ok=True)

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(job_id)
