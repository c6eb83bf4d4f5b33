"""Continuous batching for the transformers engine: many answers share each forward pass.

One scheduler thread owns generation. Requests wait in a FIFO queue until the batch has
room (`LIANDAN_MAX_BATCH`), are prefilled in fixed-size chunks (so a long prompt never
freezes the answers already streaming; the chunks of all requests admitted together go
through one forward, packed into one row without padding where the model takes a 4D mask),
then join the running batch at the next decode step.
Every step — one prefill budget plus one decode of the whole batch — holds the engine's
FairLock on its own, so a training step or an adapter load still gets the weights
between two decode steps, exactly as it did between two whole answers.

The batch's KV cache is one left-padded `DynamicCache`: a joining request is padded (or
pads the batch) on the left, a finished one is dropped from the batch dimension and
all-padding columns are trimmed. Per-row attention masks and position ids make each row
compute what it would alone. Each request keeps its own sampling settings, seed
(a `torch.Generator` of its own), token limit, context guard and Stop; different LoRA
adapters and the base share one forward through PEFT's `adapter_names` ("__base__" rows
bypass every adapter). A prompt head that another request already computed (template + system
prompt, `core.models.prefix_cache`) is not prefilled again, and an idle scheduler waits briefly for
requests sent at the same moment that are still being tokenised, so they share one prefill forward.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from transformers import (
    DynamicCache,
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TextStreamer,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from transformers.cache_utils import DynamicLayer

from core.errors import Cancelled, UserError
from core.models.engine import Generation
from core.models.options import GenerationOptions
from core.models.prefix_cache import PrefixCache

if TYPE_CHECKING:
    from core.models.transformers_engine import TransformersEngine

log = logging.getLogger(__name__)
PEFT_BASE = "__base__"  # PEFT's name for "no adapter" rows of a mixed batch
PACKING_KEYS = 2048  # attention keys that cost about what one token's projections do (`Batcher._packable`)


class _TextOut(TextStreamer):
    """Decodes one request's tokens incrementally (whole characters/words) into its handle."""

    def __init__(self, tokenizer, gen: Generation) -> None:
        super().__init__(tokenizer, skip_prompt=False, skip_special_tokens=True)
        self.gen = gen

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if stream_end:  # the token limit or Stop can cut a multi-token character (CJK, emoji) in half
            text = text.rstrip("\ufffd")
        self.gen.push(text)


def processors_for(options: GenerationOptions) -> LogitsProcessorList:
    """The same processors, in the same order, that `generate()` builds for these options."""
    out = LogitsProcessorList()
    if options.repetition_penalty != 1.0:
        out.append(RepetitionPenaltyLogitsProcessor(options.repetition_penalty))
    if not options.greedy:
        out.append(TemperatureLogitsWarper(options.temperature))
        if options.top_k > 0:
            out.append(TopKLogitsWarper(options.top_k))
        if options.top_p < 1.0:
            out.append(TopPLogitsWarper(options.top_p))
    return out


@dataclass
class Request:
    """One answer in the scheduler: its prompt, settings, private cache during prefill, and progress."""

    gen: Generation
    prompt: list[int]
    adapter: str | None  # None = the base model
    options: GenerationOptions
    head: int = 0  # leading prompt tokens shared with other requests (template + system prompt), 0 = none
    submitted: float = field(default_factory=time.perf_counter)
    tokens: list[int] = field(default_factory=list)  # prompt + generated, for the repetition penalty
    generated: int = 0
    length: int = 0  # tokens whose keys/values are in the cache
    cache: DynamicCache | None = None  # own cache while prefilling; None once merged into the batch
    next_token: int | None = None  # sampled, not yet fed back
    started: float = 0.0
    done: str = ""  # finish reason once finished
    processors: LogitsProcessorList = field(default_factory=LogitsProcessorList)
    generator: torch.Generator | None = None
    text: _TextOut | None = None

    @property
    def peft_name(self) -> str:
        return self.adapter or PEFT_BASE


