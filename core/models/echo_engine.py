"""A fake engine chosen by settings (`LIANDAN_ENGINE=echo`): instant, deterministic answers.

It implements the real interface, lock and queue included, so UI demos and page tests
exercise the same code paths as with a model.
"""

from __future__ import annotations

import time
from pathlib import Path

from core.models.engine import Engine, Generation, ModelInfo
from core.models.options import GenerationOptions


class EchoEngine(Engine):
    def __init__(self, delay: float = 0.0, context_length: int = 4096) -> None:
        super().__init__()
        self.delay = delay
        self.info = ModelInfo(
            name="echo", source="echo", kind="fake", parameters=0, dtype="-", device="cpu",
            context_length=context_length, load_seconds=0.0, architecture="EchoEngine",
        )

    def count_tokens(self, messages: list[dict], adapter: str | None = None) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages)

    def answer(self, messages: list[dict], adapter: str | None) -> str:
        last = next(m["content"] for m in reversed(messages) if m["role"] in ("user", "observation"))
        return (f"[{adapter}] " if adapter else "") + f"echo: {last}"

    def _generate(self, messages: list[dict], options: GenerationOptions, adapter: str | None, gen: Generation) -> None:
        words = self.answer(messages, adapter).split(" ")[: options.max_new_tokens]
        gen.stats.prompt_tokens = self.count_tokens(messages)
        started = time.perf_counter()
        for i, word in enumerate(words):
            if gen.cancel.is_set():
                break
            if self.delay:
                time.sleep(self.delay)
            gen.push(word if i == 0 else " " + word)
            gen.stats.completion_tokens += 1
            if gen.stats.first_token_seconds is None:
                gen.stats.first_token_seconds = time.perf_counter() - started
        gen.stats.seconds = time.perf_counter() - started

    def _load_adapter(self, name: str, path: Path) -> None:
        return None

    def _unload_adapter(self, name: str) -> None:
        return None
