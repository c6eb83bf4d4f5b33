"""The remote engine server's health and queue, read from its own endpoints over real HTTP
(a FastAPI app under uvicorn answering with vLLM's payloads), on the System page too."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from core.config import Settings
from core.models import server_health
from core.models.openai_engine import OpenAIEngine
from core.runtime import create_runtime
from tests import openai_like_server
from tests.conftest import app_test


def test_prometheus_text_is_parsed_summed_over_labels_and_junk_skipped():
    text = openai_like_server.METRICS.format(running=3, waiting=2, kv=0.25, kv_bytes=1) + (
        'vllm:num_requests_running{engine="1",model_name="smol"} 4\n'
        "vllm:num_requests_waiting{engine=\"1\"} not-a-number\n"
        "garbage line without a value\n"
        "vllm:kv_cache_usage_perc NaN\n")
    values = server_health.parse_metrics(text)
    assert values[server_health.RUNNING] == 7 and values[server_health.WAITING] == 2
    assert values[server_health.KV_CACHE] == 0.25


def test_a_vllm_like_server_reports_health_and_queue():
    with openai_like_server.running(running=5, waiting=7, kv=0.4) as url:
        engine = OpenAIEngine(url)
        try:
            health = engine.server_health()
        finally:
            engine.close()
    assert health == server_health.ServerHealth(reachable=True, healthy=True, running=5, waiting=7, kv_cache_used=0.4,
                                                kv_cache_gb=1.0, gpu_memory_utilization=0.3)


def test_the_cache_config_info_labels_give_the_servers_memory_and_none_when_unset():
    text = openai_like_server.METRICS.format(running=0, waiting=0, kv=0, kv_bytes=2**29)
    labels = server_health.parse_labels(text, server_health.CACHE_CONFIG)
    assert labels["kv_cache_memory_bytes"] == str(2**29) and labels["gpu_memory_utilization"] == "0.3"
    assert server_health.parse_labels(text, "vllm:no_such_metric") == {}
    with openai_like_server.running(kv_bytes="None") as url:  # vLLM on a GPU without --kv-cache-memory
        engine = OpenAIEngine(url)
        try:
            health = engine.server_health()
        finally:
            engine.close()
    assert health.kv_cache_gb is None and health.gpu_memory_utilization == 0.3


def test_an_unhealthy_server_or_one_with_unreadable_metrics_says_so():
    with openai_like_server.running(healthy=False, metrics_text="<html>not prometheus</html>") as url:
        engine = OpenAIEngine(url)
        try:
            health = engine.server_health()
        finally:
            engine.close()
    assert health == server_health.ServerHealth(reachable=True, healthy=False)


def test_a_server_without_health_or_metrics_shows_unknown_and_a_gone_one_unreachable():
    with openai_like_server.running(vllm_endpoints=False) as url:
        engine = OpenAIEngine(url)
        assert engine.server_health() == server_health.ServerHealth(reachable=True)  # all unknown
    try:  # the server went away under a loaded engine: no exception, "unreachable"
        assert engine.server_health() == server_health.ServerHealth(reachable=False, healthy=False)
    finally:
        engine.close()


@pytest.fixture
def remote_runtime(tmp_path, use_runtime):
    """Starts a vLLM-like server and installs the app on LIANDAN_ENGINE=openai pointed at it (for AppTest)."""
    with ExitStack() as servers:
        def start(**options):
            url = servers.enter_context(openai_like_server.running(**options))
            rt = create_runtime(Settings(data_dir=tmp_path / "data", engine="openai", engine_url=url, load_on_start=False,
                                         embedding_model="hash"))
            rt.models.load("remote")
            return use_runtime(rt)

        yield start


@pytest.mark.parametrize(("lang", "healthy", "unknown"), [("zh", "正常", "未知"), ("en", "Healthy", "unknown")])
def test_system_page_shows_the_servers_health_and_queue(remote_runtime, lang, healthy, unknown):
    remote_runtime(running=3, waiting=11, kv=0.5)
    at = app_test("pages/system.py", lang=lang).run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    labels = {"zh": ("状态", "正在生成的请求", "排队中的请求", "KV 缓存占用"),
              "en": ("State", "Requests running", "Requests waiting", "KV cache used")}[lang]
    assert [shown[label] for label in labels] == [healthy, "3", "11", "50%"]


def test_system_page_shows_unknown_for_a_server_without_those_endpoints(remote_runtime):
    remote_runtime(vllm_endpoints=False)
    at = app_test("pages/system.py", lang="en").run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert [shown[k] for k in ("State", "Requests running", "Requests waiting", "KV cache used")] == ["unknown"] * 4
