"""The contract of "answer as variant X" (`AdapterPool.stream`), the one path Chat, Compare and the
API share: resolve → pin → persona → template → stream, the pin held while the answer streams and
released after, the base a bypass that loads nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from core.errors import UserError
from core.models.echo_engine import EchoEngine
from core.models.engine import Generation
from core.models.options import GenerationOptions
from core.adapters.pool import AdapterPool, engine_fingerprint
from core.adapters.store import AdapterCard, AdapterStore

OPTIONS = GenerationOptions(max_new_tokens=16, temperature=0.0)
PERSONA = "现在你要扮演甄嬛"
TEMPLATE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"


class RecordingEngine(EchoEngine):
    """The echo engine, noting for each answer what the adapter's template laid out and the pins then."""

    def __init__(self) -> None:
        super().__init__(delay=0.01)
        self.pool: AdapterPool | None = None
        self.seen: list[dict] = []
        self.may_finish = threading.Event()
        self.may_finish.set()

    def _generate(self, messages, options, adapter, gen: Generation) -> None:
        self.seen.append({
            "adapter": adapter, "template": self._templates.get(adapter or ""), "messages": messages,
            "pins": self.pool.pins(adapter) if adapter and self.pool else 0, "loaded": self.adapter_names(),
        })
        self.may_finish.wait(5)
        super()._generate(messages, options, adapter, gen)


@pytest.fixture
def pool(tmp_path: Path) -> AdapterPool:
    engine = RecordingEngine()
    store = AdapterStore(tmp_path / "adapters")
    for name, persona in (("zhenhuan", PERSONA), ("plain", "")):
        store.save_card(AdapterCard(name=name, base_model="echo", base_fingerprint=engine_fingerprint(engine),
                                    system_prompt=persona, chat_template=TEMPLATE))
        (store.path(name) / "adapter_config.json").write_text("{}", encoding="utf-8")
    pool = AdapterPool(store, lambda: engine, limit=1)
    engine.pool = pool
    return pool


def released(pool: AdapterPool, name: str, timeout: float = 3.0) -> bool:
    deadline = time.time() + timeout
    while pool.pins(name) and time.time() < deadline:
        time.sleep(0.01)
    return pool.pins(name) == 0


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_the_persona_is_in_what_the_adapters_template_lays_out(pool):
    answer = pool.stream("zhenhuan", ask("你是谁？"), OPTIONS).result()
    seen = pool.engine().seen[-1]
    assert answer == "[zhenhuan] echo: 你是谁？"
    assert seen["adapter"] == "zhenhuan" and seen["template"] == TEMPLATE
    assert seen["messages"] == [{"role": "system", "content": PERSONA}, *ask("你是谁？")]


def test_a_system_prompt_the_user_set_wins_over_the_cards(pool):
    mine = [{"role": "system", "content": "Be brief."}, *ask("hi")]
    pool.stream("zhenhuan", mine, OPTIONS).result()
    assert pool.engine().seen[-1]["messages"] == mine


def test_the_pin_holds_while_streaming_and_is_released_after(pool):
    engine = pool.engine()
    engine.may_finish.clear()
    gen = pool.stream("zhenhuan", ask("one"), OPTIONS)
    assert gen.started.wait(3)
    assert pool.pins("zhenhuan") == 1 and engine.seen[-1]["pins"] == 1
    # limit=1: loading another adapter now must not evict the one that is answering
    with pytest.raises(UserError):
        pool.unload("zhenhuan")
    engine.may_finish.set()
    other = pool.stream("plain", ask("two"), OPTIONS)
    assert gen.result() == "[zhenhuan] echo: one"
    other.result()
    assert released(pool, "zhenhuan") and released(pool, "plain")
    assert len(pool.loaded()) == 1  # trimmed back to the limit once nothing holds them


def test_a_request_that_cannot_start_releases_its_pin(pool):
    with pytest.raises(UserError):
        pool.stream("zhenhuan", ask("   "), OPTIONS)  # an empty message is refused before queuing
    assert pool.pins("zhenhuan") == 0


def test_the_base_is_a_bypass_that_loads_and_pins_nothing(pool):
    for base in (None, "", "base"):
        assert pool.stream(base, ask("hi"), OPTIONS).result() == "echo: hi"
    engine = pool.engine()
    assert [s["adapter"] for s in engine.seen] == [None, None, None]
    assert all(s["messages"] == ask("hi") and s["loaded"] == [] for s in engine.seen)
    assert pool.loaded() == []
