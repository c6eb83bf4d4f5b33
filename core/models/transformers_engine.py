"""The default backend: a transformers model, answers continuously batched (`core.models.batching`).

Adapters are PEFT named adapters on the one loaded base; in a batch each row names its
adapter (`adapter_names`) and base rows bypass them all, never "adapter scaled to zero".
`_generate` keeps the plain one-request `generate()` path: the reference the batched
answers are tested against, token for token.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from transformers import StoppingCriteria, StoppingCriteriaList, TextStreamer

from core.errors import ModelNotLoaded
from core.models import chat_format, lora_targets
from core.models.batching import Batcher, Request, mergeable
from core.models.engine import Engine, Generation, ModelInfo
from core.models.options import GenerationOptions
from core.models.prefix_cache import PrefixCache, head_length

log = logging.getLogger(__name__)
HEAD_PROBE = "\u2063"  # an invisible separator as the probe's user text: no real prompt starts with it


class _CancelCriteria(StoppingCriteria):
    def __init__(self, gen: Generation) -> None:
        self.gen = gen

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.gen.cancel.is_set(), dtype=torch.bool, device=input_ids.device)


class _HandleStreamer(TextStreamer):
    """Pushes decoded text into the request's handle and timestamps the first token."""

    def __init__(self, tokenizer, gen: Generation, started: float) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self.gen = gen
        self.started = started

    def put(self, value: torch.Tensor) -> None:
        if not self.next_tokens_are_prompt:
            self.gen.stats.completion_tokens += int(value.numel())
            if self.gen.stats.first_token_seconds is None:
                self.gen.stats.first_token_seconds = time.perf_counter() - self.started
        super().put(value)

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if stream_end:  # the token limit or Stop can cut a multi-token character (CJK, emoji) in half
            text = text.rstrip("\ufffd")
        self.gen.push(text)


