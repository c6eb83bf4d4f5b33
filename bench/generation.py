"""Does the engine's streaming path cost speed? engine.stream() vs plain model.generate().

Same model, same process, same prompt, greedy, same max_new_tokens; runs alternate
(baseline, engine, baseline, ...) after a warm-up of each so load on the machine hits both
alike, and medians are compared. Plain generate() runs twice per round: on the main thread
(what a tutorial script does) and on a worker thread (where the engine runs it), which
separates the cost of streaming from the cost of threads. On an idle 2-core machine the two
were equal; on one loaded by other processes (load average ~10) the main-thread call ran
~7x slower than the worker-thread one, so read this bench on a quiet machine. Measured:
- time to first token: baseline = the first generated token reaching a streamer that only
  takes a timestamp; engine = the first text chunk reaching the consumer of the handle
  (what a user sees: includes the queue, the generate thread and word buffering).
- decode tokens/s: (tokens - 1) / (last token - first token), inside generate().
- end-to-end tokens/s: tokens / (call -> last chunk consumed): the number users feel.
The last line is the ratio engine / plain generate() (main thread) of end-to-end tokens/s
(target >= 0.97).

    .venv/bin/python bench/generation.py [--model embedded] [--max-new-tokens 48] [--runs 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from transformers.generation.streamers import BaseStreamer  # noqa: E402

from core.config import Settings  # noqa: E402
from core.models import loader, sources  # noqa: E402
from core.models.options import GenerationOptions  # noqa: E402

PROMPT = [{"role": "user", "content": "Write a long, detailed story about a lighthouse keeper and a storm."}]


class Stamps(BaseStreamer):
    """The least a streamer can do: note when each generated token arrives."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def run_baseline(engine, options: GenerationOptions) -> dict:
    ids = torch.tensor([engine.encode(PROMPT)], device=engine.model.device)
    stamps = Stamps()
    started = time.perf_counter()
    with torch.inference_mode():
        out = engine.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), streamer=stamps, **engine.generation_kwargs(options)
        )
    ended = time.perf_counter()
    tokens = out.shape[1] - ids.shape[1]
    return {
        "tokens": tokens,
        "ttft": stamps.times[0] - started,
        "decode": (tokens - 1) / (stamps.times[-1] - stamps.times[0]),
        "e2e": tokens / (ended - started),
    }


def on_worker(run, engine, options: GenerationOptions) -> dict:
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(run(engine, options)))
    worker.start()
    worker.join()
    return result


def run_engine(engine, options: GenerationOptions) -> dict:
    started = time.perf_counter()
    gen = engine.stream(PROMPT, options)
    first = None
    for _ in gen:
        if first is None:
            first = time.perf_counter()
    ended = time.perf_counter()
    s = gen.stats
    return {
        "tokens": s.completion_tokens,
        "ttft": first - started,
        "decode": s.tokens_per_second,
        "e2e": s.completion_tokens / (ended - started),
    }


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded", help="model source (default: the embedded SmolLM2)")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args()

    settings = Settings()
    engine = loader.load(sources.resolve(args.model, settings.models_dir), device=settings.device, dtype=settings.dtype)
    options = GenerationOptions(max_new_tokens=args.max_new_tokens, temperature=0.0, repetition_penalty=1.0)
    print(f"model {engine.info.name} ({engine.info.dtype} on {engine.info.device}), torch threads {torch.get_num_threads()}, "
          f"{args.max_new_tokens} new tokens, greedy, {args.runs} runs each after a warm-up")
    paths = {
        "generate() main thread": lambda: run_baseline(engine, options),
        "generate() worker thread": lambda: on_worker(run_baseline, engine, options),
        "engine.stream()": lambda: run_engine(engine, options),
    }
    runs: dict[str, list[dict]] = {name: [] for name in paths}
    for name, run in paths.items():  # warm-up
        run()
    names = list(paths)
    for i in range(args.runs):
        for name in names[i % 3:] + names[: i % 3]:  # rotate who goes first: no order bias
            runs[name].append(paths[name]())
        print(f"  round {i + 1}: " + ", ".join(f"{n} {r[-1]['e2e']:.2f} tok/s" for n, r in runs.items()), flush=True)
    counts = {name: [r["tokens"] for r in rs] for name, rs in runs.items()}
    if len({c for cs in counts.values() for c in cs}) != 1:
        sys.exit(f"token counts differ between runs: {counts}")

    print(f"{'':26}" + "".join(f"{n:>26}" for n in runs))
    for label, key, fmt in (("time to first token (s)", "ttft", ".3f"), ("decode tokens/s", "decode", ".2f"), ("end-to-end tokens/s", "e2e", ".2f")):
        print(f"{label:26}" + "".join(f"{median(rs, key):>26{fmt}}" for rs in runs.values()))
    main_thread, worker, eng = runs.values()
    print(f"decode ratio engine / generate() on the main thread: {median(eng, 'decode') / median(main_thread, 'decode'):.3f}")
    print(f"end-to-end ratio engine / generate() on a worker thread (streaming cost alone): "
          f"{median(eng, 'e2e') / median(worker, 'e2e'):.3f}")
    print(f"end-to-end tokens/s ratio engine / plain generate() (target >= 0.97): "
          f"{median(eng, 'e2e') / median(main_thread, 'e2e'):.3f}")


if __name__ == "__main__":
    main()
