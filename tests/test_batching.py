"""Continuous batching on real models: answers shared in one batch are token-identical to
the same requests answered alone by plain `generate()`, for the base and mixed adapters;
Stop ends one row; the batch bound queues; long prompts are prefilled in chunks; a
training step still gets the weights between decode steps."""

from __future__ import annotations

import time
from typing import NamedTuple

import pytest

from core.models.engine import Generation
from core.models.options import GenerationOptions
from core.adapters.store import AdapterStore
from tests.conftest import MODEL_CACHE
from tests.factories import build_lora_adapter

GREEDY = GenerationOptions(temperature=0, max_new_tokens=24)
PROMPTS = [
    "Hello world.", "你好，世界。", "The capital of France is", "皇上，臣妾", "def f(x):",
    "Liandan is a workbench for local language models. Tell me more.", "quick brown fox", "今天天气很好",
]


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def load(folder, **kwargs):
    from core.models import loader, sources

    engine = loader.load(sources.resolve(str(folder), MODEL_CACHE))
    if kwargs:
        engine.configure(kwargs.get("max_batch", 8), kwargs.get("prefill_chunk", 256))
    return engine


def reference(engine, messages: list[dict], options: GenerationOptions, adapter: str | None = None) -> str:
    """The answer of HF `generate()` alone (PEFT's set_adapter / disable_adapter), no batching involved."""
    gen = Generation()
    with engine.lock.hold():
        engine._generate(messages, options, adapter, gen)
    gen.close()
    return gen.result()


def together(engine, requests: list[tuple[str, GenerationOptions, str | None]]) -> list[Generation]:
    """Submit all requests at once (as concurrent users would) and wait for every answer.

    They arrive while the weights are held, so the scheduler admits them all in one step (without
    the hold, the first would already be prefilling alone when the others arrive)."""
    with engine.lock.hold():
        gens = [engine.stream(ask(p), o, adapter=a) for p, o, a in requests]
    for g in gens:
        assert g.finished.wait(120)
        g.result()
    return gens


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    return load(tiny_model_dir)


def test_a_lone_request_matches_generate(engine):
    for prompt in PROMPTS[:4]:
        assert engine.chat(ask(prompt), GREEDY) == reference(engine, ask(prompt), GREEDY)


def test_eight_concurrent_greedy_answers_are_token_identical_to_each_alone(engine):
    limits = [24, 5, 17, 24, 1, 12, 24, 9]  # rows leave the batch at different steps
    requests = [(p, GREEDY.model_copy(update={"max_new_tokens": n}), None) for p, n in zip(PROMPTS, limits)]
    alone = [reference(engine, ask(p), o) for p, o, _ in requests]
    engine.batcher.peak_batch = 0
    gens = together(engine, requests)
    assert engine.batcher.peak_batch >= 4, "the requests must actually have shared a batch"
    assert [g.text for g in gens] == alone
    assert [g.stats.completion_tokens for g in gens] == limits
    assert all(g.stats.finish_reason == "length" for g in gens)
    assert engine.status()["kv_cache_bytes"] == 0, "a finished batch keeps no cache"


class Prefill(NamedTuple):
    """One prefill forward of the model: its batch rows, and each request's chunk and cached tokens."""

    rows: int  # 1 when the chunks were packed into one row, else one left-padded row per request
    chunks: tuple[int, ...]
    cached: tuple[int, ...]


class _Hooks:
    def __init__(self, *hooks) -> None:
        self.hooks = hooks

    def remove(self) -> None:
        for hook in self.hooks:
            hook()


def prefill_calls(engine) -> tuple[list[Prefill], _Hooks]:
    """Every prefill forward the model really ran, with the requests (chunks) the scheduler put in it."""
    calls: list[Prefill] = []
    batcher, pending = engine.batcher, []
    plain = batcher._prefill_rows

    def rows_of_this_step():
        rows = plain()
        pending[:] = [rows] if rows else []
        return rows

    def record(_module, _args, kwargs):
        if pending:
            rows = pending.pop()
            calls.append(Prefill(kwargs["input_ids"].shape[0], tuple(len(c) for _, c in rows), tuple(r.length for r, _ in rows)))

    batcher._prefill_rows = rows_of_this_step
    handle = engine.model.register_forward_pre_hook(record, with_kwargs=True)
    return calls, _Hooks(handle.remove, lambda: delattr(batcher, "_prefill_rows"))


