"""Saved adapters made usable on the one loaded base: lazy load, compatibility check, LRU.

Every adapter is a PEFT named adapter on the shared model (one copy of the base weights).
Loading happens on first use, refuses a card made for another base before touching the
model, and keeps at most `limit` adapters loaded: the least recently used one that no
request is using is unloaded.

"Answer as variant X" is one call, `stream(variant, messages, options)`: resolve the name,
pin its adapter, put its persona in front, and let the engine lay the prompt out with the
adapter's chat template; the pin holds until the generation finishes, so a request queued
behind others never finds its adapter evicted. `using(...)` pins for longer (a whole
comparison run keeps its variants loaded between prompts).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.errors import UserError
from core.models.engine import BASE, Engine, Generation
from core.models.options import GenerationOptions
from core.adapters.store import AdapterCard, AdapterStore, fingerprint
from core.i18n import msg

log = logging.getLogger(__name__)


def engine_fingerprint(engine: Engine) -> str:
    """The loaded base's fingerprint, comparable with `AdapterCard.base_fingerprint`."""
    # A remote engine (OpenAI-compatible server) offers its base's config as `base_config` when it can read it.
    config = getattr(engine, "base_config", None) or getattr(getattr(engine, "model", None), "config", None)
    if config is not None:
        return fingerprint(config)
    # Engines without a transformers config (the echo fake) still get a stable identity.
    return fingerprint({"model_type": engine.info.kind, "architectures": [engine.info.architecture]})


def is_base(variant: str | None) -> bool:
    return variant in (None, "", BASE)


def messages_for(card: AdapterCard | None, messages: list[dict]) -> list[dict]:
    """The messages a variant gets: its card's persona leads unless a system prompt is already set.

    A system prompt the user wrote (Chat's persona box) wins over the card's, so switching
    an adapter never silently throws away what they typed.
    """
    messages = [dict(m) for m in messages]
    if card is None or not card.system_prompt.strip():
        return messages
    if messages and messages[0]["role"] == "system" and messages[0]["content"].strip():
        return messages
    rest = messages[1:] if messages and messages[0]["role"] == "system" else messages
    return [{"role": "system", "content": card.system_prompt}, *rest]