class Batcher:
    """The scheduler of one `TransformersEngine`; thread-safe, one worker thread."""

    def __init__(
        self, engine: TransformersEngine, max_batch: int = 8, prefill_chunk: int = 256, prefix_entries: int = 32, window: float = 0.05,
    ) -> None:
        self.engine = engine
        self.max_batch = max(1, max_batch)
        self.prefill_chunk = max(1, prefill_chunk)
        self.prefix = PrefixCache(prefix_entries)
        self.window = max(0.0, window)  # most seconds an idle scheduler waits for requests still being prepared
        self._preparing = 0  # requests between Engine.stream() and submit(): sent, not yet tokenised
        self._last_arrival = 0.0  # perf_counter() of the latest submit()
        self._local = threading.local()
        self._acquisitions = -1  # the weights lock's count when this scheduler last took it
        self._cond = threading.Condition()
        self._waiting: deque[Request] = deque()
        self._prefilling: list[Request] = []
        self._running: list[Request] = []  # row i of the batch cache is _running[i]
        self._cache: DynamicCache | None = None
        self._mask: torch.Tensor | None = None  # [rows, columns] 1 = real token, 0 = left padding
        self._thread: threading.Thread | None = None
        self._closed = False
        self.kv_cache_bytes = 0  # the batch's and prefilling requests' keys + values, after the last step
        self.peak_kv_cache_bytes = 0
        self.wants_lock = False  # the scheduler's own ticket is in the lock's queue (not a waiting request)
        self.peak_batch = 0  # most requests generating together so far (tests and the bench read it)
        self.steps = 0

    # --- what callers see -------------------------------------------------------
    def submit(self, req: Request) -> None:
        req.tokens = list(req.prompt)
        req.processors = processors_for(req.options)
        req.text = _TextOut(self.engine.tokenizer, req.gen)
        req.gen.queue_position = lambda: self.position(req)
        req.gen.batch_peers = lambda: self.peers(req)
        with self._cond:
            if getattr(self._local, "preparing", False):
                self._local.preparing = False
                self._preparing -= 1
            if self._closed:
                raise UserError("errors.batching.model_unloaded")
            self._waiting.append(req)
            self._last_arrival = time.perf_counter()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="batcher", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def position(self, req: Request) -> int:
        """Requests that must finish or start before `req` does: 0 once it is in the batch."""
        with self._cond:
            try:
                index = self._waiting.index(req)
            except ValueError:
                return 0
            full = len(self._prefilling) + len(self._running) >= self.max_batch
            return index + (1 if full else 0)

    def peers(self, req: Request) -> int:
        """Other requests generating in the same batch as `req`."""
        with self._cond:
            active = len(self._prefilling) + len(self._running)
            return max(0, active - 1) if (req in self._running or req in self._prefilling) else 0

    def status(self) -> dict:
        with self._cond:
            return {
                "running": len(self._running) + len(self._prefilling),
                "waiting": len(self._waiting),
                "max_batch": self.max_batch,
                "prefill_chunk": self.prefill_chunk,
                "kv_cache_bytes": self.kv_cache_bytes,
                "peak_kv_cache_bytes": self.peak_kv_cache_bytes,
                "peak_batch": self.peak_batch,
                **self.prefix.status(),
            }

    @property
    def active(self) -> int:
        with self._cond:
            return len(self._running) + len(self._prefilling)

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # --- the loop ----------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not (self._waiting or self._prefilling or self._running):
                    self._cond.wait()
                self._gather()
                self._drop_cancelled_waiting()
                self._admit()
                if not (self._prefilling or self._running):
                    if self._closed and not self._waiting:
                        return
                    continue
            try:
                self.wants_lock = True
                with self.engine.lock.hold(cancel=_EveryoneCancelled(self)):
                    self.wants_lock = False
                    if self.engine.lock.acquisitions != self._acquisitions + 1:
                        self.prefix.clear()  # someone else had the weights (training, adapter load): heads may differ now
                    self._acquisitions = self.engine.lock.acquisitions
                    if self.engine.model is None:
                        self._fail_all(UserError("errors.batching.model_unloaded_while_answering"))
                        continue
                    with torch.inference_mode():
                        self._step()
            except Cancelled:  # every admitted request was stopped while the weights were busy (a training step)
                for req in self._prefilling + self._running:
                    req.done = "cancelled"
                self._retire()  # touches only the batch's own cache, not the weights, so no lock is needed
            except BaseException as exc:  # one broken step must not kill the scheduler: fail its requests
                log.exception("batched generation step failed")
                self._fail_all(exc)
            finally:
                self.wants_lock = False

    @contextmanager
    def preparing(self) -> Iterator[None]:
        """Around one request's validation, rendering and tokenising, until it is submitted (or fails)."""
        with self._cond:
            self._preparing += 1
        self._local.preparing = True
        try:
            yield
        finally:
            if getattr(self._local, "preparing", False):  # it never reached submit()
                self._local.preparing = False
                with self._cond:
                    self._preparing -= 1
                    self._cond.notify_all()

    def _gather(self) -> None:
        """An idle scheduler waits for requests sent together, at most `window` (call holding _cond).

        Eight users who press Enter together reach `submit` milliseconds apart (each prompt is rendered
        and tokenised first, one at a time under Python's GIL: 35 ms for eight here). Without the wait
        the first few are prefilled alone and the others wait for that forward and a decode step; with
        it all eight share one prefill forward. The wait lasts while a request is being prepared or the
        last one arrived less than `window / 5` ago (a thread that has not yet reached `preparing()`),
        so a request that comes alone waits 10 ms at the default window.
        """
        if self._prefilling or self._running or not self._waiting or not self.window:
            return
        deadline = time.perf_counter() + self.window
        while not self._closed and len(self._waiting) < self.max_batch:
            now = time.perf_counter()
            quiet = self._last_arrival + self.window / 5 - now
            if not self._preparing and quiet <= 0:
                return
            left = deadline - now
            if left <= 0:
                return
            self._cond.wait(min(left, quiet) if not self._preparing else left)

    def _drop_cancelled_waiting(self) -> None:
        for req in [r for r in self._waiting if r.gen.cancel.is_set()]:
            self._waiting.remove(req)
            req.gen.stats.finish_reason = "cancelled"
            req.gen.close()

    def _admit(self) -> None:
        while self._waiting and len(self._prefilling) + len(self._running) < self.max_batch:
            req = self._waiting.popleft()
            req.started = time.perf_counter()
            req.gen.stats.queued_seconds = req.started - req.submitted
            req.gen.stats.prompt_tokens = len(req.prompt)
            seed = req.options.seed if req.options.seed is not None else random.getrandbits(63)
            if not req.options.greedy:
                req.generator = torch.Generator(device=self.engine.model.device).manual_seed(seed)
            req.cache = self._new_cache()
            self._prefilling.append(req)
            req.gen.started.set()

    def _step(self) -> None:
        self.steps += 1
        with self._cond:  # requests that arrived while the scheduler waited for the weights share this step
            self._drop_cancelled_waiting()
            self._admit()
        for req in self._prefilling + self._running:
            if req.gen.cancel.is_set():
                req.done = "cancelled"
            elif req.adapter is not None and req.adapter not in self._loaded_adapters():
                req.done = "error"
                req.gen.error = UserError("errors.batching.adapter_unloaded_while_answering", adapter=req.adapter)
        self._retire()
        for req in self._prefilling:
            if req.head and not req.length:
                self._reuse_head(req)
        if self._prefilling:
            self._prefill()
        if self._running:
            self._decode()
        self._retire()
        self._measure()

    def _peft(self):
        """The PeftModel while it holds any adapter; once the last is deleted its LoRA layers are inert."""
        peft = self.engine.peft
        return peft if peft is not None and peft.peft_config else None

    def _module(self) -> torch.nn.Module:
        return self._peft() or self.engine.model

    def _adapter_kwargs(self, reqs: list[Request]) -> dict:
        return {"adapter_names": [r.peft_name for r in reqs]} if self._peft() is not None else {}

    def _loaded_adapters(self) -> set[str]:
        peft = self.engine.peft
        return set(peft.peft_config) if peft is not None else set()

    def _new_cache(self) -> DynamicCache:
        return DynamicCache(config=self.engine.model.config)

    # --- prefill -------------------------------------------------------------------
    def _prefill(self) -> None:
        """This step's prompt chunks in ONE forward, so requests admitted together get their first token together.

        Prefilled one after another, the k-th of k requests that arrived at once waited for k forwards
        (a staircase of time to first token). The step's budget is still `prefill_chunk` prompt tokens, and
        each request is still cut into chunks at fixed offsets of its own prompt, so what a request
        computes never depends on timing or on which others share its step.
        """
        rows = self._prefill_rows()
        if not rows:
            return
        if len(rows) == 1:
            batch = self._alone(*rows[0])
        elif self._packable(rows):
            batch = self._packed(rows)
        else:
            batch = self._stacked(rows)
        out = self._module()(
            input_ids=torch.tensor(batch.ids, device=self._device()),
            attention_mask=batch.mask,
            position_ids=torch.tensor(batch.positions, device=self._device()),
            cache=batch.cache,
            use_cache=True,
            logits_to_keep=batch.keep,
            **self._adapter_kwargs([req for req, _ in rows][: len(batch.ids)]),  # a packed row's requests share one adapter
        )
        for i, (req, chunk) in enumerate(rows):
            row, position, columns = batch.picks[i]
            req.cache = batch.cache if columns is None else self._own(batch.cache, row, columns)
            req.length += len(chunk)
            if req.head and req.length == req.head:
                self._remember_head(req)
            if req.length < len(req.prompt):
                continue
            self._accept(req, self._choose(req, out.logits[row: row + 1, position, :]))
            with self._cond:
                self._prefilling.remove(req)
                if not req.done:
                    self._merge(req)
            if req.done:  # its first token already ended it (end of text, a 1-token limit)
                self._finish(req)

    def _prefill_rows(self) -> list[tuple[Request, list[int]]]:
        """Each prefilling request's next fixed chunk, in admission order, until the step's budget is spent.

        Chunks start at fixed offsets of the prompt: 0, `prefill_chunk`, … within the head, then the
        head's end and every `prefill_chunk` after it, whether or not the head came from the cache.
        """
        rows, budget = [], self.prefill_chunk
        for req in self._prefilling:
            if budget <= 0:
                break
            if req.done or req.length >= len(req.prompt):
                continue
            end = req.length + self.prefill_chunk
            if req.length < req.head:
                end = min(end, req.head)
            chunk = req.prompt[req.length: end]
            rows.append((req, chunk))
            budget -= len(chunk)
        return rows

    def _reuse_head(self, req: Request) -> None:
        """Start `req` after its head when another request computed the same head with these weights."""
        layers = self.prefix.get(req.peft_name, req.prompt[: req.head])
        if layers is None:
            return
        cache = self._new_cache()
        for index, (keys, values) in enumerate(layers):
            cache.update(keys, values, index)
        req.cache, req.length = cache, req.head
        req.gen.stats.cached_tokens = req.head

    def _remember_head(self, req: Request) -> None:
        head = req.prompt[: req.head]
        if (req.peft_name, head) not in self.prefix:
            self.prefix.put(req.peft_name, head, [(layer.keys, layer.values) for layer in req.cache.layers])

    def _alone(self, req: Request, chunk: list[int]) -> "_PrefillBatch":
        """One request: its own cache, no padding (the same forward as before batching)."""
        mask = torch.ones((1, req.length + len(chunk)), dtype=torch.long, device=self._device())
        positions = [list(range(req.length, req.length + len(chunk)))]
        return _PrefillBatch(req.cache, [chunk], mask, positions, 1, [(0, -1, None)])

    def _packable(self, rows: list[tuple[Request, list[int]]]) -> bool:
        """Whether one packed row (`_packed`) is both possible and cheaper than left-padded rows (`_stacked`).

        Packing hands the model a custom 4D mask, which transformers' own SDPA models take as given;
        remote code (`trust_remote_code` models) builds its masks itself, and PEFT's `adapter_names` name one adapter
        per row, so a mixed-adapter step stays padded. The cost compares query x (projection work + keys),
        with `PACKING_KEYS` keys costing about one token's projections on a small model.
        """
        model = self.engine.model
        if getattr(model.config, "_attn_implementation", None) != "sdpa" or not type(model).__module__.startswith("transformers.models."):
            return False
        if len({req.peft_name for req, _ in rows}) > 1:
            return False
        new = sum(len(chunk) for _, chunk in rows)
        width = max(len(chunk) for _, chunk in rows)
        packed = new * (PACKING_KEYS + sum(req.length for req, _ in rows) + new)
        padded = len(rows) * width * (PACKING_KEYS + max(req.length for req, _ in rows) + width)
        return packed < padded

    def _packed(self, rows: list[tuple[Request, list[int]]]) -> "_PrefillBatch":
        """Every request's cache and chunk side by side in ONE row: [cache 1 | cache 2 | … | chunk 1 | chunk 2 | …].

        Eight questions of 5 to 32 new tokens padded to 32 each cost the projections of 256 tokens;
        packed they cost what they hold (~130). A 4D mask lets each chunk token see only its own
        request's cache and the earlier tokens of its own chunk, and position ids continue each
        request's own length, so every request computes what it would alone; the logits kept are each
        chunk's last token, and each request takes back its own cache and chunk columns.
        """
        device = self._device()
        cache = self._new_cache()
        with_past = [req for req, _ in rows if req.length]
        if with_past:
            for index in range(len(with_past[0].cache.layers)):
                layers = [req.cache.layers[index] for req in with_past]
                cache.update(torch.cat([l.keys for l in layers], dim=2), torch.cat([l.values for l in layers], dim=2), index)
        past = sum(req.length for req, _ in rows)
        new = sum(len(chunk) for _, chunk in rows)
        mask = torch.zeros((1, 1, new, past + new), dtype=torch.bool, device=device)
        ids, positions, picks, start, offset = [], [], [], 0, 0
        for req, chunk in rows:
            n = len(chunk)
            mask[0, 0, offset: offset + n, start: start + req.length] = True
            mask[0, 0, offset: offset + n, past + offset: past + offset + n] = torch.ones((n, n), dtype=torch.bool, device=device).tril()
            columns = torch.cat([torch.arange(start, start + req.length), torch.arange(past + offset, past + offset + n)]).to(device)
            ids += chunk
            positions += range(req.length, req.length + n)
            picks.append((0, len(picks), columns))
            start, offset = start + req.length, offset + n
        keep = torch.tensor([o - 1 for o in itertools.accumulate(len(chunk) for _, chunk in rows)], device=device)
        return _PrefillBatch(cache, [ids], mask, [positions], keep, picks)

    def _stacked(self, rows: list[tuple[Request, list[int]]]) -> "_PrefillBatch":
        """One left-padded batch of several requests' caches and chunks: [padding | cache | padding | chunk].

        The new keys land after every row's cache, so a row whose chunk is shorter than the widest has
        padding between its cache and its chunk; the mask hides it and each row's position ids continue
        from its own length, so every row computes what it would alone. Used where packing is not
        possible (remote code, mixed adapters) or not cheaper (long caches).
        """
        device = self._device()
        past = max(req.length for req, _ in rows)
        width = max(len(chunk) for _, chunk in rows)
        cache = self._new_cache()
        if past:
            template = next(req.cache for req, _ in rows if req.length)
            for index, layer in enumerate(template.layers):
                parts = [(req.cache.layers[index] if req.length else None) for req, _ in rows]
                empty_k, empty_v = layer.keys[:, :, :0], layer.values[:, :, :0]
                keys = torch.cat([_left_pad(p.keys if p else empty_k, past) for p in parts], dim=0)
                values = torch.cat([_left_pad(p.values if p else empty_v, past) for p in parts], dim=0)
                cache.update(keys, values, index)
        ids, mask, positions = [], [], []
        for req, chunk in rows:
            pad = width - len(chunk)
            ids.append([0] * pad + chunk)
            mask.append([0] * (past - req.length) + [1] * req.length + [0] * pad + [1] * len(chunk))
            positions.append([0] * pad + list(range(req.length, req.length + len(chunk))))
        mask = torch.tensor(mask, dtype=torch.long, device=device)
        picks = [(i, -1, mask[i].nonzero().squeeze(1)) for i in range(len(rows))]  # every chunk ends in the last column
        return _PrefillBatch(cache, ids, mask, positions, 1, picks)

    def _own(self, cache: DynamicCache, row: int, columns: torch.Tensor) -> DynamicCache:
        """One request's own cache out of a shared prefill cache: its row, its columns (no padding, no others)."""
        own = self._new_cache()
        for index, layer in enumerate(cache.layers):
            own.update(layer.keys[row: row + 1, :, columns], layer.values[row: row + 1, :, columns], index)
        return own

    def _device(self) -> torch.device:
        return self.engine.model.device

    # --- decode --------------------------------------------------------------------
    def _decode(self) -> None:
        device = self.engine.model.device
        rows = self._running
        ones = torch.ones((len(rows), 1), dtype=self._mask.dtype, device=device)
        self._mask = torch.cat([self._mask, ones], dim=1)
        out = self._module()(
            input_ids=torch.tensor([[r.next_token] for r in rows], device=device),
            attention_mask=self._mask,
            position_ids=torch.tensor([[r.length] for r in rows], device=device),
            cache=self._cache,
            use_cache=True,
            logits_to_keep=1,
            **self._adapter_kwargs(rows),
        )
        logits = out.logits[:, -1, :]
        for i, req in enumerate(rows):
            req.length += 1
            if not req.done:
                self._accept(req, self._choose(req, logits[i: i + 1]))

    def _choose(self, req: Request, logits: torch.Tensor) -> int:
        """The next token for one row, exactly as `generate()` picks it (fp32 scores, processors, argmax/sample)."""
        scores = logits.to(dtype=torch.float32)
        ids = torch.tensor([req.tokens], device=scores.device)
        scores = req.processors(ids, scores)
        if req.options.greedy:
            return int(torch.argmax(scores, dim=-1))
        probs = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probs, 1, generator=req.generator))

    def _accept(self, req: Request, token: int) -> None:
        """Stream `token` into the request's handle and decide whether it is finished."""
        stats = req.gen.stats
        req.tokens.append(token)
        req.generated += 1
        stats.completion_tokens = req.generated
        if stats.first_token_seconds is None:
            stats.first_token_seconds = time.perf_counter() - req.started
        req.text.put(torch.tensor([token]))
        req.next_token = token
        if token in self.engine.eos_ids:
            req.done = "stop"
        elif req.generated >= req.options.max_new_tokens or len(req.tokens) >= self.engine.info.context_length:
            req.done = "length"
        elif req.gen.cancel.is_set():
            req.done = "cancelled"

    # --- the batch cache -----------------------------------------------------------------
    def _merge(self, req: Request) -> None:
        """Add a prefilled request as a new row, left-padding it or the batch to one length."""
        cache, req.cache = req.cache, None
        own_mask = torch.ones((1, req.length), dtype=torch.long, device=self.engine.model.device)
        if not self._running:
            self._cache, self._mask, self._running = cache, own_mask, [req]
            return
        width = max(self._mask.shape[1], req.length)
        for mine, theirs in zip(self._cache.layers, cache.layers):
            mine.keys = torch.cat([_left_pad(mine.keys, width), _left_pad(theirs.keys, width)], dim=0)
            mine.values = torch.cat([_left_pad(mine.values, width), _left_pad(theirs.values, width)], dim=0)
        self._mask = torch.cat([_left_pad(self._mask, width, dim=1), _left_pad(own_mask, width, dim=1)], dim=0)
        self._running.append(req)

    def _retire(self) -> None:
        """Close finished requests, drop their rows and the columns that are padding in every row."""
        finished = [r for r in self._prefilling + self._running if r.done]
        if not finished:
            return
        with self._cond:
            self._prefilling = [r for r in self._prefilling if not r.done]
            keep = [i for i, r in enumerate(self._running) if not r.done]
            if len(keep) != len(self._running):
                if not keep:
                    self._cache = self._mask = None
                else:
                    index = torch.tensor(keep, device=self._mask.device)
                    self._mask = self._mask[index]
                    start = int(self._mask.any(dim=0).nonzero()[0])
                    self._mask = self._mask[:, start:]
                    for layer in self._cache.layers:
                        layer.keys = layer.keys[index, :, start:, :]
                        layer.values = layer.values[index, :, start:, :]
                self._running = [self._running[i] for i in keep]
        for req in finished:
            self._finish(req)

    def _finish(self, req: Request) -> None:
        req.cache = None
        stats = req.gen.stats
        stats.seconds = time.perf_counter() - req.started if req.started else 0.0
        stats.finish_reason = req.done
        req.text.end()
        req.gen.close(req.gen.error if req.done == "error" else None)

    def _fail_all(self, exc: BaseException) -> None:
        with self._cond:
            reqs = self._prefilling + self._running
            self._prefilling, self._running = [], []
            self._cache = self._mask = None
            if self._closed or self.engine.model is None:
                reqs += list(self._waiting)
                self._waiting.clear()
        for req in reqs:
            req.done = "error"
            req.gen.error = exc
            self._finish(req)

    def _measure(self) -> None:
        caches = [self._cache] + [r.cache for r in self._prefilling]
        total = 0
        for cache in caches:
            for layer in getattr(cache, "layers", []):
                if getattr(layer, "keys", None) is not None and layer.keys.numel():
                    total += layer.keys.numel() * layer.keys.element_size() * 2
        self.kv_cache_bytes = total
        self.peak_kv_cache_bytes = max(self.peak_kv_cache_bytes, total)
        self.peak_batch = max(self.peak_batch, len(self._running) + len(self._prefilling))


