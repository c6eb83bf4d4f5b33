"""The engine surface every page, the API, RAG, compare and training talk to.

It is small on purpose (stream, stop, adapters, one queue) so a faster backend (llama.cpp,
vLLM, a remote OpenAI server) can sit behind it without touching callers.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import Cancelled, InputError, UserError
from core.models.fair_lock import FairLock
from core.models.options import GenerationOptions, as_dicts

log = logging.getLogger(__name__)

BASE = "base"
_DONE = object()


@dataclass
class ModelInfo:
    name: str
    source: str
    kind: str
    parameters: int
    dtype: str
    device: str
    context_length: int
    load_seconds: float
    architecture: str = ""
    path: str = ""


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dropped_turns: int = 0
    cached_tokens: int = 0  # prompt tokens whose keys/values another request had computed (a shared head)
    queued_seconds: float = 0.0
    first_token_seconds: float | None = None
    seconds: float = 0.0
    finish_reason: str = "stop"  # stop | length | cancelled | error

    @property
    def tokens_per_second(self) -> float:
        decode = self.seconds - (self.first_token_seconds or 0.0)
        return (self.completion_tokens - 1) / decode if decode > 0 and self.completion_tokens > 1 else 0.0


@dataclass
class Generation:
    """One request's handle: iterate for text chunks, `stop()` to cancel only this one.

    A request served under the FairLock (one answer at a time) has a `ticket` on `lock`;
    one served by a batching backend gets `queue_position` / `batch_peers` from it instead.
    """

    ticket: int = 0
    lock: FairLock | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    stats: GenerationStats = field(default_factory=GenerationStats)
    error: BaseException | None = None
    queue_position: Callable[[], int] | None = None
    batch_peers: Callable[[], int] | None = None
    _chunks: queue.Queue = field(default_factory=queue.Queue)
    _text: list[str] = field(default_factory=list)
    _on_finish: list[Callable[[], None]] = field(default_factory=list)
    _finish_lock: threading.Lock = field(default_factory=threading.Lock)

    def ahead(self) -> int:
        """Requests that will start before this one (0 once it is generating)."""
        if self.started.is_set():
            return 0
        if self.queue_position is not None:
            return self.queue_position()
        return self.lock.ahead(self.ticket) if self.lock is not None else 0

    def others(self) -> int:
        """Other requests generating in the same batch right now (0 for one-at-a-time engines)."""
        if not self.started.is_set() or self.finished.is_set() or self.batch_peers is None:
            return 0
        return self.batch_peers()

    def stop(self) -> None:
        self.cancel.set()

    def push(self, text: str) -> None:
        if text:
            self._chunks.put(text)

    def when_finished(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this generation has finished (at once if it already has).

        It runs on the thread that finishes the generation, which may still hold the engine's
        lock: a callback must not wait for that lock (hand such work to another thread).
        """
        with self._finish_lock:
            if not self.finished.is_set():
                self._on_finish.append(callback)
                return
        callback()

    def close(self, error: BaseException | None = None) -> None:
        self.error = error
        with self._finish_lock:
            self.finished.set()
            callbacks, self._on_finish = self._on_finish, []
        self._chunks.put(_DONE)
        for callback in callbacks:
            callback()

    def __iter__(self) -> Iterator[str]:
        try:
            while True:
                item = self._chunks.get()
                if item is _DONE:
                    break
                self._text.append(item)
                yield item
            if self.error is not None and not isinstance(self.error, Cancelled):
                raise self.error
        finally:
            # The consumer went away (closed stream, disconnected client): stop generating.
            if not self.finished.is_set():
                self.cancel.set()

    @property
    def text(self) -> str:
        return "".join(self._text)

    def result(self) -> str:
        """Consume everything and return the full answer."""
        for _ in self:
            pass
        return self.text


