"""A real HTTP server (FastAPI under uvicorn, in a thread) answering like an OpenAI-compatible one.

Only the endpoints Liandan reads without generating: `/v1/models`, and, when asked, vLLM's
`/health` and Prometheus `/metrics` with canned text in vLLM's own format. Tests of what the
app shows about a server use it; generation is tested against a real vLLM (tests/test_vllm.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, Response

from tests.api_helpers import serve

# Lines as vLLM 0.x writes them (HELP/TYPE comments, labelled gauges); values chosen by the test.
METRICS = """# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{{engine="0",model_name="smol"}} {running}
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{{engine="0",model_name="smol"}} {waiting}
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{{engine="0",model_name="smol"}} {kv}
# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
# TYPE vllm:cache_config_info gauge
vllm:cache_config_info{{block_size="128",cache_dtype="auto",engine="0",gpu_memory_utilization="0.3",kv_cache_memory_bytes="{kv_bytes}",num_gpu_blocks="364"}} 1.0
"""


def app(vllm_endpoints: bool = True, healthy: bool = True, running: float = 3, waiting: float = 2, kv: float = 0.25,
        metrics_text: str | None = None, root: str = "/models/smol", kv_bytes: str = "1073741824") -> FastAPI:
    """`root`: the base's folder as the server names it (vLLM: its --model path)."""
    api = FastAPI()

    @api.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [
            {"id": "smol", "object": "model", "root": root, "parent": None, "max_model_len": 2048},
            {"id": "guide", "object": "model", "root": "/adapters/guide", "parent": "smol"},
        ]}

    if vllm_endpoints:
        @api.get("/health")
        def health() -> Response:
            return Response(status_code=200 if healthy else 503)

        @api.get("/metrics")
        def metrics() -> Response:
            text = metrics_text if metrics_text is not None else METRICS.format(running=running, waiting=waiting, kv=kv, kv_bytes=kv_bytes)
            return Response(text, media_type="text/plain; version=0.0.4")

    return api


@contextmanager
def running(**options) -> Iterator[str]:
    """Serve `app(**options)`; yields the server's /v1 base URL."""
    with serve(app(**options)) as url:
        yield f"{url}/v1"
