"""LoRA fine-tuning speed: the tutorial's recipe vs Liandan's batching, same LoRA and epochs.

Both runs go through the same job code on the same loaded embedded model (SmolLM2-135M),
on the first N records of huanhuan.json:
- tutorial: every example padded to 512 tokens, batch 1, gradient accumulation 8,
  logits over the full padded sequence;
- ours: dynamic padding with length grouping (batch B, accumulation 8/B, so 8 examples per
  step as well) and the vocabulary projection only on answer tokens.
Prints samples/s, the ratio (target >= 3x), final losses (ours must not be worse by > 5%,
judged on the loss of each trained adapter over all the records) and peak memory.

    .venv/bin/python bench/finetune.py [--records 256] [--epochs 3] [--batch 4]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
import torch  # noqa: E402

from core.config import Settings  # noqa: E402
from core.runtime import create_runtime  # noqa: E402
from core.tuning import datasets, loop, memory  # noqa: E402
from core.tuning.examples import encode_all  # noqa: E402
from core.tuning.presets import preset  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "huanhuan.json"
PERSONA = "现在你要扮演皇帝身边的女人--甄嬛"


class PeakMemory:
    """Peak resident memory (CPU) or allocated GPU memory while the block runs."""

    def __init__(self, cuda: bool) -> None:
        self.cuda, self.peak, self.start = cuda, 0, 0
        self._stop = threading.Event()

    def __enter__(self) -> "PeakMemory":
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
            self.start = torch.cuda.memory_allocated()
        else:
            try:
                ctypes.CDLL("libc.so.6").malloc_trim(0)  # give back what the previous run freed
            except OSError:
                pass
            self.start = psutil.Process().memory_info().rss
            threading.Thread(target=self._sample, daemon=True).start()
        return self

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.cuda:
            self.peak = torch.cuda.max_memory_allocated()

    @property
    def gb(self) -> float:
        return self.peak / 2**30

    @property
    def added_gb(self) -> float:
        return (self.peak - self.start) / 2**30


def dataset_loss(engine, name: str, examples, batch: int = 8) -> float:
    """Token-mean loss of adapter `name` over `examples` (same function for both runs)."""
    model, pad = engine.model, engine.tokenizer.pad_token_id or 0
    device = next(model.parameters()).device
    total, tokens = 0.0, 0
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]))
    with engine.lock.hold(), engine.variant(name), torch.no_grad(), loop.autocast_for(model):
        for start in range(0, len(order), batch):
            chunk = [examples[i] for i in order[start:start + batch]]
            total += float(loop.loss_sum(model, loop.collate(chunk, pad, None, device), True))
            tokens += loop.answer_tokens(chunk)
    return total / tokens


def run(rt, data_path: Path, name: str, config, cuda: bool, examples) -> dict:
    engine = rt.models.engine
    estimate = memory.estimate(engine.model, config, longest=max(len(e) for e in examples))
    with PeakMemory(cuda) as peak:
        job = rt.finetune.start(data_path, name, config, dataset_name=DATA.name)
        job = rt.jobs.wait(job.id)
    if job.status != "done":
        raise SystemExit(f"{name} failed: {job.error}")
    per_epoch = job.details["steps_per_epoch"]
    losses = [m["loss"] for m in job.metrics if "loss" in m]
    return {
        "samples_per_second": job.details["samples_per_second"],
        "seconds": rt.adapters.get(name).duration_seconds,
        "last_epoch_loss": sum(losses[-per_epoch:]) / per_epoch,
        "dataset_loss": dataset_loss(engine, name, examples),
        "peak_gb": peak.gb,
        "added_gb": peak.added_gb,
        "estimate_gb": estimate.need_gb,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4, help="our micro-batch (accumulation = 8 / batch)")
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0 = torch's default); on a shared, oversubscribed machine 1 is steadier")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not DATA.exists():
        print(f"skipped: {DATA} is absent (it ships in ../shared, opt-in data).")
        return 0
    records = json.loads(DATA.read_text(encoding="utf-8"))[: args.records]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "models").symlink_to(REPO / "data" / "models", target_is_directory=True)  # reuse the converted model
        rt = create_runtime(Settings(data_dir=home, model=args.model, load_on_start=False, embedding_model="hash"))
        engine = rt.models.load(args.model)
        cuda = next(engine.model.parameters()).device.type == "cuda"
        data_path = rt.finetune.save_dataset(DATA.name, json.dumps(records, ensure_ascii=False).encode())
        common = dict(epochs=args.epochs, system_prompt=PERSONA, val_fraction=0.0, save_every=10**6)
        tutorial = preset("tutorial", batch_size=1, grad_accum=8, pad_to_max_length=True, group_by_length=False,
                          answer_only_logits=False, **common)
        ours = preset("tutorial", batch_size=args.batch, grad_accum=max(1, 8 // args.batch), **common)
        dataset = datasets.parse(DATA.name, data_path.read_bytes())
        examples = encode_all(engine.tokenizer, engine.model_type, dataset, PERSONA, 512)
        lengths = sorted(len(e) for e in examples)
        print(f"{engine.info.name} on {engine.info.device} ({engine.info.dtype}), torch threads {torch.get_num_threads()}, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
              f"{len(records)} records, tokens per example: median {lengths[len(lengths) // 2]}, max {lengths[-1]}; "
              f"LoRA r={ours.rank} alpha={ours.alpha} dropout={ours.dropout}, lr {ours.learning_rate}, {args.epochs} epoch(s)")
        results = {}
        for label, config in (("tutorial", tutorial), ("ours", ours)):
            print(f"running {label}: batch {config.batch_size} x accumulation {config.grad_accum}, "
                  f"{'pad to 512' if config.pad_to_max_length else 'dynamic padding + length grouping'} …", flush=True)
            results[label] = run(rt, data_path, label, config, cuda, examples)
            r = results[label]
            print(f"  {r['samples_per_second']:.3f} samples/s in {r['seconds']:.0f} s; last-epoch train loss "
                  f"{r['last_epoch_loss']:.4f}; loss over the records {r['dataset_loss']:.4f}; peak "
                  f"{'GPU allocated' if cuda else 'RSS'} {r['peak_gb']:.2f} GB (+{r['added_gb']:.2f} GB during training; "
                  f"preflight estimate +{r['estimate_gb']:.2f} GB)", flush=True)
    base, fast = results["tutorial"], results["ours"]
    ratio = fast["samples_per_second"] / base["samples_per_second"]
    worse = fast["dataset_loss"] / base["dataset_loss"] - 1
    print(f"\nspeed: ours {fast['samples_per_second']:.3f} vs tutorial {base['samples_per_second']:.3f} samples/s "
          f"= {ratio:.2f}x (target >= 3x) {'PASS' if ratio >= 3 else 'FAIL'}")
    print(f"loss over the records: ours {fast['dataset_loss']:.4f} vs tutorial {base['dataset_loss']:.4f} "
          f"({worse:+.1%}; must not be worse by > 5%) {'PASS' if worse <= 0.05 else 'FAIL'}")
    print(f"peak memory: ours {fast['peak_gb']:.2f} GB (+{fast['added_gb']:.2f}) vs tutorial {base['peak_gb']:.2f} GB "
          f"(+{base['added_gb']:.2f}) = {fast['added_gb'] / max(base['added_gb'], 1e-9):.2f}x the memory training added")
    return 0 if ratio >= 3 and worse <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
