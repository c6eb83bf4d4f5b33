"""Training while an OpenAI-compatible server (vLLM) answers, then hot-loading the adapter into it.

The server holds its own copy of the base and cannot train, so a job loads the base's weights
into this process for its duration only (from the folder the server names as its model root,
which must be on this machine), trains with the ordinary local trainer, frees them, and then
asks the server to load the new adapter (`/v1/load_lora_adapter`). Before any job starts,
the page and `FineTuner.start` see a `LocalBase`: the tokenizer, the config and a weightless
(meta-device) skeleton of the model, enough to encode the dataset, list LoRA targets and
estimate memory without loading gigabytes on every page draw. The weights the job will load
plus what training adds must fit in the memory free now (the server's share is already taken),
or the job is refused before it starts.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.errors import UserError
from core.models.capabilities import AdapterServer
from core.models import chat_format, loader, lora_targets, preflight
from core.models.engine import ModelInfo
from core.models.server_health import ServerHealth
from core.models.sources import ResolvedModel
from core.models.transformers_engine import TransformersEngine
from core.tuning import memory
from core.tuning.presets import TrainConfig

GB = 2**30


def is_server(engine: object) -> bool:
    """A client of a separate server that can take adapters at run time (the OpenAI-compatible engine)."""
    return isinstance(engine, AdapterServer)


@dataclass
class LocalBase:
    """The server's base as this process can see it without its weights: what the page and the start checks need."""

    folder: Path
    info: ModelInfo
    tokenizer: Any
    model_type: str
    base_config: Any
    skeleton: torch.nn.Module  # on the meta device: layer names and shapes, no memory

    def base_model(self) -> torch.nn.Module:
        return self.skeleton

    def lora_candidates(self) -> list[str]:
        return lora_targets.linear_layer_names(self.skeleton)

    def default_lora_targets(self) -> list[str]:
        return lora_targets.target_modules(self.skeleton)


def local_base(server, trust_remote_code: bool = False) -> LocalBase:
    """The server's base folder opened here, or why training next to this server is impossible."""
    folder = Path(server.info.path) if server.info.path else None
    if folder is None or not (folder / "config.json").is_file():
        raise UserError("errors.server_training.base_not_here", model=server.info.name, root=server.info.path or "-")
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(folder, trust_remote_code=trust_remote_code)
        tokenizer = loader.load_tokenizer(folder, trust_remote_code)
        with torch.device("meta"):
            skeleton = AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, ImportError, KeyError) as exc:
        raise UserError("errors.server_training.base_unreadable", root=str(folder), exc=str(exc)[:300]) from exc
    model_type = chat_format.family(tokenizer, getattr(config, "model_type", ""))
    chat_format.ensure_template(tokenizer, model_type)
    info = ModelInfo(name=server.info.name, source=str(folder), kind="local", parameters=sum(p.numel() for p in skeleton.parameters()),
                     dtype="-", device="meta", context_length=server.info.context_length, load_seconds=0.0,
                     architecture=type(skeleton).__name__, path=str(folder))
    return LocalBase(folder, info, tokenizer, model_type, config, skeleton)


@dataclass(frozen=True)
class MemoryPlan:
    """What each side needs, in GiB: the server's (as it reports it) and this process's for the job."""

    device: str
    weights_gb: float  # the base loaded here for the job
    training_gb: float  # LoRA state, activations and logits on top (core.tuning.memory)
    available_gb: float  # free now on `device`, the server's own memory already taken
    server_kv_cache_gb: float | None  # the server's KV cache, when its /metrics say (None: it does not)
    server_gpu_share: float | None  # the share of the GPU the server reserved, when it says

    @property
    def need_gb(self) -> float:
        return self.weights_gb + self.training_gb

    @property
    def fits(self) -> bool:
        return self.need_gb <= self.available_gb * memory.HEADROOM


def job_device(settings) -> tuple[str, str]:
    """(device, dtype) the job loads the base with: the app's own settings, as a local model would."""
    device = loader.pick_device(settings.device)
    return device, loader.pick_dtype(settings.dtype, device)


def plan(base: LocalBase, config: TrainConfig, longest: int, device: str, dtype: str,
         health: ServerHealth | None = None, available_bytes: int | None = None) -> MemoryPlan:
    """The memory the job needs against what is free (`available_bytes` defaults to what the device has free now)."""
    stored = preflight.weight_bytes(base.folder)
    raw = json.loads((base.folder / "config.json").read_text(encoding="utf-8"))
    weights = stored / preflight.stored_bytes_per_param(raw) * preflight.BYTES_PER_PARAM.get(dtype, 4)
    training = memory.estimate(base.skeleton, config, longest, device=device)
    free = memory.available_bytes(device) if available_bytes is None else available_bytes
    kv, share = (health.kv_cache_gb, health.gpu_memory_utilization) if health is not None else (None, None)
    return MemoryPlan(device, weights * memory.SLACK / GB, training.need_gb, free / GB, kv, share)


def require_fits(p: MemoryPlan) -> None:
    """Refuse a job whose base copy plus training would not fit beside the server."""
    if not p.fits:
        raise UserError("errors.server_training.wont_fit", need=p.need_gb, weights=p.weights_gb, training=p.training_gb,
                        free=p.available_gb, device=p.device)


@contextmanager
def loaded_for_job(base_folder: Path, name: str, settings) -> Iterator[TransformersEngine]:
    """The base's weights in this process while the job runs; freed when it ends, however it ends."""
    device, dtype = job_device(settings)
    engine = loader.load(ResolvedModel(spec=str(base_folder), kind="local", path=base_folder, name=name),
                         device=device, dtype=dtype, trust_remote_code=settings.trust_remote_code)
    try:
        yield engine
    finally:
        engine.close()
        del engine
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def hot_load(server, store, name: str) -> None:
    """Hand the finished adapter to the running server, which then lists it beside its base."""
    card = store.get(name)
    try:
        server.load_adapter(name, store.path(name).resolve(), card.chat_template)
    except UserError as exc:
        raise UserError("errors.server_training.hot_load_failed", name=name, error=exc.message) from exc
