"""One log file under the data folder, which the System page tails."""

from __future__ import annotations

import logging
from collections import deque
from logging.handlers import RotatingFileHandler
from pathlib import Path

from core.config import Settings

LOG_NAME = "liandan.log"


def log_file(settings: Settings) -> Path:
    return settings.logs_dir / LOG_NAME


def setup_logging(settings: Settings) -> None:
    path = log_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if any(isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path for h in root.handlers):
        return
    handler = RotatingFileHandler(path, maxBytes=5_000_000, backupCount=2, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())


def tail(settings: Settings, lines: int = 100) -> list[str]:
    path = log_file(settings)
    if not path.exists():
        return []
    with path.open(encoding="utf-8", errors="replace") as fh:
        return list(deque(fh, maxlen=lines))
