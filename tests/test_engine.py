import threading
import time

import pytest

from core.errors import InputError, UserError
from core.models.echo_engine import EchoEngine
from core.models.engine import BASE
from core.models.options import GenerationOptions

GREEDY = GenerationOptions(temperature=0, max_new_tokens=12)


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_tiny_model_streams_chunks_that_join_to_the_answer(tiny_engine):
    gen = tiny_engine.stream(ask("Hello 你好"), GREEDY)
    chunks = list(gen)
    assert len(chunks) >= 1
    assert "".join(chunks) == gen.text
    assert gen.stats.completion_tokens == 12
    assert gen.stats.finish_reason == "length"
    assert gen.stats.first_token_seconds is not None


def test_greedy_is_deterministic_and_seed_reproduces_sampling(tiny_engine):
    assert tiny_engine.chat(ask("Paris"), GREEDY) == tiny_engine.chat(ask("Paris"), GREEDY)
    sampled = GenerationOptions(temperature=1.5, top_k=0, top_p=1.0, max_new_tokens=20, seed=7)
    assert tiny_engine.chat(ask("Paris"), sampled) == tiny_engine.chat(ask("Paris"), sampled)


def test_stop_cancels_only_its_own_request(tiny_engine):
    long = GenerationOptions(temperature=0, max_new_tokens=400)
    first = tiny_engine.stream(ask("one"), long)
    second = tiny_engine.stream(ask("two"), GenerationOptions(temperature=0, max_new_tokens=8))
    next(iter(first))
    first.stop()
    first.result()
    assert first.stats.finish_reason == "cancelled"
    assert first.stats.completion_tokens < 400
    assert second.result() == tiny_engine.chat(ask("two"), GenerationOptions(temperature=0, max_new_tokens=8))
    assert second.stats.finish_reason == "length"


def test_closing_the_consumer_stops_generation_and_frees_the_lock(tiny_engine):
    gen = tiny_engine.stream(ask("go"), GenerationOptions(temperature=0, max_new_tokens=400))
    stream = iter(gen)
    next(stream)
    stream.close()  # what a disconnected client or an interrupted page does
    assert gen.finished.wait(5)
    assert gen.stats.completion_tokens < 400
    deadline = time.time() + 1
    while tiny_engine.lock.busy and time.time() < deadline:
        time.sleep(0.01)
    assert not tiny_engine.lock.busy


def test_queue_position_counts_requests_ahead():
    engine = EchoEngine(delay=0.05)
    running = engine.stream(ask("a b c d e f g h"))
    waiting = [engine.stream(ask(f"q{i}")) for i in range(3)]
    assert running.started.wait(2)
    assert [w.ahead() for w in waiting] == [1, 2, 3]
    results = [w.result() for w in waiting]
    assert results == ["echo: q0", "echo: q1", "echo: q2"]
    assert running.result() == "echo: a b c d e f g h"


def test_cancel_while_queued_leaves_the_queue():
    engine = EchoEngine(delay=0.05)
    running = engine.stream(ask("a b c d e"))
    queued = engine.stream(ask("never"))
    behind = engine.stream(ask("after"))
    queued.stop()
    assert queued.result() == ""
    assert queued.stats.finish_reason == "cancelled"
    assert behind.result() == "echo: after"
    running.result()


def test_concurrent_requests_get_their_own_answers(tiny_engine):
    prompts = [f"prompt {i} 问题" for i in range(4)]
    alone = {p: tiny_engine.chat(ask(p), GREEDY) for p in prompts}
    results: dict[str, str] = {}

    def run(p: str) -> None:
        results[p] = tiny_engine.chat(ask(p), GREEDY)

    threads = [threading.Thread(target=run, args=(p,)) for p in prompts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == alone


def test_empty_message_is_refused_with_a_clear_message(tiny_engine):
    with pytest.raises(InputError, match="empty"):
        tiny_engine.stream(ask("   "))


def test_context_guard_drops_oldest_turns_and_reports_it(tiny_engine):
    window = tiny_engine.info.context_length
    history = [{"role": "system", "content": "be brief"}]
    for i in range(30):
        history += [{"role": "user", "content": f"question {i} " * 10}, {"role": "assistant", "content": "answer " * 10}]
    history.append({"role": "user", "content": "last question"})
    fitted, dropped = tiny_engine.fit(history, 64)
    assert dropped > 0
    assert fitted[0]["content"] == "be brief" and fitted[-1]["content"] == "last question"
    assert tiny_engine.count_tokens(fitted) <= window - 64


def test_message_too_long_for_the_window_is_refused(tiny_engine):
    with pytest.raises(InputError, match="too long"):
        tiny_engine.stream(ask("x " * 100_000))


def test_unknown_adapter_is_refused(tiny_engine):
    with pytest.raises(UserError, match="not available"):
        tiny_engine.stream(ask("hi"), adapter="nope")
    assert tiny_engine.chat(ask("hi"), GREEDY, adapter=BASE) == tiny_engine.chat(ask("hi"), GREEDY)


@pytest.mark.smollm
def test_embedded_model_knows_the_capital_of_france(smol_engine):
    answer = smol_engine.chat(ask("What is the capital of France?"), GenerationOptions(temperature=0, max_new_tokens=30))
    assert "Paris" in answer


@pytest.mark.smollm
def test_embedded_model_accepts_chinese_input(smol_engine):
    gen = smol_engine.stream(ask("你好！请用一句话介绍你自己。"), GenerationOptions(temperature=0, max_new_tokens=16))
    assert gen.result().strip()
    assert gen.stats.prompt_tokens > 10


def test_a_character_cut_by_the_token_limit_is_not_shown_as_a_replacement_mark(tiny_engine):
    """Byte-level tokenizers split one CJK character over several tokens; stopping after the first
    of them used to end the answer with '\ufffd'."""
    import torch

    from core.models.engine import FairLock, Generation
    from core.models.transformers_engine import _HandleStreamer

    tokenizer = tiny_engine.tokenizer
    ids = tokenizer("大桥", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids[:-1]).endswith("\ufffd")  # the premise: a character needs several tokens
    gen = Generation(ticket=0, lock=FairLock())
    streamer = _HandleStreamer(tokenizer, gen, time.perf_counter())
    streamer.put(torch.tensor([[1, 2]]))  # the prompt, skipped
    for token in ids[:-1]:
        streamer.put(torch.tensor([token]))
    streamer.end()
    gen.close()
    text = "".join(gen)
    assert "\ufffd" not in text and text == tokenizer.decode(ids[:-1]).rstrip("\ufffd")
