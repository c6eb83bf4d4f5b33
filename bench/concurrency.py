"""1, 2, 4 and 8 concurrent streaming clients on one engine, against the same requests run one after another.

Claims checked, all in one process on one loaded model:
(1) continuous batching shares the forward passes: aggregate tokens/s at 8 clients is
    at least 4x one client's (goal), and p95 time to first token stays within 2x a lone
    request's prefill + one decode step (goal; the lone request is measured warm, after one
    request that pays the one-time costs of a freshly loaded model);
(2) greedy answers are token-identical to the same requests answered alone;
(3) a mixed batch (4 LoRA adapters + the base, one client each) runs together and matches too;
(4) the batch's KV cache is bounded by LIANDAN_MAX_BATCH x context and is reported;
(5) what the prefix cache (shared prompt heads) and the batching window buy: the same engine is
    measured first with both off (unless --no-baseline), then with the defaults.
With --openai-url the same table is measured through the OpenAI-compatible engine (a vLLM server).

    .venv/bin/python bench/concurrency.py [--tokens 64] [--clients 1,2,4,8] [--openai-url http://127.0.0.1:8000/v1]
        [--openai-mixed]   # hot-loads the same four seeded adapters into the server for its mixed row
        [--dtype bfloat16] # the weights in bf16 (faster on a CPU with native bf16; greedy answers then vary with the batch)
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
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import Settings  # noqa: E402
from core.models.options import GenerationOptions  # noqa: E402

QUESTIONS = [
    "Explain how a rainbow forms, step by step.", "用三段话介绍一下长城的历史。", "Write a short story about a robot who learns to paint.",
    "什么是大语言模型？请详细解释。", "Describe the water cycle in detail.", "请写一篇关于春天的短文。",
    "Give me ten tips for learning Python, with an example each.", "介绍一下中国的四大发明。",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ask(q: str) -> list[dict]:
    return [{"role": "user", "content": q}]


def one(engine, question: str, options: GenerationOptions, adapter: str | None, t0: float, out: dict) -> None:
    gen = engine.stream(ask(question), options, adapter=adapter)
    chunks = iter(gen)
    for chunk in chunks:
        if "first" not in out and chunk:
            out["first"] = time.perf_counter() - t0
    out["end"] = time.perf_counter() - t0
    out["tokens"] = gen.stats.completion_tokens
    out["text"] = gen.text
    out.setdefault("first", out["end"])


def concurrent(engine, jobs: list[tuple[str, str | None]], options: GenerationOptions) -> list[dict]:
    """All clients submit at the same moment and stream on their own threads."""
    results = [dict() for _ in jobs]
    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(engine, q, options, a, t0, r)) for (q, a), r in zip(jobs, results)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def sequential(engine, jobs: list[tuple[str, str | None]], options: GenerationOptions) -> list[dict]:
    results = []
    for q, a in jobs:
        r: dict = {}
        one(engine, q, options, a, time.perf_counter(), r)
        results.append(r)
    return results


def queued_ttft(seq: list[dict]) -> list[float]:
    """Time to first token each request would see served one after another (all asked at once):
    the answers before it, then its own prefill. What one-at-a-time serving gives a class."""
    waited, out = 0.0, []
    for r in seq:
        out.append(waited + r["first"])
        waited += r["end"]
    return out


def row(label: str, n: int, results: list[dict], seq: list[dict], lone_goal: float, identical: bool | None) -> str:
    wall = max(r["end"] for r in results)
    tokens = sum(r["tokens"] for r in results)
    seq_wall = sum(r["end"] for r in seq)
    agg, seq_agg = tokens / wall, sum(r["tokens"] for r in seq) / seq_wall
    per = sum(r["tokens"] / max(1e-9, r["end"] - r["first"]) for r in results) / len(results)
    ttft, seq_ttft = [r["first"] for r in results], queued_ttft(seq)
    same = "-" if identical is None else ("yes" if identical else "NO")
    return (f"| {label} | {n} | {agg:.1f} | {agg / seq_agg:.2f}x | {per:.1f} | {percentile(ttft, .5):.2f} | "
            f"{percentile(ttft, .95):.2f} | {percentile(seq_ttft, .5):.2f} / {percentile(seq_ttft, .95):.2f} | "
            f"{percentile(ttft, .95) / lone_goal:.2f} | {same} |")


class Lines(list):
    """Rows printed as soon as they are measured (a slow, shared machine shows progress)."""

    def append(self, line: str) -> None:
        print(line, flush=True)
        super().append(line)

    def __iadd__(self, lines):
        for line in lines:
            self.append(line)
        return self


def table(name: str, engine, counts: list[int], options: GenerationOptions, adapters: list[str]) -> list[str]:
    lines = Lines()
    lines += [f"\n### {name}", "",
             "| clients | n | aggregate tok/s | vs sequential | per-client tok/s | p50 TTFT s | p95 TTFT s "
             "| sequential p50 / p95 TTFT s | p95 / goal | greedy identical |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    # The first request after loading pays one-time costs (allocator, kernel selection); measured
    # cold, it would inflate the goal, so it is reported on its own and the lone request is warm.
    cold = sequential(engine, [(QUESTIONS[0], None)], options.model_copy(update={"max_new_tokens": 2}))[0]
    lone = sequential(engine, [(QUESTIONS[0], None)], options)[0]
    lone_step = (lone["end"] - lone["first"]) / max(1, lone["tokens"] - 1)
    goal = 2 * (lone["first"] + lone_step)  # 2x (a lone request's prefill + one decode step)
    one_client_agg = None
    for n in counts:
        jobs = [(QUESTIONS[i % len(QUESTIONS)], None) for i in range(n)]
        seq = sequential(engine, jobs, options)
        con = concurrent(engine, jobs, options)
        identical = [r["text"] for r in con] == [r["text"] for r in seq] if options.greedy else None
        lines.append(row("same model", n, con, seq, goal, identical))
        agg = sum(r["tokens"] for r in con) / max(r["end"] for r in con)
        one_client_agg = agg if n == 1 else one_client_agg
        if n == max(counts) and one_client_agg:
            lines.append(f"|  | {n} vs 1 client: **{agg / one_client_agg:.2f}x** aggregate (goal >= 4x) | | | | | | | | |")
    if adapters:
        jobs = [(QUESTIONS[i], a) for i, a in enumerate([*adapters, None])]
        seq = sequential(engine, jobs, options)
        con = concurrent(engine, jobs, options)
        identical = [r["text"] for r in con] == [r["text"] for r in seq]
        lines.append(row(f"{len(adapters)} adapters + base", len(jobs), con, seq, goal, identical))
    lines.append(f"\nlone request: TTFT {lone['first']:.2f} s, decode step {lone_step * 1000:.0f} ms; TTFT goal {goal:.2f} s "
                 f"(first request after loading, cold: TTFT {cold['first']:.2f} s)")
    status = engine.status()
    if "prefix_hits" in status:
        lines.append(f"prefix cache: {status['prefix_entries']} heads kept ({status['prefix_bytes'] / 2**20:.1f} MiB), "
                     f"{status['prefix_hits']} requests started after a cached head, {status['prefix_misses']} computed theirs")
    if "peak_kv_cache_bytes" in status:
        lines.append(f"KV cache: peak {status['peak_kv_cache_bytes'] / 2**20:.1f} MiB, now {status['kv_cache_bytes'] / 2**20:.1f} MiB "
                     f"(bound: max_batch {status['max_batch']} x context {engine.info.context_length} = "
                     f"{kv_bound(engine, status['max_batch']) / 2**20:.0f} MiB)")
    return lines


def kv_bound(engine, max_batch: int) -> int:
    cfg = engine.model.config
    heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    size = next(engine.model.parameters()).element_size()
    return 2 * cfg.num_hidden_layers * heads * head_dim * size * engine.info.context_length * max_batch


def make_adapters(engine, folder: Path, names: list[str]) -> None:
    """Seeded random LoRA adapters for the loaded base (their answers differ; their speed is what counts here)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    for i, name in enumerate(names):
        model = AutoModelForCausalLM.from_pretrained(engine.info.path)
        peft = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", lora_dropout=0.0))
        g = torch.Generator().manual_seed(i + 1)
        with torch.no_grad():
            for pname, p in peft.named_parameters():
                if "lora_B" in pname:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.02)
        peft.save_pretrained(folder / name)
        engine.load_adapter(name, folder / name)


