"""What a remote engine server says about itself: alive, how many requests run and wait.

vLLM answers `GET /health` (200 when its engine is alive) and Prometheus `GET /metrics`
(`vllm:num_requests_running`, `vllm:num_requests_waiting`, `vllm:kv_cache_usage_perc`, and the
labels of `vllm:cache_config_info`: `kv_cache_memory_bytes`, `gpu_memory_utilization`).
Other OpenAI-compatible servers (Ollama, llama.cpp, LM Studio) may have neither: every value
is then None ("unknown" on the System page). Nothing here raises: a status view must not crash.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import httpx

TIMEOUT_S = 2.0  # the System page waits at most this long per endpoint for a busy or dead server
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
RUNNING, WAITING, KV_CACHE = "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"
CACHE_CONFIG = "vllm:cache_config_info"  # an info gauge (value 1): the server's cache settings are its labels


@dataclass(frozen=True)
class ServerHealth:
    """None means the server did not say (no such endpoint, unreadable answer, unreachable)."""

    reachable: bool
    healthy: bool | None = None
    running: int | None = None
    waiting: int | None = None
    kv_cache_used: float | None = None  # fraction 0..1 of the server's KV cache in use
    kv_cache_gb: float | None = None  # the KV cache's size in GiB (vLLM on CPU: VLLM_CPU_KVCACHE_SPACE)
    gpu_memory_utilization: float | None = None  # vLLM's share of the GPU (--gpu-memory-utilization)


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text → metric name → value summed over its label sets (one per engine/model)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if not match:
            continue  # comments (# HELP / # TYPE), blank or malformed lines
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        if math.isfinite(value):
            values[match.group(1)] = values.get(match.group(1), 0.0) + value
    return values


def parse_labels(text: str, name: str) -> dict[str, str]:
    """The labels of metric `name`'s first sample (an info gauge's content); {} when it is absent."""
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match and match.group(1) == name:
            return dict(_LABEL.findall(match.group(2) or ""))
    return {}


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None  # "None" when the server did not fix it
    return number if number is not None and math.isfinite(number) and number >= 0 else None


def fetch(http: httpx.Client, root: str) -> ServerHealth:
    """Ask the server at `root` (its URL without /v1) for its health and queue."""
    try:
        health = http.get(f"{root}/health", timeout=TIMEOUT_S)
    except httpx.HTTPError:
        return ServerHealth(reachable=False, healthy=False)
    healthy = True if health.status_code == 200 else None if health.status_code == 404 else False
    metrics: dict[str, float] = {}
    cache: dict[str, str] = {}
    try:
        response = http.get(f"{root}/metrics", timeout=TIMEOUT_S)
        if response.status_code == 200:
            metrics, cache = parse_metrics(response.text), parse_labels(response.text, CACHE_CONFIG)
    except httpx.HTTPError:
        pass
    kv_bytes = _number(cache.get("kv_cache_memory_bytes"))
    running, waiting, kv = metrics.get(RUNNING), metrics.get(WAITING), metrics.get(KV_CACHE)
    return ServerHealth(
        reachable=True, healthy=healthy,
        running=int(running) if running is not None else None,
        waiting=int(waiting) if waiting is not None else None,
        kv_cache_used=min(1.0, max(0.0, kv)) if kv is not None else None,
        kv_cache_gb=kv_bytes / 2**30 if kv_bytes is not None else None,
        gpu_memory_utilization=_number(cache.get("gpu_memory_utilization")),
    )
