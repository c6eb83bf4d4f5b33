"""The composition root: the one object that owns the process's shared resources.

Settings, jobs and the model manager are passed in (`create_runtime` builds them); the stores
and managers built on them are created on first use, once per process. Pages (through
`components.resources`), the API server and the CLI all reach the same `get_runtime()`, so one
model, one adapter pool and one store of each serve every session; tests replace it with
`install_runtime` (one helper, `tests.conftest.installed`).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING
from dataclasses import dataclass
from functools import cached_property

from core.config import Settings
from core.jobs import JobRegistry
from core.logging_setup import setup_logging
from core.models.manager import ModelManager

if TYPE_CHECKING:
    from core.conversations import ConversationStore
    from core.personas import PersonaStore
    from core.compare.runs import RunStore
    from core.compare.feedback import FeedbackStore
    from core.compare.votes import VoteStore
    from core.adapters.pool import AdapterPool
    from core.adapters.store import AdapterStore
    from core.interpreter.kernel import KernelPool
    from core.tuning.finetuner import FineTuner
    from core.kb.manager import KnowledgeBaseManager

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    jobs: JobRegistry
    models: ModelManager

    @cached_property
    def conversations(self) -> "ConversationStore":
        """Chat's saved conversations."""
        from core.conversations import ConversationStore

        return ConversationStore(self.settings.conversations_dir)

    @cached_property
    def personas(self) -> "PersonaStore":
        """The persona presets, built-in and saved."""
        from core.personas import PersonaStore

        return PersonaStore(self.settings.prefs_dir / "personas.json")

    @cached_property
    def adapters(self) -> "AdapterStore":
        from core.adapters.store import AdapterStore

        return AdapterStore(self.settings.adapters_dir)

    @cached_property
    def adapter_pool(self) -> "AdapterPool":
        """Saved adapters loaded lazily onto whichever model is loaded now (LRU-limited)."""
        from core.adapters.pool import AdapterPool

        return AdapterPool(self.adapters, self.models.require, self.settings.max_loaded_adapters)

    @cached_property
    def finetune(self) -> "FineTuner":
        """LoRA training jobs; creating it registers the job kind so interrupted runs can resume."""
        from core.tuning.finetuner import FineTuner

        return FineTuner(self)

    @cached_property
    def runs(self) -> "RunStore":
        """Comparison runs (Compare page, re-compare)."""
        from core.compare.runs import RunStore

        return RunStore(self.settings.compare_dir / "runs")

    @cached_property
    def votes(self) -> "VoteStore":
        """Blind votes; one store per process, so its lock serialises every session's appends."""
        from core.compare.votes import VoteStore

        return VoteStore(self.settings.compare_dir / "votes.jsonl")

    @cached_property
    def feedback(self) -> "FeedbackStore":
        """Chat's 👍/👎 ratings; one store per process, like the votes."""
        from core.compare.feedback import FeedbackStore

        return FeedbackStore(self.settings.compare_dir / "feedback.jsonl")

    @cached_property
    def kernels(self) -> "KernelPool":
        """The code interpreter's per-session sandboxed kernels (started lazily, reaped when idle)."""
        from core.interpreter.kernel import pool_from_settings

        return pool_from_settings(self.settings)

    @cached_property
    def kb(self) -> "KnowledgeBaseManager":
        """Knowledge bases (one Chroma client); creating it registers the resumable index job."""
        from core.kb.manager import KnowledgeBaseManager

        return KnowledgeBaseManager(self.settings, self.jobs)

    def start_watching(self) -> None:
        """Start the knowledge bases' folder watcher (and its catch-up) in a server process, when a
        base watches a folder: a glob, so a process without watched folders never opens Chroma here."""
        with _watch_lock:
            if any((self.settings.kb_dir / "bases").glob("*/watch.json")):
                self.kb.start_watching()


_runtime: Runtime | None = None
_lock = threading.Lock()
_watch_lock = threading.Lock()


def create_runtime(settings: Settings) -> Runtime:
    settings.home.mkdir(parents=True, exist_ok=True)
    setup_logging(settings)
    jobs = JobRegistry(settings.jobs_dir)
    return Runtime(settings=settings, jobs=jobs, models=ModelManager(settings, jobs))


def get_runtime(settings: Settings | None = None) -> Runtime:
    """The process's runtime, created on first use (and the model load started, if asked)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = create_runtime(settings or Settings())
            if _runtime.settings.load_on_start:
                _runtime.models.start_load(_runtime.settings.model)
        return _runtime


def install_runtime(runtime: Runtime | None) -> None:
    """Use `runtime` as the process's runtime (the headless server and tests build their own)."""
    global _runtime
    with _lock:
        _runtime = runtime
