"""Holds the one engine of the process and swaps it when the user switches model.

Loading runs as a job (progress, errors shown cleanly); the old engine is closed only
after the new one loaded, so a failed switch leaves chat working.
"""

from __future__ import annotations

import gc
import logging
import threading

from pathlib import Path

from core.config import Settings
from core.errors import ModelNotLoaded, ModelSourceError, chinese_text
from core.i18n import chinese_of
from core.jobs import JobContext, JobRegistry
from core.models import loader, preflight, sources
from core.models.echo_engine import EchoEngine
from core.models.engine import Engine

log = logging.getLogger(__name__)
LOAD_JOB = "load-model"


class ModelManager:
    def __init__(self, settings: Settings, jobs: JobRegistry) -> None:
        self.settings = settings
        self.jobs = jobs
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self.last_error: str = ""
        self.last_error_zh: str = ""
        jobs.register(LOAD_JOB, self._load_job)

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def require(self) -> Engine:
        if self._engine is None:
            raise ModelNotLoaded()
        return self._engine

    def build(self, spec: str, progress=sources._noop) -> Engine:
        if self.settings.engine == "echo":
            return EchoEngine()
        if self.settings.engine == "openai":
            from core.models.openai_engine import OpenAIEngine

            return OpenAIEngine.from_settings(self.settings, progress)
        resolved = sources.resolve(spec, self.settings.models_dir, progress)
        engine = loader.load(
            resolved,
            device=self.settings.device,
            dtype=self.settings.dtype,
            trust_remote_code=self.settings.trust_remote_code,
            context_override=self.settings.context_length,
            progress=progress,
        )
        engine.configure(self.settings.max_batch, self.settings.prefill_chunk)
        return engine

    def preflight(self, folder: str) -> list[preflight.Finding]:
        """Problems loading a local folder would hit, found without loading it."""
        try:
            path = sources.local_folder(Path(folder))
        except ModelSourceError as exc:
            return [preflight.Finding("error", exc.message, exc.hint, zh=exc.zh, zh_hint=exc.zh_hint)]
        device = loader.pick_device(self.settings.device)
        return preflight.check(path, device, loader.pick_dtype(self.settings.dtype, device), self.settings.trust_remote_code)

    def load(self, spec: str, progress=sources._noop) -> Engine:
        engine = self.build(spec, progress)
        self._replace(engine)
        self.last_error = self.last_error_zh = ""
        return engine

    def start_load(self, spec: str) -> str:
        """Load in the background; returns the job id the UI polls."""
        return self.jobs.start(LOAD_JOB, f"Load {spec}", {"spec": spec}).id

    def _load_job(self, ctx: JobContext) -> None:
        try:
            self.load(ctx.job.params["spec"], lambda f, m: ctx.report(f, str(m), message_zh=chinese_of(m)))
        except Exception as exc:
            self.last_error = str(exc)
            self.last_error_zh = chinese_text(exc)
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
