"""8 concurrent streaming clients on the API against the embedded model.

Claims checked: (1) concurrent API requests share the engine's batch (continuous batching):
every client streams and finishes, the answers generating together and the requests waiting
for a batch slot are sampled from /api/health, the queue drains to zero, and each client's
time to first token shows how long it waited for its prefill (requests admitted in the same
step are prefilled in one forward, so there is no staircase of one prefill per request);
(2) what concurrent serving over HTTP (uvicorn + SSE + the openai client) buys: aggregate
tokens/s over the API against the same requests run back to back on the engine directly,
in this process (the baseline); the ratio is the batching speed-up net of the HTTP layer's cost.

    .venv/bin/python bench/api.py [--clients 8] [--max-tokens 32] [--model embedded] [--engine echo]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import openai  # noqa: E402

from core.api.app import create_app  # noqa: E402
from core.api.server import serve_in_thread  # noqa: E402
from core.config import Settings  # noqa: E402
from core.models.options import GenerationOptions  # noqa: E402
from core.runtime import create_runtime  # noqa: E402

QUESTIONS = ["What is the capital of France?", "用一句话介绍一下你自己。", "Name three colours.", "什么是大语言模型？",
             "Write a haiku about tea.", "1+1 等于几？", "Give me a tip for learning Python.", "今天适合做什么？"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def direct(engine, questions: list[str], options: GenerationOptions) -> tuple[float, int]:
    """Baseline: the same requests back to back on the engine, no HTTP."""
    start, tokens = time.perf_counter(), 0
    for q in questions:
        gen = engine.stream([{"role": "user", "content": q}], options)
        gen.result()
        tokens += gen.stats.completion_tokens
    return time.perf_counter() - start, tokens


def client(url: str, question: str, max_tokens: int, t0: float, out: list[dict]) -> None:
    api = openai.OpenAI(base_url=f"{url}/v1", api_key="bench", timeout=600)
    first = None
    usage = None
    stream = api.chat.completions.create(model="base", messages=[{"role": "user", "content": question}], stream=True,
                                         temperature=0, max_tokens=max_tokens, stream_options={"include_usage": True})
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - t0
        if chunk.usage:
            usage = chunk.usage
    out.append({"question": question, "ttft": first or float("nan"), "end": time.perf_counter() - t0,
                "tokens": usage.completion_tokens if usage else 0})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--engine", default="transformers", choices=["transformers", "echo"])
    args = parser.parse_args()

    data_dir = Path("data") if args.engine == "transformers" else Path(tempfile.mkdtemp())
    rt = create_runtime(Settings(data_dir=data_dir, engine=args.engine, load_on_start=False))
    engine = rt.models.load(args.model)
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.clients)]
    options = GenerationOptions(temperature=0, max_new_tokens=args.max_tokens)
    print(f"model {engine.info.name} on {engine.info.device}; {args.clients} clients, max {args.max_tokens} tokens, greedy")

    engine.chat([{"role": "user", "content": "warm up"}], GenerationOptions(temperature=0, max_new_tokens=4))
    base_s, base_tokens = direct(engine, questions, options)
    base_tps = base_tokens / base_s
    print(f"baseline done: {base_tokens} tokens in {base_s:.1f} s", flush=True)

    with serve_in_thread(create_app(rt)) as url:
        results: list[dict] = []
        depth: list[int] = []
        together: list[int] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                health = httpx.get(f"{url}/api/health").json()
                depth.append(health["queued"])
                together.append(health["running"])
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(url, q, args.max_tokens, t0, results)) for q in questions]
        sampler.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        after = httpx.get(f"{url}/api/health").json()

    tokens = sum(r["tokens"] for r in results)
    ttfts = [r["ttft"] for r in results]
    print("\nper client, in order of first token:")
    print(f"{'TTFT s':>8} {'end s':>8} {'tokens':>7}  question")
    for r in sorted(results, key=lambda r: r["ttft"]):
        print(f"{r['ttft']:8.2f} {r['end']:8.2f} {r['tokens']:7d}  {r['question']}")
    print(f"\nbaseline (direct engine, back to back): {base_tokens} tokens in {base_s:.1f} s = {base_tps:.1f} tok/s")
    print(f"API, {args.clients} concurrent SSE clients:   {tokens} tokens in {wall:.1f} s = {tokens / wall:.1f} tok/s"
          f"  (ratio to baseline {tokens / wall / base_tps:.2f}x)")
    print(f"time to first token: p50 {percentile(ttfts, 0.5):.2f} s, p95 {percentile(ttfts, 0.95):.2f} s, "
          f"first {min(ttfts):.2f} s, last {max(ttfts):.2f} s")
    print(f"batching (max_batch {after.get('max_batch', 1)}), sampled every 0.1 s: at most {max(together, default=0)} answers "
          f"generating together, at most {max(depth, default=0)} waiting for a slot; {len(results)}/{args.clients} clients "
          f"finished, queue after: {after['queued']} (busy {after['busy']})")


if __name__ == "__main__":
    main()
