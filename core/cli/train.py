"""`python -m core train`: train a LoRA adapter from a dataset file, same job as the page."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from core.cli.common import load_engine, runtime_for
from core.config import Settings
from core.errors import UserError
from core.tuning import datasets
from core.tuning.presets import PRESETS, preset

OVERRIDES = ("epochs", "learning_rate", "rank", "alpha", "dropout", "max_length", "batch_size", "grad_accum",
             "val_fraction", "max_records", "save_every", "system_prompt")


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="Fine-tune a LoRA adapter on a dataset (.json/.jsonl/.csv).")
    p.add_argument("--data", type=Path, help="Dataset file: alpaca, messages or ShareGPT records.")
    p.add_argument("--name", help="Name of the adapter to create.")
    p.add_argument("--resume", metavar="JOB_ID", help="Continue a cancelled or interrupted job from its checkpoint.")
    p.add_argument("--preset", choices=[k for k in PRESETS if k != "custom"], default="quick")
    p.add_argument("--model", help="embedded | a folder | a ModelScope id (default: LIANDAN_MODEL)")
    p.add_argument("--system-prompt", dest="system_prompt", help="Persona the adapter is trained with.")
    p.add_argument("--epochs", type=int)
    p.add_argument("--learning-rate", dest="learning_rate", type=float)
    p.add_argument("--rank", type=int)
    p.add_argument("--alpha", type=int)
    p.add_argument("--dropout", type=float)
    p.add_argument("--max-length", dest="max_length", type=int)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--grad-accum", dest="grad_accum", type=int)
    p.add_argument("--val-fraction", dest="val_fraction", type=float)
    p.add_argument("--max-records", dest="max_records", type=int)
    p.add_argument("--save-every", dest="save_every", type=int)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.resume:
        rt = runtime_for(args.model)
        load_engine(rt.models, rt.settings.model)
        return follow(rt, rt.finetune.resume(args.resume).id)
    if args.data is None or not args.name:
        raise UserError("errors.train.data_name_required")
    if not args.data.is_file():
        raise UserError("errors.train.does_exist", data=args.data)
    # Refused from its size before it is read: parsing a 1 GB file took 4.5 GB of memory first.
    dataset = datasets.load(args.data, max_bytes=Settings(load_on_start=False).max_upload_mb * 1_000_000)
    if dataset.problems:
        for problem in dataset.problems:
            print(f"{args.data.name}: {problem}", file=sys.stderr)
        dataset.require_valid()
    config = preset(args.preset, **{k: getattr(args, k) for k in OVERRIDES})
    rt = runtime_for(args.model)
    load_engine(rt.models, rt.settings.model)
    path = rt.finetune.save_dataset(args.data.name, args.data.read_bytes())
    job = rt.finetune.start(path, args.name, config, dataset_name=args.data.name)
    print(f"{len(dataset.records)} records ({dataset.format}); training '{args.name}' (job {job.id}). Ctrl-C cancels.")
    return follow(rt, job.id)


def follow(rt, job_id: str) -> int:
    """Show the job as a progress bar until it ends; Ctrl-C cancels and keeps the checkpoint."""
    bar = tqdm(total=1, unit="step", dynamic_ncols=True)
    try:
        while True:
            job = rt.jobs.wait(job_id, timeout=1.0)
            total = job.details.get("total_steps")
            if total and bar.total != total:
                bar.total = total
            bar.n = job.details.get("step", 0)
            last = next((m for m in reversed(job.metrics) if "loss" in m), None)
            bar.set_postfix_str(f"loss {last['loss']:.4f} · {job.details.get('samples_per_second', 0):.2f} samples/s" if last else job.message)
            bar.refresh()
            if not job.active:
                break
    except KeyboardInterrupt:
        rt.jobs.cancel(job_id)
        job = rt.jobs.wait(job_id)
    bar.close()
    if job.status == "done":
        card = rt.adapters.get(job.result["adapter"])
        print(f"Saved adapter '{card.name}' to {rt.adapters.path(card.name)}: {card.steps} steps, "
              f"train loss {_loss(card.train_loss)}, validation loss {_loss(card.val_loss, 'none (no validation slice)')}, "
              f"{card.duration_seconds:.0f} s.")
        return 0
    print(f"Training {job.status}. {job.error}".strip(), file=sys.stderr)
    if job.status in ("cancelled", "interrupted"):
        print(f"The last checkpoint is kept; resume job {job.id} from the Fine-tune page.", file=sys.stderr)
    return 1


def _loss(value: float | None, absent: str = "none") -> str:
    """A loss for the summary line; a missing one is said in words, never printed as None."""
    return absent if value is None else f"{value:.4f}"