def test_requests_admitted_together_are_prefilled_in_one_forward(engine):
    requests = [(p, GREEDY, None) for p in PROMPTS[:5]]
    lengths = [engine.count_tokens(ask(p)) for p, _, _ in requests]
    assert sum(lengths) <= engine.batcher.prefill_chunk, "all five fit one step's prefill budget"
    alone = [reference(engine, ask(p), o) for p, o, _ in requests]
    calls, hook = prefill_calls(engine)
    try:
        texts = [g.text for g in together(engine, requests)]
    finally:
        hook.remove()
    assert calls == [Prefill(1, tuple(lengths), (0,) * 5)], "one forward, the five prompts packed in one row (no padding)"
    assert texts == alone


def test_chunked_prompts_at_different_offsets_share_a_prefill_forward(tiny_model_dir):
    engine = load(tiny_model_dir, prefill_chunk=16)
    prompts = [" ".join(PROMPTS[i:i + 3]) for i in range(4)]
    alone = [engine.chat(ask(p), GREEDY) for p in prompts]  # same fixed chunks, one request at a time
    calls, hook = prefill_calls(engine)
    try:
        texts = [g.text for g in together(engine, [(p, GREEDY, None) for p in prompts])]
    finally:
        hook.remove()
    shared = [c for c in calls if len(c.chunks) > 1 and any(c.cached)]
    assert shared, calls
    assert all(c.rows == 1 for c in shared), "packed into one row"
    assert all(max(c.chunks) <= 16 for c in calls), "a long prompt is still cut into prefill_chunk pieces"
    assert texts == alone


def test_seeded_sampling_in_a_batch_reproduces_itself_alone(engine):
    sampled = GenerationOptions(temperature=1.2, top_k=40, top_p=0.95, max_new_tokens=16, seed=11)
    alone = [engine.chat(ask(p), sampled) for p in PROMPTS[:4]]
    gens = together(engine, [(p, sampled, None) for p in PROMPTS[:4]] + [(PROMPTS[5], GREEDY, None)])
    assert [g.text for g in gens[:4]] == alone
    other = sampled.model_copy(update={"seed": 12})
    assert engine.chat(ask(PROMPTS[0]), other) != alone[0], "the seed must matter"


def test_stop_ends_only_its_own_row(engine):
    long = GenerationOptions(temperature=0, max_new_tokens=200)
    short = GREEDY
    expected = [reference(engine, ask(p), short) for p in PROMPTS[:3]]
    victim = engine.stream(ask("stop me"), long)
    others = [engine.stream(ask(p), short) for p in PROMPTS[:3]]
    victim_chunks = iter(victim)
    next(victim_chunks)
    victim.stop()
    victim.result()
    assert victim.stats.finish_reason == "cancelled" and victim.stats.completion_tokens < 200
    assert [g.result() for g in others] == expected


def test_the_batch_bound_queues_and_reports_position_then_peers(tiny_model_dir):
    engine = load(tiny_model_dir, max_batch=2)
    slow = GenerationOptions(temperature=0, max_new_tokens=120)
    first, second = engine.stream(ask("a"), slow), engine.stream(ask("b"), slow)
    third = engine.stream(ask("c"), GREEDY)
    assert first.started.wait(10) and second.started.wait(10)
    assert not third.started.is_set()
    assert third.ahead() == 1
    assert engine.status()["waiting"] == 1 and engine.status()["running"] == 2
    assert first.others() == 1
    assert third.result() == reference(engine, ask("c"), GREEDY)
    first.result(), second.result()
    assert engine.batcher.peak_batch == 2


def test_a_long_prompt_is_prefilled_in_chunks_while_others_stream(tiny_model_dir):
    engine = load(tiny_model_dir, prefill_chunk=16)
    long_prompt = " ".join(PROMPTS * 3)
    n_prompt = engine.count_tokens(ask(long_prompt))
    assert n_prompt > 16 * 8
    runner = engine.stream(ask("keep going"), GenerationOptions(temperature=0, max_new_tokens=240))
    runner_chunks = iter(runner)
    next(runner_chunks)
    before = runner.stats.completion_tokens
    late = engine.stream(ask(long_prompt), GREEDY)
    late_chunks = iter(late)
    next(late_chunks)
    during = runner.stats.completion_tokens - before
    assert during >= n_prompt // 16 - 2, "the running answer advanced by one token per prefill chunk"
    late_rest = "".join(late_chunks)
    assert late.finished.is_set() and late_rest is not None
    runner.stop()
    # Chunking is fixed per request, so the answer is the same as the same request alone.
    assert late.text == engine.chat(ask(long_prompt), GREEDY)


