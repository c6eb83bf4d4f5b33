"""Helpers the subcommands share: settings, loading the model with a progress line."""

from __future__ import annotations

import sys

from core.config import Settings
from core.i18n import Message
from core.models.engine import Engine
from core.models.manager import ModelManager
from core.runtime import Runtime, create_runtime


def register(subparsers) -> None:  # this module adds no command
    return None


def runtime_for(model: str | None = None) -> Runtime:
    settings = Settings(load_on_start=False, **({"model": model} if model else {}))
    return create_runtime(settings)


def load_engine(models: ModelManager, spec: str) -> Engine:
    def progress(fraction: float, message: Message) -> None:  # the terminal reads English
        print(f"\r[{fraction * 100:3.0f}%] {str(message)[:70]:<70}", end="", file=sys.stderr, flush=True)

    engine = models.load(spec, progress)
    print(file=sys.stderr)
    return engine
