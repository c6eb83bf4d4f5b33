"""Holds the one engine of the process and swaps it when the user switches model.

Loading runs as a job (progress, errors shown cleanly); the old engine is closed only
after the new one loaded, so a failed switch leaves chat working.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

from pathlib import Path

from core.config import Settings
from core.errors import ModelNotLoaded, ModelSourceError, UserError
from core.i18n import Message, msg, verbatim
from core.jobs import JobContext, JobRegistry
from core.models import compatibility, downloads, loader, preflight, sources
from core.models.echo_engine import EchoEngine
from core.models.engine import Engine

log = logging.getLogger(__name__)
LOAD_JOB = "load-model"
DOWNLOAD_JOB = "download-model"


class ModelManager:
    def __init__(self, settings: Settings, jobs: JobRegistry) -> None:
        self.settings = settings
        self.jobs = jobs
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self.last_error: Message | None = None  # why the latest load failed, rendered where it is shown
        jobs.register(LOAD_JOB, self._load_job)
        jobs.register(DOWNLOAD_JOB, self._download_job)

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def require(self) -> Engine:
        if self._engine is None:
            raise ModelNotLoaded()
        return self._engine

    def build(self, spec: str, progress=sources._noop, quantization: str | None = None) -> Engine:
        """`quantization` overrides settings.quantization for this load (the picker's choice)."""
        if self.settings.engine == "echo":
            return EchoEngine()
        if self.settings.engine == "openai":
            from core.models.openai_engine import OpenAIEngine

            return OpenAIEngine.from_settings(self.settings, progress)
        resolved = sources.resolve(
            spec, self.settings.models_dir, progress, data_dir=self.settings.home,
            hub=self.hub(), trust_remote_code=self.settings.trust_remote_code,
        )
        engine = loader.load(
            resolved,
            device=self.settings.device,
            dtype=self.settings.dtype,
            trust_remote_code=self.settings.trust_remote_code,
            context_override=self.settings.context_length,
            progress=progress,
            quantization=quantization or self.settings.quantization,
        )
        engine.configure(self.settings.max_batch, self.settings.prefill_chunk, self.settings.prefix_cache, self.settings.batch_window_ms)
        return engine

    def preflight(self, folder: str) -> list[preflight.Finding]:
        """Problems loading a local folder would hit, found without loading it."""
        try:
            path = sources.local_folder(Path(folder), self.settings.home)
        except ModelSourceError as exc:
            return [preflight.Finding.of(exc)]
        device = loader.pick_device(self.settings.device)
        return preflight.check(path, device, loader.pick_dtype(self.settings.dtype, device), self.settings.trust_remote_code)

    def load(self, spec: str, progress=sources._noop, quantization: str | None = None) -> Engine:
        engine = self.build(spec, progress, quantization)
        self._replace(engine)
        self.last_error = None
        return engine

    def start_load(self, spec: str, quantization: str | None = None) -> str:
        """Load in the background; returns the job id the UI polls."""
        return self.jobs.start(LOAD_JOB, f"Load {spec}", {"spec": spec, "quantization": quantization}).id

    def _load_job(self, ctx: JobContext) -> None:
        self._load_job_body(ctx, ctx.job.params["spec"], quantization=ctx.job.params.get("quantization"))

    # --- ModelScope downloads (the System page's model picker) ------------------------
    def hub(self) -> "downloads.ModelScopeHub":
        return downloads.ModelScopeHub(self.settings.modelscope_endpoint)

    def preflight_remote(self, model_id: str) -> list[preflight.Finding]:
        """What would stop `model_id` from loading here, from its file list and config.json only."""
        try:
            findings, files = compatibility.check_remote(self.hub(), model_id, self.settings.trust_remote_code)
        except ModelSourceError as exc:
            return [preflight.Finding.of(exc)]
        return findings + downloads.disk_findings(self.settings.models_dir, model_id, files)

    def start_download(self, model_id: str, load_after: bool = True, quantization: str | None = None) -> str:
        """Download `model_id` in the background (then load it); returns the job id."""
        if not sources.is_modelscope_id(model_id):
            raise ModelSourceError("errors.manager.modelscope_id", model_id=model_id)
        if any(j.active and j.params.get("model_id") == model_id for j in self.jobs.list(DOWNLOAD_JOB)):
            raise ModelSourceError("errors.manager.already_being_downloaded", model_id=model_id)
        return self.jobs.start(DOWNLOAD_JOB, f"⬇ {model_id}", {"model_id": model_id, "load_after": load_after, "quantization": quantization}).id

    def _download_job(self, ctx: JobContext) -> None:
        model_id, load_after = ctx.job.params["model_id"], ctx.job.params.get("load_after", True)
        share = 0.9 if load_after else 1.0  # of the bar: the download, then loading
        ctx.report(0.0, msg("job.manager.checking_modelscope", model_id=model_id))
        findings, files = compatibility.check_remote(self.hub(), model_id, self.settings.trust_remote_code)
        findings += downloads.disk_findings(self.settings.models_dir, model_id, files)
        compatibility.raise_errors(findings)
        started, first = time.monotonic(), None

        def report(done: int, total: int) -> None:
            nonlocal first
            first = done if first is None else first
            rate = (done - first) / max(1e-6, time.monotonic() - started)
            eta = (total - done) / rate if rate > 0 else None
            mb = f"{done / 1e6:.0f}/{total / 1e6:.0f} MB"
            ctx.report(
                share * done / total,
                msg("job.manager.downloading_mb_s", model_id=model_id, mb=mb, rate=rate / 1e6),
                bytes_done=done,
                bytes_total=total,
                eta_seconds=round(eta, 1) if eta is not None else None,
            )

        folder = downloads.fetch(self.hub(), model_id, self.settings.models_dir, files, report, ctx.cancel_event)
        ctx.set_result(folder=str(folder))
        if load_after:
            ctx.report(share, msg("job.manager.downloaded_loading", model_id=model_id), eta_seconds=None)
            self._load_job_body(ctx, model_id, share, ctx.job.params.get("quantization"))

    def _load_job_body(self, ctx: JobContext, spec: str, start: float = 0.0, quantization: str | None = None) -> None:
        def progress(fraction: float, message: Message) -> None:
            ctx.report(start + (1 - start) * fraction, message)

        try:
            self.load(spec, progress, quantization)
        except Exception as exc:
            self.last_error = exc.as_message() if isinstance(exc, UserError) else verbatim(str(exc))
            raise

    def unload(self) -> None:
        self._replace(None)

    def _replace(self, engine: Engine | None) -> None:
        """Swap engines; the old one closes once its running request (if any) has finished."""
        with self._lock:
            old, self._engine = self._engine, engine
        if old is not None:
            with old.lock.hold():
                old.close()
            gc.collect()