def test_a_training_step_gets_the_weights_between_decode_steps(engine):
    gen = engine.stream(ask("talk"), GenerationOptions(temperature=0, max_new_tokens=200))
    gen_chunks = iter(gen)
    next(gen_chunks)
    waited = time.perf_counter()
    with engine.lock.hold():  # what Trainer._step does per optimizer step
        waited = time.perf_counter() - waited
        frozen = gen.stats.completion_tokens
        time.sleep(0.3)
        assert gen.stats.completion_tokens == frozen, "nothing generates while a step holds the weights"
    assert not gen.finished.is_set(), "the step did not wait for the whole answer"
    assert waited < 2.0
    gen.result()
    assert gen.stats.completion_tokens == 200


@pytest.fixture(scope="module")
def adapter_engine(tiny_model_dir, tmp_path_factory):
    store = AdapterStore(tmp_path_factory.mktemp("batch-adapters"))
    engine = load(tiny_model_dir)
    for i, name in enumerate(("alpha", "beta", "gamma")):
        build_lora_adapter(tiny_model_dir, store, name, seed=i + 1)
        engine.load_adapter(name, store.path(name))
    return engine


def test_mixed_adapters_and_the_base_share_a_batch_token_identically(adapter_engine):
    engine = adapter_engine
    variants = [None, "alpha", "beta", "gamma", None, "beta", "alpha", "gamma"]
    requests = [(p, GREEDY, v) for p, v in zip(PROMPTS, variants)]
    alone = [reference(engine, ask(p), o, v) for p, o, v in requests]
    assert len({reference(engine, ask(PROMPTS[0]), GREEDY, v) for v in (None, "alpha", "beta")}) == 3
    engine.batcher.peak_batch = 0
    calls, hook = prefill_calls(engine)
    try:
        gens = together(engine, requests)
    finally:
        hook.remove()
    assert engine.batcher.peak_batch >= 4
    assert calls[0].rows == len(calls[0].chunks) >= 4, "base and adapter rows are prefilled in one padded forward (adapter_names per row)"
    assert [g.text for g in gens] == alone


def test_requests_for_one_adapter_are_packed_into_one_row_token_identically(adapter_engine):
    engine = adapter_engine
    requests = [(p, GREEDY, "beta") for p in PROMPTS[:4]]
    alone = [reference(engine, ask(p), o, v) for p, o, v in requests]
    calls, hook = prefill_calls(engine)
    try:
        gens = together(engine, requests)
    finally:
        hook.remove()
    assert calls[0].rows == 1 and len(calls[0].chunks) == 4, calls
    assert [g.text for g in gens] == alone


def test_an_adapter_unloaded_mid_answer_fails_only_that_request(tiny_model_dir, tmp_path):
    store = AdapterStore(tmp_path)
    engine = load(tiny_model_dir)
    build_lora_adapter(tiny_model_dir, store, "alpha", seed=1)
    engine.load_adapter("alpha", store.path("alpha"))
    doomed = engine.stream(ask("x"), GenerationOptions(temperature=0, max_new_tokens=300), adapter="alpha")
    base = engine.stream(ask("y"), GenerationOptions(temperature=0, max_new_tokens=60))
    doomed_chunks = iter(doomed)
    next(doomed_chunks)
    engine.unload_adapter("alpha")
    with pytest.raises(Exception, match="unloaded"):
        doomed.result()
    assert base.result() == reference(engine, ask("y"), GenerationOptions(temperature=0, max_new_tokens=60))


def test_embedded_model_batched_greedy_matches_generate(smol_engine):
    options = GenerationOptions(temperature=0, max_new_tokens=20)
    prompts = ["What is the capital of France?", "用一句话介绍北京。", "Write a haiku about rain.", "1+1="]
    alone = [reference(smol_engine, ask(p), options) for p in prompts]
    gens = together(smol_engine, [(p, options, None) for p in prompts])
    assert [g.text for g in gens] == alone
