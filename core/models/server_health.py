"""What a remote engine server says about itself: alive, how many requests run and wait.

vLLM answers `GET /health` (200 when its engine is alive) and Prometheus `GET /metrics`
(`vllm:num_requests_running`, `vllm:num_requests_waiting`, `vllm:kv_cache_usage_perc`).
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
RUNNING, WAITING, KV_CACHE = "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"


@dataclass(frozen=True)
class ServerHealth:
    """None means the server did not say (no such endpoint, unreadable answer, unreachable)."""

    reachable: bool
    healthy: bool | None = None
    running: int | None = None
    waiting: int | None = None
    kv_cache_used: float | None = None  # fraction 0..1 of the server's KV cache in use


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


def fetch(http: httpx.Client, root: str) -> ServerHealth:
    """Ask the server at `root` (its URL without /v1) for its health and queue."""
    try:
        health = http.get(f"{root}/health", timeout=TIMEOUT_S)
    except httpx.HTTPError:
        return ServerHealth(reachable=False, healthy=False)
    healthy = True if health.status_code == 200 else None if health.status_code == 404 else False
    metrics: dict[str, float] = {}
    try:
        response = http.get(f"{root}/metrics", timeout=TIMEOUT_S)
        if response.status_code == 200:
            metrics = parse_metrics(response.text)
    except httpx.HTTPError:
        pass
    running, waiting, kv = metrics.get(RUNNING), metrics.get(WAITING), metrics.get(KV_CACHE)
    return ServerHealth(
        reachable=True, healthy=healthy,
        running=int(running) if running is not None else None,
        waiting=int(waiting) if waiting is not None else None,
        kv_cache_used=min(1.0, max(0.0, kv)) if kv is not None else None,
    )
