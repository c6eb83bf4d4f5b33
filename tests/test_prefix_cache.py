"""Shared prompt heads: a request whose template + system prompt another request computed starts its
prefill after them, answers exactly as when it computed them itself, and never reuses a head after
anything else held the weights (a training step, an adapter load)."""

from __future__ import annotations

import threading

import pytest

from core.models import batching
from core.models.options import GenerationOptions
from core.models.prefix_cache import head_length
from tests.test_batching import Prefill, load, prefill_calls, reference

GREEDY = GenerationOptions(temperature=0, max_new_tokens=12)
SYSTEM = {"role": "system", "content": "你是甄嬛，回答要简短。You are Zhen Huan; answer briefly."}


def persona(text: str) -> list[dict]:
    return [SYSTEM, {"role": "user", "content": text}]


def test_head_length_is_the_shared_prefix_and_leaves_the_last_token():
    assert head_length([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 2, 3, 4, 5, 6, 7, 8, 0]) == 8
    assert head_length([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8, 9], minimum=4) == 7, "one prompt token stays to give logits"
    assert head_length([1, 2, 3], [1, 2, 3, 4]) == 0, "too short to be worth caching"


def test_a_cached_head_is_reused_and_the_answer_does_not_change(tiny_model_dir):
    engine = load(tiny_model_dir)
    first, second = persona("皇上"), persona("What is the capital of France?")
    head = engine.prompt_head(second, None, engine.encode(second))
    assert head > 8 and head == engine.prompt_head(first, None, engine.encode(first))
    alone = reference(engine, second, GREEDY)
    engine.chat(first, GREEDY)  # computes the head and keeps it
    calls, hook = prefill_calls(engine)
    try:
        answer = engine.chat(second, GREEDY)
    finally:
        hook.remove()
    assert answer == alone
    assert calls == [Prefill(1, (len(engine.encode(second)) - head,), (head,))], "only the part after the head is prefilled"
    assert engine.status()["prefix_hits"] == 1


@pytest.mark.parametrize("packing_keys", [10**6, 0])
def test_eight_users_with_one_system_prompt_share_one_prefill_without_holding_the_lock(tiny_model_dir, monkeypatch, packing_keys):
    """Packed into one row when only the projections are priced (padding is waste), left-padded rows when only
    attention is (each packed token sees eight copies of the head): the same answers either way."""
    monkeypatch.setattr(batching, "PACKING_KEYS", packing_keys)
    engine = load(tiny_model_dir)
    questions = ["Hello world.", "你好，世界。", "The capital of France is", "皇上，臣妾", "def f(x):", "quick brown fox", "今天天气很好", "为什么？"]
    alone = [reference(engine, persona(q), GREEDY) for q in questions]
    engine.chat(persona("warm up"), GREEDY)
    calls, hook = prefill_calls(engine)
    texts: list[str] = [""] * len(questions)

    def ask(i: int) -> None:
        texts[i] = engine.chat(persona(questions[i]), GREEDY)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        hook.remove()
    assert texts == alone
    head = engine.prompt_head(persona(questions[0]), None, engine.encode(persona(questions[0])))
    assert sum(len(c.chunks) for c in calls) == 8 and all(cached == head for c in calls for cached in c.cached), calls
    assert len(calls) <= 2, f"requests sent together are gathered into (nearly) one prefill forward: {calls}"
    assert all(c.rows == (1 if packing_keys else len(c.chunks)) for c in calls), calls


def test_anything_else_holding_the_weights_drops_the_cached_heads(tiny_model_dir):
    engine = load(tiny_model_dir)
    engine.chat(persona("皇上"), GREEDY)
    assert engine.status()["prefix_entries"] == 1
    with engine.lock.hold():  # what a training step or an adapter load does
        pass
    calls, hook = prefill_calls(engine)
    try:
        engine.chat(persona("臣妾"), GREEDY)
    finally:
        hook.remove()
    assert calls[0].cached == (0,), "the head was computed again, not taken from before the weights changed"
    assert engine.status()["prefix_hits"] == 0


def test_prefix_cache_off_computes_every_head(tiny_model_dir):
    engine = load(tiny_model_dir)
    engine.configure(8, 256, prefix_entries=0)
    engine.chat(persona("皇上"), GREEDY)
    calls, hook = prefill_calls(engine)
    try:
        engine.chat(persona("臣妾"), GREEDY)
    finally:
        hook.remove()
    assert [c.cached for c in calls] == [(0,)]
