"""What an engine can do beyond answering, as typed protocols checked with `isinstance`.

Training and merging need the weights in this process; a backend that only answers (a
remote OpenAI-compatible server, the echo demo) does not implement them, so the trainer,
the merge job and the Fine-tune page refuse it up front with a clear message instead of
failing deep inside a job on a missing attribute. A new backend that can train implements
`Trainable` and is picked up everywhere; one that half-implements it is not `Trainable`.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from core.errors import UserError
from core.i18n import msg
from core.models.engine import ModelInfo
from core.models.fair_lock import FairLock
from core.models.server_health import ServerHealth


@runtime_checkable
class Trainable(Protocol):
    """An engine whose loaded base the local trainer can fit a LoRA adapter on, between answers."""

    info: ModelInfo
    lock: FairLock
    tokenizer: Any  # the base's transformers tokenizer (encodes the training examples)
    model_type: str  # chat-format family, for laying the examples out as chat turns

    @property
    def base_config(self) -> Any:
        """The base's transformers config (its fingerprint ties adapters to it)."""

    def base_model(self) -> Any:
        """The base torch module, for looking only (layer names, size, device): no compute outside the lock."""

    def lora_candidates(self) -> list[str]:
        """Layer names LoRA can wrap on this base."""

    def default_lora_targets(self) -> list[str]:
        """The layers wrapped when the user picks none (attention and MLP projections)."""

    def add_trainable_adapter(self, name: str, lora_config: Any) -> Any:
        """Add a fresh LoRA adapter `name` to the shared base (replacing one of that name)."""

    def adapter_parameters(self, name: str) -> dict[str, Any]:
        """The trainable tensors of adapter `name`, by parameter name."""

    def training_step(self, name: str, cancel: threading.Event | None = None) -> AbstractContextManager[Any]:
        """Hold the weights exclusively with `name` active in train mode; yields the module to run."""

    def evaluation(
        self, name: str, cancel: threading.Event | None = None, *, adapter_off: bool = False
    ) -> AbstractContextManager[Any]:
        """Hold the weights with `name` active in eval mode (or, `adapter_off`, the bare base: a
        preference run's reference); yields the module to run."""

    def load_adapter_state(self, name: str, state: dict[str, Any]) -> list[str]:
        """Copy saved LoRA weights into adapter `name` (a run that starts from a parent); the keys that fit nothing."""

    def gradient_checkpointing(self, enabled: bool) -> None:
        """Trade compute for activation memory while training (used on CUDA)."""

    def save_adapter(self, name: str, folder: Path) -> None:
        """Write adapter `name` as a PEFT folder (weights and config) into `folder`."""

    def remove_adapter(self, name: str) -> None:
        """Drop adapter `name` from the model (a stopped run frees its memory)."""

    def register_adapter(self, name: str, path: Path) -> None:
        """Make an adapter trained in place selectable by name."""


@runtime_checkable
class Mergeable(Protocol):
    """An engine whose base folder is on this machine, so an adapter can be merged into a copy of it."""

    info: ModelInfo  # info.path: the base's folder; info.dtype: the dtype to load the copy in

    @property
    def base_config(self) -> Any:
        """The base's transformers config."""

    def save_tokenizer(self, folder: Path) -> None:
        """Write the base's tokenizer beside an exported model."""


@runtime_checkable
class RemoteServer(Protocol):
    """An engine that is a client of a separate server, which can say how it is doing."""

    def server_health(self) -> ServerHealth:
        """Health and queue as the server reports them; never raises."""


@runtime_checkable
class AdapterServer(RemoteServer, Protocol):
    """A server that takes adapters at run time: what "train here, then hot-load" needs of it."""

    def load_adapter(self, name: str, path: Path, chat_template: str = "") -> None:
        """Load a local adapter folder into the server (the server must see the same path)."""


def require_trainable(engine: object) -> Trainable:
    """`engine` as a Trainable, or the reason it cannot train (shown before any job starts)."""
    if not isinstance(engine, Trainable):
        raise UserError(msg("errors.cannot_train", engine=_kind(engine)), msg("errors.cannot_train.hint"))
    return engine


def require_mergeable(engine: object) -> Mergeable:
    """`engine` as a Mergeable, or the reason an adapter cannot be merged with it."""
    if not isinstance(engine, Mergeable):
        raise UserError(msg("errors.cannot_merge", engine=_kind(engine)), msg("errors.cannot_merge.hint"))
    return engine


def _kind(engine: object) -> str:
    info = getattr(engine, "info", None)
    return f"{info.name} ({info.architecture})" if info is not None else type(engine).__name__
