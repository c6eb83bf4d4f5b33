"""Adapters on the one loaded base: exact outputs under interleaving, a true base bypass,
incompatible bases refused, LRU unloading, personas applied."""

from __future__ import annotations

import random
import threading

import pytest

from core.errors import UserError
from core.models.options import GenerationOptions
from core.adapters.pool import AdapterPool, engine_fingerprint, messages_for
from core.adapters.store import AdapterCard, AdapterStore
from tests.conftest import MODEL_CACHE
from tests.factories import build_lora_adapter, build_model

GREEDY = GenerationOptions(max_new_tokens=8, temperature=0.0)
SAMPLED = GenerationOptions(max_new_tokens=8, temperature=1.0, top_k=0, top_p=1.0, seed=1234)
PROMPTS = ["Hello world.", "你好，世界。", "The capital of France is", "皇上，臣妾"]


def load_engine(folder):
    from core.models import loader, sources

    return loader.load(sources.resolve(str(folder), MODEL_CACHE))


@pytest.fixture(scope="module")
def adapters(tiny_model_dir, tmp_path_factory) -> AdapterStore:
    store = AdapterStore(tmp_path_factory.mktemp("adapters"))
    build_lora_adapter(tiny_model_dir, store, "alpha", seed=1, system_prompt="You are Alpha.")
    build_lora_adapter(tiny_model_dir, store, "beta", seed=2)
    build_lora_adapter(tiny_model_dir, store, "gamma", seed=3)
    return store


@pytest.fixture
def pool(tiny_model_dir, adapters):
    engine = load_engine(tiny_model_dir)
    return AdapterPool(adapters, lambda: engine, limit=2)


def ask(prompt: str) -> list[dict]:
    return [{"role": "user", "content": prompt}]


def run(pool: AdapterPool, variant: str, prompt: str, options: GenerationOptions) -> str:
    with pool.using(variant):
        return pool.engine().chat(ask(prompt), options, adapter=variant)


@pytest.mark.parametrize("options", [GREEDY, SAMPLED], ids=["greedy", "seeded-sampling"])
def test_interleaved_requests_match_the_same_requests_run_alone(pool, options):
    requests = [(v, p) for v in ("base", "alpha", "beta") for p in PROMPTS[:2]]
    alone = {r: run(pool, *r, options) for r in requests}
    if options.greedy:
        assert len({alone[(v, PROMPTS[0])] for v in ("base", "alpha", "beta")}) == 3, "adapters must change the answer"

    jobs = requests * 2
    random.Random(7).shuffle(jobs)
    results: list[tuple[tuple[str, str], str]] = []
    start = threading.Barrier(len(jobs))

    def worker(request):
        start.wait()
        results.append((request, run(pool, *request, options)))

    threads = [threading.Thread(target=worker, args=(r,)) for r in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert len(results) == len(jobs)
    for request, text in results:
        assert text == alone[request], request


def test_base_is_a_true_bypass_equal_to_the_model_without_peft(pool, tiny_model_dir):
    with pool.using("alpha", "beta"):
        pass
    engine = pool.engine()
    assert engine.peft is not None and set(engine.adapter_names()) == {"alpha", "beta"}
    bare = load_engine(tiny_model_dir)  # a second copy, never touched by PEFT
    assert bare.peft is None
    for prompt in PROMPTS:
        assert run(pool, "base", prompt, GREEDY) == bare.chat(ask(prompt), GREEDY)
    assert run(pool, "alpha", PROMPTS[0], GREEDY) != bare.chat(ask(PROMPTS[0]), GREEDY)


def test_adapter_for_another_base_is_refused_clearly(pool, tmp_path):
    other = build_model(tmp_path / "tiny-qwen2", "qwen2")
    build_lora_adapter(other, pool.store, "qwen-adapter", seed=5)
    assert "qwen-adapter" not in [c.name for c in pool.compatible()]
    assert "qwen-adapter" in [c.name for c in pool.incompatible()]
    with pytest.raises(UserError, match="different base than the loaded model") as err:
        with pool.using("qwen-adapter"):
            pass
    assert "System page" in err.value.hint
    assert pool.engine().adapter_names() == []
    pool.store.delete("qwen-adapter")


def test_adapter_without_weights_is_refused(pool):
    fp = engine_fingerprint(pool.engine())
    pool.store.save_card(AdapterCard(name="empty", base_model="tiny", base_fingerprint=fp))
    with pytest.raises(UserError, match="no weights"):
        pool.ensure("empty")
    pool.store.delete("empty")


def test_least_recently_used_adapter_is_unloaded_but_not_while_in_use(pool):
    engine = pool.engine()
    pool.ensure("alpha")
    pool.ensure("beta")
    pool.ensure("alpha")  # alpha is now the most recent
    pool.ensure("gamma")
    assert pool.loaded() == ["alpha", "gamma"]
    assert set(engine.adapter_names()) == {"alpha", "gamma"}
    assert "beta" not in engine.peft.peft_config  # really gone from the model, not just hidden

    with pool.using("alpha", "beta", "gamma"):  # three pinned with a limit of two: none evicted mid-request
        assert set(engine.adapter_names()) == {"alpha", "beta", "gamma"}
    assert len(engine.adapter_names()) == 2

    pool.unload("gamma")
    assert "gamma" not in engine.adapter_names()
    assert run(pool, "gamma", PROMPTS[0], GREEDY)  # lazily reloaded on next use


def test_a_new_model_resets_the_pool(tiny_model_dir, adapters):
    engines = [load_engine(tiny_model_dir)]
    pool = AdapterPool(adapters, lambda: engines[-1], limit=2)
    pool.ensure("alpha")
    engines.append(load_engine(tiny_model_dir))
    assert pool.loaded() == []
    pool.ensure("beta")
    assert engines[-1].adapter_names() == ["beta"]


def test_messages_for_applies_the_card_persona_unless_one_is_set():
    card = AdapterCard(name="zh", base_model="m", base_fingerprint="f", system_prompt="现在你要扮演甄嬛")
    assert messages_for(card, ask("你是谁？"))[0] == {"role": "system", "content": "现在你要扮演甄嬛"}
    assert messages_for(None, ask("你是谁？")) == ask("你是谁？")
    mine = [{"role": "system", "content": "Be brief."}, *ask("hi")]
    assert messages_for(card, mine) == mine
    blank = [{"role": "system", "content": " "}, *ask("hi")]
    assert messages_for(card, blank)[0]["content"] == "现在你要扮演甄嬛" and len(messages_for(card, blank)) == 2


def test_an_adapter_card_template_lays_out_its_prompts(tmp_path, tiny_model_dir):
    """An adapter trained with another chat layout gets that layout; the base keeps its own."""
    from core.models import loader, sources
    from core.adapters.pool import AdapterPool
    from core.adapters.store import AdapterStore
    from tests.factories import build_lora_adapter

    engine = loader.load(sources.resolve(str(tiny_model_dir), tmp_path))
    store = AdapterStore(tmp_path / "adapters")
    build_lora_adapter(tiny_model_dir, store, "plain")
    card = store.get("plain")
    card.chat_template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}[assistant] "
    store.save_card(card)
    pool = AdapterPool(store, lambda: engine)
    pool.ensure("plain")
    messages = [{"role": "user", "content": "hello"}]
    as_adapter = engine.tokenizer.decode(engine.encode(messages, "plain"))
    as_base = engine.tokenizer.decode(engine.encode(messages))
    assert as_adapter == "[user] hello\n[assistant] "
    assert "<|im_start|>" in as_base