@dataclass
class _PrefillBatch:
    """One prefill forward's inputs, and where each request finds its logits and its cache afterwards."""

    cache: DynamicCache
    ids: list[list[int]]
    mask: torch.Tensor
    positions: list[list[int]]
    keep: int | torch.Tensor  # logits_to_keep
    picks: list[tuple[int, int, torch.Tensor | None]]  # per request: batch row, logits position, cache columns (None: the whole cache)


class _EveryoneCancelled:
    """The scheduler's wait for the lock ends early when no admitted request still wants an answer.

    Without it, a Stop pressed while a training step (or any lock holder) has the weights would not
    end the answer until the holder let go. Read only by the scheduler thread, inside acquire().
    """

    def __init__(self, batcher: "Batcher") -> None:
        self.batcher = batcher

    def is_set(self) -> bool:
        active = self.batcher._prefilling + self.batcher._running
        return bool(active) and all(r.gen.cancel.is_set() for r in active)


def _left_pad(t: torch.Tensor, width: int, dim: int = 2) -> torch.Tensor:
    """Zeros on the left of `dim` up to `width` (keys/values: [rows, heads, columns, dim])."""
    missing = width - t.shape[dim]
    if missing <= 0:
        return t
    shape = list(t.shape)
    shape[dim] = missing
    return torch.cat([torch.zeros(shape, dtype=t.dtype, device=t.device), t], dim=dim)


def mergeable(cache: DynamicCache) -> bool:
    """Left-padded merging is only correct for plain full-attention layers (no sliding windows)."""
    return all(type(layer) is DynamicLayer for layer in cache.layers)

