"""Stop on a streaming Chat answer: the partial answer is on disk before the Stop rerun reads it.

Stop's click starts a new script run at once while the interrupted run is still parked in the
stream, waiting for its next token. In a full browser run on a loaded machine that run was
sometimes slower than the 3 s Stop waited for it, so the new run (and a reload) read the
conversation without the stopped answer. Here the interrupted run is held back on purpose,
with a real Generation handle and a real conversation store, so the race is decided, not timed.
"""

from __future__ import annotations

import threading
import time

from components.chat.view import StreamedAnswer, stop_answer
from components.chat.modes import ModeContext
from core.conversations import ConversationStore, Turn
from core.models.engine import Generation
from core.models.options import GenerationOptions


def _scheduler_ends_it_on_cancel(gen: Generation) -> threading.Thread:
    """What the batching scheduler does with a cancelled request at its next decode step."""

    def run() -> None:
        gen.cancel.wait()
        gen.stats.completion_tokens = 2
        gen.stats.finish_reason = "cancelled"
        gen.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _interrupted_run(gen: Generation, answer: StreamedAnswer, release: threading.Event, shown: list[str]) -> threading.Thread:
    """The run that streams the answer, as stream_answer does, descheduled before its save."""

    def run() -> None:
        try:
            for piece in gen:
                shown.append(piece)
            release.wait(10)
        finally:
            answer.save()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _streaming(tmp_path):
    store = ConversationStore(tmp_path / "conversations")
    conv = store.new()
    conv.turns.append(Turn("user", "Write a long story about a dragon."))
    store.save(conv)
    gen = Generation()
    answer = StreamedAnswer(ModeContext(conv=conv, store=store, engine=None, pool=None, options=GenerationOptions()), {}, lambda t: t)
    answer.gen = gen
    return store, conv.id, gen, answer


def _answers(store: ConversationStore, conv_id: str) -> list[Turn]:
    return [t for t in store.get(conv_id).turns if t.role == "assistant"]


def test_stop_saves_the_partial_answer_before_the_rerun_reads_it_even_when_the_stream_run_lags(tmp_path):
    store, conv_id, gen, answer = _streaming(tmp_path)
    scheduler = _scheduler_ends_it_on_cancel(gen)
    release, shown = threading.Event(), []
    old_run = _interrupted_run(gen, answer, release, shown)
    gen.started.set()
    gen.push("Once upon")
    gen.push(" a time")
    while len(shown) < 2:  # the page has shown both pieces
        threading.Event().wait(0.01)

    stop_answer(answer)  # the Stop rerun's callback; the page reads the conversation right after it

    saved = _answers(store, conv_id)
    assert [t.content for t in saved] == ["Once upon a time"]
    assert saved[0].meta["stopped"] is True
    assert saved[0].meta["stats"]["finish_reason"] == "cancelled"
    assert saved[0].meta["stats"]["completion_tokens"] == 2

    release.set()  # the interrupted run reaches its finally late: it must not add a second copy
    old_run.join(5)
    scheduler.join(5)
    assert not old_run.is_alive()
    assert [t.content for t in _answers(store, conv_id)] == ["Once upon a time"]


def test_a_stop_after_the_stream_run_saved_returns_at_once_and_adds_nothing(tmp_path):
    """The usual case (seen in a browser run): the interrupted run notices the click at once and saves,
    while the engine is still busy with the request (a prefill), so it has not finished it yet."""
    store, conv_id, gen, answer = _streaming(tmp_path)
    gen.started.set()
    gen.push("Once")

    def run() -> None:  # leaves the stream at its first piece, as the StopException makes it
        try:
            for _ in gen:
                break
        finally:
            answer.save()

    old_run = threading.Thread(target=run, daemon=True)
    old_run.start()
    old_run.join(5)
    assert [t.content for t in _answers(store, conv_id)] == ["Once"]

    started = time.monotonic()
    stop_answer(answer)  # the engine never ends the request here: Stop must not wait for it
    assert time.monotonic() - started < 1.0
    assert [t.content for t in _answers(store, conv_id)] == ["Once"]