class AdapterPool:
    """Resolves variant names ("base" or an adapter's name) to adapters loaded on the engine."""

    def __init__(self, store: AdapterStore, engine: Callable[[], Engine], limit: int = 4) -> None:
        self.store = store
        self._engine_of = engine
        self.limit = limit
        self._lock = threading.RLock()
        self._engine: Engine | None = None
        self._recent: OrderedDict[str, None] = OrderedDict()  # oldest first
        self._pins: Counter[str] = Counter()

    # --- what fits ------------------------------------------------------------
    def engine(self) -> Engine:
        engine = self._engine_of()
        with self._lock:
            if engine is not self._engine:  # a new model was loaded: start over from what it holds
                self._engine = engine
                self._recent = OrderedDict.fromkeys(engine.adapter_names())
                self._pins.clear()
        return engine

    def fingerprint(self) -> str:
        return engine_fingerprint(self.engine())

    def compatible(self) -> list[AdapterCard]:
        return [c for c in self.store.compatible(self.fingerprint()) if not is_base(c.name)]

    def incompatible(self) -> list[AdapterCard]:
        fp = self.fingerprint()
        return [c for c in self.store.list() if c.base_fingerprint != fp]

    def card(self, variant: str | None) -> AdapterCard | None:
        """The variant's card; None for the base model."""
        return None if is_base(variant) else self.store.get(variant)

    def loaded(self) -> list[str]:
        """Loaded adapters, least recently used first."""
        self.engine()
        with self._lock:
            return list(self._recent)

    # --- loading --------------------------------------------------------------
    def check(self, card: AdapterCard) -> None:
        """Refuse an adapter made for another base, before it touches the model."""
        engine = self.engine()
        if card.base_fingerprint != engine_fingerprint(engine):
            raise UserError(
                msg("errors.adapter_pool.adapter_trained_different_base", name=card.name,
                    base=card.base_model or msg("errors.adapter_pool.another_model"), loaded=engine.info.name),
                msg("errors.adapter_pool.adapter_trained_different_base.hint"),
            )
        if not (self.store.path(card.name) / "adapter_config.json").exists():
            raise UserError("errors.adapter_pool.adapter_weights_adapter_config", name=card.name)

    def ensure(self, name: str) -> AdapterCard:
        """Load `name` if needed and mark it most recently used."""
        with self._lock:
            card = self.store.get(name)
            engine = self.engine()
            if name not in engine.adapter_names():
                self.check(card)
                self._load(engine, card)
            self._recent[name] = None
            self._recent.move_to_end(name)
            self._trim(engine)
            return card

    def _load(self, engine: Engine, card: AdapterCard) -> None:
        log.info("loading adapter %s", card.name)
        try:
            engine.load_adapter(card.name, self.store.path(card.name), card.chat_template)
        except UserError:
            raise
        except (ValueError, RuntimeError, OSError, KeyError) as exc:
            engine.unload_adapter(card.name)  # leave nothing half-loaded on the shared model
            raise UserError("errors.adapter_pool.adapter_could_loaded", name=card.name, exc=exc) from exc

    def unload(self, name: str) -> None:
        with self._lock:
            engine = self.engine()
            if self._pins[name]:
                raise UserError("errors.adapter_pool.adapter_answering_request_right", name=name)
            if name in engine.adapter_names():
                log.info("unloading adapter %s", name)
                engine.unload_adapter(name)
            self._recent.pop(name, None)

    def _trim(self, engine: Engine) -> None:
        """Unload least recently used, unpinned adapters until at most `limit` remain."""
        for name in list(self._recent):
            if len(self._recent) <= self.limit:
                break
            if not self._pins[name]:
                log.info("unloading adapter %s (more than %d loaded)", name, self.limit)
                engine.unload_adapter(name)
                del self._recent[name]

    def stream(self, variant: str | None, messages: list[dict], options: GenerationOptions | None = None) -> Generation:
        """Answer `messages` as `variant` (None or "base": the model without adapters).

        Resolve → pin → persona → template → stream, in that order: the persona is in the
        messages the engine lays out with the adapter's template, and the adapter stays
        pinned from before it loads until the generation finishes (or fails to start).
        """
        if is_base(variant):
            return self.engine().stream(messages, options, adapter=None)
        with self._lock:
            self.engine()  # a newly loaded model resets the pins: see it before pinning
            self._pins[variant] += 1  # pin before loading so the next load cannot evict it
        try:
            card = self.ensure(variant)
            gen = self.engine().stream(messages_for(card, messages), options, adapter=variant)
        except BaseException:
            self._unpin([variant])
            raise
        # The generation finishes on a thread that may hold the engine lock, which unloading
        # needs: release (and trim) on a thread of its own.
        gen.when_finished(lambda: threading.Thread(
            target=self._unpin, args=([variant],), name=f"unpin-{variant}", daemon=True).start())
        return gen

    def pins(self, name: str) -> int:
        """How many requests (or `using` blocks) hold `name` loaded right now.

        A plain read without the pool's lock (which trimming holds while it waits for the engine),
        so it never blocks, even from inside a generation.
        """
        return self._pins[name]

    def _unpin(self, names: list[str]) -> None:
        with self._lock:
            for name in names:
                self._pins[name] = max(0, self._pins[name] - 1)
            if self._engine is not None and names:
                self._trim(self._engine)

    @contextmanager
    def using(self, *variants: str | None) -> Iterator[list[AdapterCard | None]]:
        """Load and pin the variants' adapters for the duration; yields their cards (None = base)."""
        cards: list[AdapterCard | None] = []
        pinned: list[str] = []
        try:
            with self._lock:
                self.engine()  # a newly loaded model resets the pins: see it before pinning
                for variant in variants:
                    if is_base(variant):
                        cards.append(None)
                        continue
                    self._pins[variant] += 1  # pin before loading so the next load cannot evict it
                    pinned.append(variant)
                    cards.append(self.ensure(variant))
            yield cards
        finally:
            self._unpin(pinned)