class TransformersEngine(Engine):
    def __init__(self, model, tokenizer, info: ModelInfo, max_batch: int = 8, prefill_chunk: int = 256) -> None:
        super().__init__()
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.info = info
        self.model_type = chat_format.family(tokenizer, getattr(model.config, "model_type", ""))
        self.peft = None  # a PeftModel wrapping self.model once an adapter exists
        chat_format.ensure_template(tokenizer, self.model_type)
        eos = getattr(model.generation_config, "eos_token_id", None)
        eos = eos if eos is not None else tokenizer.eos_token_id
        self.eos_ids: set[int] = set(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
        self.batcher = Batcher(self, 1, prefill_chunk)
        self.configure(max_batch, prefill_chunk)

    def configure(self, max_batch: int, prefill_chunk: int, prefix_entries: int = 32, batch_window_ms: float = 50.0) -> None:
        """Set the batch bound, prefill chunk, prefix cache size and batching window (from settings); call before the first request."""
        from transformers import DynamicCache

        if max_batch > 1 and not mergeable(DynamicCache(config=self.model.config)):
            log.warning("%s uses sliding-window cache layers: answering one request at a time", self.info.name)
            max_batch = 1
        self.batcher.max_batch = max(1, max_batch)
        self.batcher.prefill_chunk = max(1, prefill_chunk)
        self.batcher.prefix = PrefixCache(prefix_entries)
        self.batcher.window = max(0.0, batch_window_ms) / 1000

    def stream(self, messages: list, options: GenerationOptions | None = None, adapter: str | None = None) -> Generation:
        with self.batcher.preparing():  # tells an idle scheduler that this request is on its way
            return super().stream(messages, options, adapter)

    def _submit(self, messages: list[dict], options: GenerationOptions, adapter: str | None, dropped: int) -> Generation:
        gen = Generation()
        gen.stats.dropped_turns = dropped
        ids = self.encode(messages, adapter)
        head = self.prompt_head(messages, adapter, ids)
        self.batcher.submit(Request(gen=gen, prompt=ids, adapter=adapter, options=options, head=head))
        return gen

    def status(self) -> dict:
        status = self.batcher.status()
        # Training steps and adapter loads waiting for the weights (not the scheduler's own next step).
        status["waiting"] += max(0, self.lock.queued - (1 if self.batcher.wants_lock else 0))
        return status

    # --- prompt -------------------------------------------------------------------
    def encode(self, messages: list[dict], adapter: str | None = None) -> list[int]:
        template = self._templates.get(adapter) if adapter else None
        text = chat_format.render(self.tokenizer, messages, self.model_type, chat_template=template)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def prompt_head(self, messages: list[dict], adapter: str | None, ids: list[int]) -> int:
        """Leading tokens of `ids` that other conversations with the same system prompt share (0 = none).

        Found by rendering the leading system messages with a placeholder user turn: what that shares
        with the real prompt is the template's header, the system prompt and the user turn's opening.
        """
        if not self.batcher.prefix.entries:
            return 0
        lead = list(itertools.takewhile(lambda m: m.get("role") == "system", messages))
        return head_length(ids, self.encode([*lead, {"role": "user", "content": HEAD_PROBE}], adapter))

    def count_tokens(self, messages: list[dict], adapter: str | None = None) -> int:
        return len(self.encode(messages, adapter))

    # --- generation -------------------------------------------------------------
    @contextmanager
    def variant(self, adapter: str | None) -> Iterator[torch.nn.Module]:
        """The module to run for `adapter` (None = base). Call only while holding the lock."""
        if self.peft is None or not self.peft.peft_config:  # no adapter left: its LoRA layers are inert
            yield self.model
        elif adapter is None:
            with self.peft.disable_adapter():
                yield self.peft
        else:
            self.peft.set_adapter(adapter)
            yield self.peft

    def generation_kwargs(self, options: GenerationOptions) -> dict:
        kwargs: dict = {"max_new_tokens": options.max_new_tokens, "repetition_penalty": options.repetition_penalty}
        if options.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=options.temperature, top_p=options.top_p, top_k=options.top_k)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        kwargs["pad_token_id"] = pad
        return kwargs

    def _generate(self, messages: list[dict], options: GenerationOptions, adapter: str | None, gen: Generation) -> None:
        ids = self.encode(messages, adapter)
        gen.stats.prompt_tokens = len(ids)
        input_ids = torch.tensor([ids], device=self.model.device)
        if options.seed is not None:
            torch.manual_seed(options.seed)
        started = time.perf_counter()
        streamer = _HandleStreamer(self.tokenizer, gen, started)
        with self.variant(adapter) as module, torch.inference_mode():
            module.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                streamer=streamer,
                stopping_criteria=StoppingCriteriaList([_CancelCriteria(gen)]),
                **self.generation_kwargs(options),
            )
        gen.stats.seconds = time.perf_counter() - started
        if gen.stats.completion_tokens >= options.max_new_tokens:
            gen.stats.finish_reason = "length"

    # --- adapters ---------------------------------------------------------------
    def _load_adapter(self, name: str, path: Path) -> None:
        from peft import PeftModel

        try:
            if self.peft is None:
                self.peft = PeftModel.from_pretrained(self.model, str(path), adapter_name=name)
                self.peft.eval()
            else:
                self.peft.load_adapter(str(path), adapter_name=name)
        except Exception:
            # A failed load must not stay half-registered in peft_config (later requests would break).
            if self.peft is not None and name in self.peft.peft_config:
                try:
                    self.peft.delete_adapter(name)
                except Exception:  # the adapter was only partly injected; drop the config entry at least
                    self.peft.peft_config.pop(name, None)
            raise

    def _unload_adapter(self, name: str) -> None:
        if self.peft is not None and name in self.peft.peft_config:
            self.peft.delete_adapter(name)

    # --- training (the `Trainable` and `Mergeable` capabilities) ---------------------
    @property
    def base_config(self):
        return self.model.config

    def base_model(self) -> torch.nn.Module:
        return self.model

    def lora_candidates(self) -> list[str]:
        return lora_targets.linear_layer_names(self.model)

    def default_lora_targets(self) -> list[str]:
        return lora_targets.target_modules(self.model)

    def add_trainable_adapter(self, name: str, lora_config) -> torch.nn.Module:
        """Add a fresh LoRA adapter to the shared base for training; returns the PeftModel."""
        from peft import get_peft_model

        with self.lock.hold():
            if self.peft is None:
                self.peft = get_peft_model(self.model, lora_config, adapter_name=name)
            else:
                if name in self.peft.peft_config:
                    self.peft.delete_adapter(name)
                self.peft.add_adapter(name, lora_config)
            self.peft.eval()
        return self.peft

    def adapter_parameters(self, name: str) -> dict[str, torch.nn.Parameter]:
        marker = f".{name}."
        return {n: p for n, p in self.peft.named_parameters() if marker in n and "lora_" in n} if self.peft else {}

    @contextmanager
    def training_step(self, name: str, cancel=None) -> Iterator[torch.nn.Module]:
        with self.lock.hold(cancel):
            if self.model is None:
                raise ModelNotLoaded()
            model = self.model
            try:
                self.peft.set_adapter(name)
                for p in self.adapter_parameters(name).values():
                    p.requires_grad_(True)  # set_adapter freezes every adapter it does not activate
                model.train()
                yield model
            finally:
                model.eval()

    @contextmanager
    def evaluation(self, name: str, cancel=None, *, adapter_off: bool = False) -> Iterator[torch.nn.Module]:
        with self.lock.hold(cancel):
            if self.model is None:
                raise ModelNotLoaded()
            self.peft.set_adapter(name)
            self.model.eval()
            if adapter_off:
                with self.peft.disable_adapter():
                    yield self.model
            else:
                yield self.model

    def load_adapter_state(self, name: str, state: dict[str, torch.Tensor]) -> list[str]:
        from peft.utils import set_peft_model_state_dict

        with self.lock.hold():
            result = set_peft_model_state_dict(self.peft, state, adapter_name=name)
        return list(getattr(result, "unexpected_keys", None) or [])

    def gradient_checkpointing(self, enabled: bool) -> None:
        if self.model is None:
            return
        with self.lock.hold():
            if enabled:
                self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            else:
                self.model.gradient_checkpointing_disable()

    def save_adapter(self, name: str, folder: Path) -> None:
        from peft.utils import get_peft_model_state_dict
        from safetensors.torch import save_file

        with self.lock.hold():
            state = get_peft_model_state_dict(self.peft, adapter_name=name)
            save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(folder / "adapter_model.safetensors"))
            self.peft.peft_config[name].save_pretrained(str(folder))

    def remove_adapter(self, name: str) -> None:
        with self.lock.hold():
            if self.peft is not None and name in self.peft.peft_config:
                self.peft.delete_adapter(name)

    def save_tokenizer(self, folder: Path) -> None:
        self.tokenizer.save_pretrained(folder)

    def register_adapter(self, name: str, path: Path) -> None:
        """Make an adapter trained in place (already on the model) selectable by name."""
        self._adapters[name] = path

    def close(self) -> None:
        self.batcher.close()
        self.peft = None
        self.model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
