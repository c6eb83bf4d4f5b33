"""GPU check: the paths a CUDA user takes, each timed, with peak VRAM, in one table.

On a CUDA machine it runs, for bf16 and fp16 (and 4-bit QLoRA when bitsandbytes is
installed): load the embedded model, stream, stop, train 5 LoRA steps on the shared base
while a chat streams, compare base vs adapter; then load, stream and stop the ChatGLM3
fixture (../shared/fixtures/chatglm3-tiny/model). On CPU it runs the same rows in float32
(with --model, on another base: the suite uses a tiny one to stay quick) and prints the CUDA rows as skipped, so the script is exercised by the test suite
(tests/test_gpu_check.py) and cannot rot before a GPU is lent.

Exit status: 0 when every row passed or was skipped; 1 when any row failed.

    .venv/bin/python bench/gpu_check.py [--device auto|cpu|cuda] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from core.config import Settings  # noqa: E402
from core.models.options import GenerationOptions  # noqa: E402

CHATGLM3 = REPO.parent / "shared" / "fixtures" / "chatglm3-tiny" / "model"
CHAT = [{"role": "user", "content": "Where is the Eiffel tower? 埃菲尔铁塔在哪里？"}]
RECORDS = [{"instruction": f"Question {i}: where is the tower?", "input": "", "output": "The tower is in Paris."}
           for i in range(5)]
TRAIN_STEPS = 5


@dataclass
class Row:
    group: str  # base (the embedded model, or --model) | chatglm3
    check: str
    device: str
    dtype: str
    status: str = "ok"  # ok | skipped: … | failed: …
    seconds: float | None = None
    peak_vram_gib: float | None = None
    note: str = ""


class Checker:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.failed_groups: set[tuple[str, str, str]] = set()  # a failed load skips what needs it

    def run(self, group: str, check: str, device: str, dtype: str, fn: Callable[[], str | None]) -> object:
        row = Row(group, check, device, dtype)
        self.rows.append(row)
        if (group, device, dtype) in self.failed_groups:
            row.status = "skipped: an earlier check of this model failed"
            return None
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        try:
            result = fn()
            row.note = result if isinstance(result, str) else ""
        except Exception as exc:  # noqa: BLE001 - every failure is a row, never a traceback that stops the table
            row.status = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
            traceback.print_exc(file=sys.stderr)
            if check == "load":
                self.failed_groups.add((group, device, dtype))
            result = None
        row.seconds = time.perf_counter() - started
        if device == "cuda":
            torch.cuda.synchronize()
            row.peak_vram_gib = torch.cuda.max_memory_allocated() / 2**30
        return result

    def skip(self, group: str, checks: list[str], device: str, dtype: str, reason: str) -> None:
        for check in checks:
            self.rows.append(Row(group, check, device, dtype, status=f"skipped: {reason}"))

    def table(self) -> str:
        head = ["group", "check", "device", "dtype", "status", "seconds", "peak VRAM GiB", "note"]
        body = [[r.group, r.check, r.device, r.dtype, r.status, "" if r.seconds is None else f"{r.seconds:.2f}",
                 "—" if r.peak_vram_gib is None else f"{r.peak_vram_gib:.2f}", r.note] for r in self.rows]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)

    @property
    def exit_code(self) -> int:
        return 1 if any(r.status.startswith("failed") for r in self.rows) else 0


def stream_check(engine, tokens: int = 16) -> str:
    gen = engine.stream(CHAT, GenerationOptions(max_new_tokens=tokens, temperature=0.0))
    text = gen.result()
    s = gen.stats
    if s.completion_tokens == 0:
        raise RuntimeError("no tokens were generated")
    return f"{s.completion_tokens} tokens, first after {s.first_token_seconds or 0:.2f} s, {s.tokens_per_second:.1f} tok/s; {text[:24]!r}"


def stop_check(engine) -> str:
    gen = engine.stream(CHAT, GenerationOptions(max_new_tokens=400, temperature=0.0))
    chunks = iter(gen)
    next(chunks)  # the first text arrived: now stop
    asked = time.perf_counter()
    gen.stop()
    for _ in chunks:
        pass
    if not gen.finished.wait(30):
        raise RuntimeError("the generation did not end within 30 s of Stop")
    if gen.stats.finish_reason != "cancelled" or gen.stats.completion_tokens >= 400:
        raise RuntimeError(f"finish_reason {gen.stats.finish_reason} after {gen.stats.completion_tokens} tokens")
    return f"stopped after {gen.stats.completion_tokens} tokens, {time.perf_counter() - asked:.2f} s after Stop"


def train_while_chatting(rt, name: str) -> str:
    """5 LoRA steps on the loaded base; a chat streams meanwhile and must finish during training."""
    from core.tuning.presets import preset

    data = rt.finetune.save_dataset("towers.json", json.dumps(RECORDS).encode())
    config = preset("quick", epochs=1, batch_size=1, grad_accum=1, max_records=TRAIN_STEPS, max_length=64,
                    learning_rate=1e-3, val_fraction=0.0, save_every=100)
    job = rt.finetune.start(data, name, config, dataset_name="towers.json")
    deadline = time.time() + 600
    while time.time() < deadline and rt.jobs.get(job.id).details.get("step", 0) < 1 and rt.jobs.get(job.id).active:
        time.sleep(0.02)
    chat = rt.models.engine.stream(CHAT, GenerationOptions(max_new_tokens=8, temperature=0.0))
    chat.result()
    during = rt.jobs.get(job.id)
    done = rt.jobs.wait(job.id, timeout=600)
    if done.status != "done":
        raise RuntimeError(f"training {done.status}: {done.error}")
    if done.details.get("total_steps") != TRAIN_STEPS:
        raise RuntimeError(f"{done.details.get('total_steps')} steps instead of {TRAIN_STEPS}")
    overlap = "chat answered during training" if during.active else "training ended before the chat did"
    losses = [m["loss"] for m in done.metrics if "loss" in m]
    return f"{TRAIN_STEPS} steps, loss {losses[0]:.3f}→{losses[-1]:.3f}; {chat.stats.completion_tokens} chat tokens; {overlap}"


def compare_check(rt, name: str) -> str:
    from core.compare.runs import new_run, run_all

    pool = rt.adapter_pool
    run = run_all(pool, new_run(pool, ["base", name], [CHAT[0]["content"]], GenerationOptions(max_new_tokens=8, temperature=0.0)))
    errors = [a.error for a in run.answers[0] if a.error]
    if errors or not run.complete:
        raise RuntimeError(f"compare failed: {errors}")
    return " / ".join(f"{v}: {a.tokens} tokens" for v, a in zip(run.variants, run.answers[0]))


def base_rows(c: Checker, data_dir: Path, device: str, dtype: str, spec: str, quantization: str = "none") -> None:
    from core.runtime import create_runtime

    label = dtype if quantization == "none" else f"{quantization}+{dtype}"
    settings = Settings(data_dir=data_dir / f"{device}-{label}", device=device, dtype=dtype, quantization=quantization,
                        load_on_start=False, embedding_model="hash")
    link_embedded_cache(settings, data_dir)
    rt = create_runtime(settings)
    c.run("base", "load", device, label, lambda: rt.models.load(spec) and
          f"{rt.models.engine.info.name}: {rt.models.engine.info.parameters / 1e6:.1f} M params in "
          f"{rt.models.engine.info.load_seconds:.1f} s")
    c.run("base", "stream", device, label, lambda: stream_check(rt.models.engine))
    c.run("base", "stop", device, label, lambda: stop_check(rt.models.engine))
    name = f"gpu-check-{label}".replace("+", "-")
    trained = c.run("base", "train 5 LoRA steps + chat", device, label, lambda: train_while_chatting(rt, name))
    if trained is None and (("base", device, label) not in c.failed_groups):
        c.skip("base", ["compare"], device, label, "training failed")
    else:
        c.run("base", "compare", device, label, lambda: compare_check(rt, name))
    rt.models.unload()
    release(device)


def chatglm3_rows(c: Checker, data_dir: Path, device: str, dtype: str) -> None:
    from core.models import loader, sources

    if not CHATGLM3.exists():
        c.skip("chatglm3", ["load", "stream", "stop"], device, dtype, f"fixture missing ({CHATGLM3})")
        return
    holder: dict = {}

    def load() -> str:
        settings = Settings(data_dir=data_dir / "chatglm3", device=device, dtype=dtype)
        holder["engine"] = loader.load(sources.resolve(str(CHATGLM3), settings.models_dir), device=device, dtype=dtype,
                                       trust_remote_code=settings.trust_remote_code)
        return f"{holder['engine'].info.architecture}, trust_remote_code={settings.trust_remote_code}"

    c.run("chatglm3", "load", device, dtype, load)
    c.run("chatglm3", "stream", device, dtype, lambda: stream_check(holder["engine"]))
    c.run("chatglm3", "stop", device, dtype, lambda: stop_check(holder["engine"]))
    if "engine" in holder:
        holder.pop("engine").close()
    release(device)


def link_embedded_cache(settings: Settings, data_dir: Path) -> None:
    """Reuse one converted copy of the embedded model across the runs (converting takes ~30 s)."""
    shared = data_dir / "embedded-cache"
    shared.mkdir(parents=True, exist_ok=True)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    link = settings.models_dir / "embedded"
    if not link.exists():
        link.symlink_to(shared, target_is_directory=True)


def release(device: str) -> None:
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--data-dir", type=Path, default=None, help="scratch data folder (default: a temporary one)")
    parser.add_argument("--embedded-cache", type=Path, default=None,
                        help="a folder holding an already converted embedded model (models/embedded), to skip converting")
    parser.add_argument("--model", default="embedded",
                        help="the shared base for the base rows: 'embedded' (default) or a model folder; the test suite "
                        "passes a tiny one so the CPU run stays quick")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    if args.device == "cuda" and not cuda:
        print("CUDA was asked for but no GPU is visible.", file=sys.stderr)
        return 1
    use_cuda = cuda and args.device != "cpu"
    c = Checker()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="liandan-gpu-check-"))
    if args.embedded_cache and (args.embedded_cache / "embedded").exists():
        cache = data_dir / "embedded-cache"
        if not cache.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            cache.symlink_to((args.embedded_cache / "embedded").resolve(), target_is_directory=True)
    from core.models import loader

    if use_cuda:
        name = torch.cuda.get_device_name(0)
        print(f"CUDA: {name}, {torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB; torch {torch.__version__}")
        for dtype in ("bfloat16", "float16"):
            base_rows(c, data_dir, "cuda", dtype, args.model)
        if loader.quantization_available():
            base_rows(c, data_dir, "cuda", "bfloat16", args.model, quantization="4bit")
        else:
            c.skip("base", ["load", "train 5 LoRA steps + chat"], "cuda", "4bit+bfloat16", "bitsandbytes not installed")
        for dtype in ("bfloat16", "float16"):
            chatglm3_rows(c, data_dir, "cuda", dtype)
    else:
        base_rows(c, data_dir, "cpu", "float32", args.model)
        chatglm3_rows(c, data_dir, "cpu", "float32")
        reason = "no CUDA device" if not cuda else "--device cpu"
        for dtype in ("bfloat16", "float16"):
            c.skip("base", ["load", "stream", "stop", "train 5 LoRA steps + chat", "compare"], "cuda", dtype, reason)
        c.skip("base", ["load", "train 5 LoRA steps + chat"], "cuda", "4bit+bfloat16", reason)
        for dtype in ("bfloat16", "float16"):
            c.skip("chatglm3", ["load", "stream", "stop"], "cuda", dtype, reason)
    print(c.table())
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in c.rows], ensure_ascii=False, indent=1), encoding="utf-8")
    failed = [r for r in c.rows if r.status.startswith("failed")]
    print(f"{len(c.rows)} rows: {sum(r.status == 'ok' for r in c.rows)} ok, "
          f"{sum(r.status.startswith('skipped') for r in c.rows)} skipped, {len(failed)} failed")
    return c.exit_code


if __name__ == "__main__":
    sys.exit(main())