class Engine(ABC):
    """Owns one loaded model; thread-safe: every use of the weights holds `lock`."""

    info: ModelInfo

    def __init__(self) -> None:
        self.lock = FairLock()
        self._adapters: dict[str, Path] = {}
        self._templates: dict[str, str] = {}  # adapter -> the chat template it was trained with

    # --- text -----------------------------------------------------------------
    @abstractmethod
    def count_tokens(self, messages: list[dict], adapter: str | None = None) -> int:
        """Prompt length in tokens, laid out with `adapter`'s chat template when it has one."""

    @abstractmethod
    def _generate(self, messages: list[dict], options: GenerationOptions, adapter: str | None, gen: Generation) -> None:
        """Run under the lock; push text into `gen`, fill `gen.stats`, honour `gen.cancel`."""

    def fit(self, messages: list[dict], max_new_tokens: int, adapter: str | None = None) -> tuple[list[dict], int]:
        """Drop the oldest turns (never the system prompt or the last message) to fit the window."""
        budget = self.info.context_length - max_new_tokens
        if budget <= 0:
            raise InputError(
                "errors.engine.max_new_tokens_leaves", max_new_tokens=max_new_tokens, context_length=self.info.context_length,
            )
        messages = list(messages)
        dropped = 0
        while (needed := self.count_tokens(messages, adapter)) > budget:
            first = 1 if messages and messages[0]["role"] == "system" else 0
            if len(messages) - first <= 1:
                raise InputError("errors.engine.message_too_long_model", needed=needed, budget=budget)
            del messages[first]
            dropped += 1
        return messages, dropped

    def stream(
        self,
        messages: list,
        options: GenerationOptions | None = None,
        adapter: str | None = None,
    ) -> Generation:
        """Queue a request and return at once; the answer streams from the handle."""
        options = options or GenerationOptions()
        messages = as_dicts(messages)
        if not messages or not any(m["content"].strip() for m in messages if m["role"] == "user"):
            raise InputError("errors.engine.message_empty")
        if adapter not in (None, BASE) and adapter not in self._adapters:
            raise UserError("errors.engine.adapter_available", adapter=adapter)
        if options.max_new_tokens > self.info.context_length // 2:
            # Never let the answer budget starve the prompt: cap it at half the window.
            options = options.model_copy(update={"max_new_tokens": max(1, self.info.context_length // 2)})
        messages, dropped = self.fit(messages, options.max_new_tokens, None if adapter == BASE else adapter)
        return self._submit(messages, options, None if adapter == BASE else adapter, dropped)

    def _submit(self, messages: list[dict], options: GenerationOptions, adapter: str | None, dropped: int) -> Generation:
        """Start one validated request; the default runs it alone under the FairLock, on its own thread."""
        gen = Generation(ticket=self.lock.ticket(), lock=self.lock)
        gen.stats.dropped_turns = dropped
        threading.Thread(
            target=self._run, args=(messages, options, adapter, gen), name=f"generate-{gen.ticket}", daemon=True
        ).start()
        return gen

    def status(self) -> dict:
        """How busy the engine is, for the API's health and the System page."""
        return {"running": 1 if self.lock.busy else 0, "waiting": self.lock.queued, "max_batch": 1}

    @property
    def busy(self) -> bool:
        return self.status()["running"] > 0

    @property
    def queued(self) -> int:
        return self.status()["waiting"]

    def chat(self, messages: list, options: GenerationOptions | None = None, adapter: str | None = None) -> str:
        return self.stream(messages, options, adapter).result()

    def _run(self, messages: list[dict], options: GenerationOptions, adapter: str | None, gen: Generation) -> None:
        queued_at = time.perf_counter()
        try:
            self.lock.acquire(gen.ticket, gen.cancel)
        except Cancelled as exc:
            gen.stats.finish_reason = "cancelled"
            gen.close(exc)
            return
        try:
            gen.stats.queued_seconds = time.perf_counter() - queued_at
            gen.started.set()
            self._generate(messages, options, adapter, gen)
            if gen.cancel.is_set():
                gen.stats.finish_reason = "cancelled"
            gen.close()
        except BaseException as exc:  # reported to the consumer, who shows a clean message
            log.exception("generation failed")
            gen.stats.finish_reason = "error"
            gen.close(exc)
        finally:
            self.lock.release()

    # --- adapters ---------------------------------------------------------------
    def adapter_names(self) -> list[str]:
        return list(self._adapters)

    def load_adapter(self, name: str, path: Path, chat_template: str = "") -> None:
        """Load a saved adapter; prompts for it use `chat_template` when given (its card's)."""
        with self.lock.hold():
            self._load_adapter(name, path)
        self._adapters[name] = path
        if chat_template:
            self._templates[name] = chat_template

    def unload_adapter(self, name: str) -> None:
        with self.lock.hold():
            self._unload_adapter(name)
        self._adapters.pop(name, None)
        self._templates.pop(name, None)

    def _load_adapter(self, name: str, path: Path) -> None:  # pragma: no cover - backend specific
        raise UserError("errors.engine.engine_does_support_adapters")

    def _unload_adapter(self, name: str) -> None:  # pragma: no cover - backend specific
        raise UserError("errors.engine.engine_does_support_adapters")

    def close(self) -> None:
        """Free the weights; the engine is unusable afterwards."""