def main() -> None:
    if os.environ.get("BENCH_TRACEBACK_AFTER"):
        import faulthandler

        faulthandler.dump_traceback_later(float(os.environ["BENCH_TRACEBACK_AFTER"]), exit=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=64, help="max new tokens per answer (greedy)")
    parser.add_argument("--clients", default="1,2,4,8")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"],
                        help="weights precision (as LIANDAN_DTYPE); auto = float32 on CPU")
    parser.add_argument("--openai-url", default=None, help="also measure an OpenAI-compatible server (vLLM)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the table without prefix cache and batching window")
    parser.add_argument("--openai-mixed", action="store_true",
                        help="hot-load the same four seeded adapters into that server for its mixed row "
                             "(vLLM started with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, same filesystem)")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    options = GenerationOptions(temperature=0, max_new_tokens=args.tokens, repetition_penalty=1.0)

    from core.models import loader, sources

    repo = Path(__file__).resolve().parent.parent
    defaults = Settings()
    engine = loader.load(sources.resolve(args.model, repo / "data" / "models"), dtype=args.dtype)
    print(f"model {engine.info.name} on {engine.info.device} in {engine.info.dtype}, {os.cpu_count()} CPUs shared with other work; "
          f"{args.tokens} greedy tokens per answer; max_batch {args.max_batch}")
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        names = ["a1", "a2", "a3", "a4"]
        make_adapters(engine, Path(tmp), names)
        if not args.no_baseline:  # the same engine without shared prompt heads or a batching window, same process
            engine.configure(args.max_batch, defaults.prefill_chunk, prefix_entries=0, batch_window_ms=0)
            lines += table("in-process engine, no prefix cache, no batching window (before)", engine, counts, options, names)
        engine.configure(args.max_batch, defaults.prefill_chunk, defaults.prefix_cache, defaults.batch_window_ms)
        lines += table(f"in-process engine (continuous batching; prefix cache {defaults.prefix_cache}, "
                       f"batching window {defaults.batch_window_ms:g} ms: the defaults)", engine, counts, options, names)
        if args.openai_url:
            from core.models.openai_engine import OpenAIEngine

            remote = OpenAIEngine.from_settings(Settings(engine="openai", engine_url=args.openai_url))
            mixed = names if args.openai_mixed else []
            for name in mixed:
                remote.load_adapter(name, Path(tmp) / name)  # a no-op for a name the server already has
            lines += table(f"OpenAI-compatible server at {args.openai_url}", remote, counts, options, mixed)
    print("\n## summary\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
