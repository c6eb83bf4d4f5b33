"""LoRA training as a background job on the shared engine's base weights.

The adapter is added to the one loaded model (no second copy); each optimizer step
borrows the model under the engine lock and hands it back in eval mode, so chat answers
between steps. Checkpoints (adapter, optimizer, scheduler, RNG, step) let an interrupted
or cancelled job resume where it stopped, with its loss curve continuing.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from core.errors import Cancelled, UserError
from core.jobs import JobContext
from core.models.capabilities import Trainable, require_trainable
from core.tuning import datasets, loop
from core.adapters.store import SNAPSHOT_SEP, AdapterCard, AdapterStore, fingerprint, validate_name
from core.tuning.examples import Example, encode_all
from core.tuning.presets import TrainConfig
from core.i18n import msg

log = logging.getLogger(__name__)
JOB_KIND = "finetune"
CHECKPOINT = "checkpoint.pt"
LOSS_WINDOW = 10  # steps averaged into the card's final train loss
CARD_METRICS = 200  # most metric points kept on an adapter card (the curves, evenly thinned)


@dataclass
class Prepared:
    """Encoded examples of one run, rebuilt identically on resume."""

    dataset: datasets.Dataset
    train: list[Example]
    val: list[Example]
    dropped: int  # records with no answer token left after truncation


def prepare(engine: Trainable, dataset: datasets.Dataset, config: TrainConfig) -> Prepared:
    dataset.require_valid()
    if config.max_records:
        dataset.records, dataset.lines = dataset.records[: config.max_records], dataset.lines[: config.max_records]
    examples = encode_all(engine.tokenizer, engine.model_type, dataset, config.system_prompt, config.max_length)
    usable = [e for e in examples if loop.answer_tokens([e]) > 0]
    if not usable:
        raise UserError("errors.train.every_record_cut_before")
    train_idx, val_idx = datasets.split(len(usable), config.val_fraction, config.seed)
    return Prepared(dataset, [usable[i] for i in train_idx], [usable[i] for i in val_idx], len(examples) - len(usable))


def check_name(name: str) -> str:
    name = validate_name(name)
    if "." in name or "@" in name:  # '@step' names the run's checkpoints
        raise UserError("errors.train.adapter_being_trained_name", name=name)
    return name


class TrainingRun:
    """One run of one job: owns the optimizer, talks to the engine only under its lock."""

    def __init__(self, engine: Trainable, store: AdapterStore, ctx: JobContext, run_dir: Path) -> None:
        self.engine: Trainable = require_trainable(engine)
        self.store, self.ctx, self.run_dir = store, ctx, run_dir
        params = ctx.job.params
        self.name: str = params["name"]
        self.config = TrainConfig(**params["config"])
        self.dataset_path = Path(params["dataset"])
        self.dataset_name: str = params.get("dataset_name", self.dataset_path.name)
        self.cancel = ctx.cancel_event

    # --- setup -------------------------------------------------------------------
    def _load_data(self) -> Prepared:
        if not self.dataset_path.exists():
            raise UserError("errors.train.dataset_file_job_gone", name=self.dataset_path.name)
        dataset = datasets.parse(self.dataset_name, self.dataset_path.read_bytes())
        return prepare(self.engine, dataset, self.config)

    def _add_adapter(self) -> list[torch.nn.Parameter]:
        from peft import LoraConfig

        targets = self.config.target_modules or self.engine.default_lora_targets()
        self.config = self.config.model_copy(update={"target_modules": targets})
        lora = LoraConfig(r=self.config.rank, lora_alpha=self.config.alpha, lora_dropout=self.config.dropout,
                          target_modules=targets, task_type="CAUSAL_LM")
        self.engine.add_trainable_adapter(self.name, lora)
        self.params = self.engine.adapter_parameters(self.name)
        if not self.params:
            raise UserError(
                msg("errors.train.layer_matched_lora_target"),
                msg("errors.train.layer_matched_lora_target.hint", value=', '.join(self.engine.lora_candidates())),
            )
        for p in self.params.values():
            p.data = p.data.float()
            p.requires_grad_(True)
        return list(self.params.values())

    # --- checkpoints -------------------------------------------------------------
    def _save_checkpoint(self, step: int, optimizer, scheduler, elapsed: float) -> None:
        state = {
            "step": step,
            "adapter": {n: p.detach().cpu().clone() for n, p in self.params.items()},
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "python_rng": random.getstate(),
            "elapsed": elapsed,
        }
        tmp = self.run_dir / (CHECKPOINT + ".tmp")
        torch.save(state, tmp)
        tmp.replace(self.run_dir / CHECKPOINT)
        self.ctx.report(checkpoint_step=step)

    def _load_checkpoint(self, optimizer, scheduler) -> tuple[int, float]:
        path = self.run_dir / CHECKPOINT
        if not path.exists():
            self._keep_metrics_until(0)  # a restart before the first checkpoint starts over
            return 0, 0.0
        state = torch.load(path, map_location="cpu", weights_only=False)
        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(state["adapter"][n].to(p.device))
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        random.setstate(state["python_rng"])
        step = int(state["step"])
        self._keep_metrics_until(step)
        return step, float(state["elapsed"])

    def _keep_metrics_until(self, step: int) -> None:
        """The curve continues from the checkpoint: points recorded after it are redone, not duplicated."""
        self.ctx.keep_metrics(lambda m: m.get("step", 0) <= step)

    # --- the loop ----------------------------------------------------------------
    def _step(self, micro: list[list[Example]], optimizer, scheduler, scaler) -> tuple[float, float]:
        """One optimizer step over `micro` batches, holding the engine exclusively: (loss, gradient norm before clipping)."""
        denominator = self._loss_denominator(micro)
        total = 0.0
        with self.engine.training_step(self.name, self.cancel) as model:
            device = next(model.parameters()).device
            for examples in micro:
                with loop.autocast_for(model):
                    loss = self._batch_loss(model, examples, device) / denominator
                scaler.scale(loss).backward()
                total += float(loss.detach())
            scaler.unscale_(optimizer)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params.values(), 1.0))
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        return total, grad_norm

    def _loss_denominator(self, micro: list[list[Example]]) -> int:
        """What the step's summed loss is divided by: the answer tokens of all its micro-batches."""
        return max(1, sum(loop.answer_tokens(b) for b in micro))

    def _batch_loss(self, model, examples: list[Example], device) -> torch.Tensor:
        """The summed loss of one micro-batch (a preference run overrides this with its pair loss)."""
        pad_id = self.engine.tokenizer.pad_token_id or 0
        pad_to = self.config.max_length if self.config.pad_to_max_length else None
        batch = loop.collate(examples, pad_id, pad_to, device)
        return loop.loss_sum(model, batch, self.config.answer_only_logits)

    def _validate(self, val: list[Example]) -> float | None:
        if not val:
            return None
        pad_id = self.engine.tokenizer.pad_token_id or 0
        loss, tokens = 0.0, 0
        grouped = self.config.model_copy(update={"group_by_length": True, "pad_to_max_length": False})
        for indices in loop.micro_batches(list(range(len(val))), [len(e) for e in val], grouped):
            examples = [val[i] for i in indices]
            with self.engine.evaluation(self.name, self.cancel) as model, torch.no_grad(), loop.autocast_for(model):
                batch = loop.collate(examples, pad_id, None, next(model.parameters()).device)
                loss += float(loop.loss_sum(model, batch, True))
            tokens += loop.answer_tokens(examples)
        return loss / max(1, tokens)

    def run(self) -> None:
        engine, ctx, cfg = self.engine, self.ctx, self.config
        expected = ctx.job.params.get("base_fingerprint")
        if expected and expected != fingerprint(engine.base_config):
            raise UserError("errors.train.loaded_model_one_job")
        ctx.report(0.0, msg("job.train.preparing_dataset"))
        data = self._load_data()
        lengths = [len(e) for e in data.train]
        plan = loop.step_plan(lengths, cfg)
        total = len(plan)
        torch.manual_seed(cfg.seed)  # the same LoRA initialisation for the same settings
        params = self._add_adapter()
        cuda = params[0].device.type == "cuda"
        if cuda:
            engine.gradient_checkpointing(True)
        optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
        scheduler = loop.linear_schedule(optimizer, int(total * cfg.warmup_ratio), total)
        fp16 = cuda and next(engine.base_model().parameters()).dtype == torch.float16
        scaler = torch.amp.GradScaler("cuda", enabled=fp16)
        start_step, elapsed_before = self._load_checkpoint(optimizer, scheduler)
        ctx.report(
            start_step / total,
            msg("job.train.training_steps", total=total),
            total_steps=total,
            train_records=len(data.train),
            val_records=len(data.val),
            dropped_records=data.dropped,
            steps_per_epoch=loop.steps_per_epoch(len(lengths), cfg),
        )
        started, samples, completed = time.perf_counter(), 0, start_step
        per_epoch = loop.steps_per_epoch(len(lengths), cfg)
        eval_every = max(1, min(cfg.save_every, math.ceil(total / 10)))
        try:
            for step in range(start_step, total):
                if self.cancel.is_set():
                    raise Cancelled()
                epoch, micro_idx = plan[step]
                micro = [[data.train[i] for i in batch] for batch in micro_idx]
                loss, grad_norm = self._step(micro, optimizer, scheduler, scaler)
                completed = step + 1
                samples += sum(len(b) for b in micro)
                spent = time.perf_counter() - started
                rate = samples / spent if spent > 0 else 0.0
                eta = spent / (completed - start_step) * (total - completed)
                ctx.metric(step=completed, epoch=round(completed / per_epoch, 3), loss=round(loss, 5),
                           lr=scheduler.get_last_lr()[0], grad_norm=round(grad_norm, 5) if math.isfinite(grad_norm) else None)
                if data.val and (completed % eval_every == 0 or completed == total):
                    ctx.metric(step=completed, val_loss=round(self._validate(data.val), 5))
                ctx.report(
                    completed / total,
                    msg("job.train.step_epoch_samples_s", completed=completed, total=total, epoch=epoch + 1, epochs=cfg.epochs, rate=rate),
                    step=completed,
                    epoch=epoch + 1,
                    samples_per_second=round(rate, 3),
                    eta_seconds=round(eta, 1),
                )
                if completed % cfg.save_every == 0 and completed < total:
                    self._save_checkpoint(completed, optimizer, scheduler, elapsed_before + spent)
                if cfg.snapshot_every and completed % cfg.snapshot_every == 0 and completed < total:
                    self._save_snapshot(data, completed, elapsed_before + spent)
            self._finish(data, total, elapsed_before + time.perf_counter() - started)
        except BaseException:
            # A cancel keeps the work done so far (steps are whole: cancel is only seen between them);
            # after a crash or restart the job resumes from the last periodic checkpoint.
            if self.cancel.is_set() and completed > start_step:
                self._save_checkpoint(completed, optimizer, scheduler, elapsed_before + time.perf_counter() - started)
            self._remove_adapter()
            raise
        finally:
            if cuda:
                engine.gradient_checkpointing(False)

    def _remove_adapter(self) -> None:
        try:
            self.engine.remove_adapter(self.name)
        except Exception:  # noqa: BLE001 - freeing memory must not hide the real error
            log.exception("could not remove adapter %s after a stopped run", self.name)

    # --- result ------------------------------------------------------------------
    def _card_extra(self, data: Prepared) -> dict:
        """What a kind of run adds to its card (a DPO run: its parent and vote set)."""
        return {}

    def _finish(self, data: Prepared, steps: int, duration: float) -> None:
        engine = self.engine
        if self.store.exists(self.name):
            raise UserError("errors.train.adapter_named_appeared_while", name=self.name)
        snapshots = sorted((c.name for c in self.store.list() if c.extra.get("checkpoint_of") == self.name and c.extra.get("job") == self.ctx.job.id),
                           key=lambda n: int(n.rsplit(SNAPSHOT_SEP, 1)[1]))
        card = self._write_adapter(self.name, data, steps, duration, {"snapshots": snapshots} if snapshots else {})
        engine.register_adapter(self.name, self.store.path(self.name))
        (self.run_dir / CHECKPOINT).unlink(missing_ok=True)
        self.ctx.set_result(adapter=self.name, train_loss=card.train_loss, val_loss=card.val_loss, steps=steps,
                            duration_seconds=card.duration_seconds)
        self.ctx.report(1.0, msg("job.train.saved_adapter", name=self.name))

    def _save_snapshot(self, data: Prepared, step: int, duration: float) -> None:
        """The adapter as it is now, as its own adapter `name@stepN`.

        A resumed job replays the same steps exactly, so a snapshot this job already wrote is kept."""
        name = f"{self.name}{SNAPSHOT_SEP}{step}"
        if self.store.exists(name) and self.store.get(name).extra.get("job") == self.ctx.job.id:
            return
        self._write_adapter(name, data, step, duration, {"checkpoint_of": self.name, "step": step})

    def _write_adapter(self, name: str, data: Prepared, steps: int, duration: float, extra: dict) -> AdapterCard:
        """The training adapter's weights and card as adapter `name`: staged, then one rename."""
        engine = self.engine
        staging = self.store.folder / f".{name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        engine.save_adapter(self.name, staging)
        metrics = [m for m in self.ctx.job.metrics if m.get("step", 0) <= steps]
        losses = [m["loss"] for m in metrics if "loss" in m]
        vals = [m["val_loss"] for m in metrics if m.get("val_loss") is not None]
        card = AdapterCard(
            name=name,
            base_model=engine.info.source or engine.info.name,
            base_fingerprint=fingerprint(engine.base_config),
            system_prompt=self.config.system_prompt,
            chat_template=engine.tokenizer.chat_template or "",
            dataset=data.dataset.card_info() | {"train_records": len(data.train), "val_records": len(data.val)},
            hyperparameters=self.config.model_dump(),
            steps=steps,
            train_loss=round(sum(losses[-LOSS_WINDOW:]) / len(losses[-LOSS_WINDOW:]), 5) if losses else None,
            val_loss=vals[-1] if vals else None,
            duration_seconds=round(duration, 1),
            extra={"base_name": engine.info.name, "job": self.ctx.job.id, "metrics": thin(metrics, CARD_METRICS)}
            | self._card_extra(data) | extra,
        )
        (staging / "adapter.json").write_text(json.dumps(asdict(card), ensure_ascii=False, indent=1), encoding="utf-8")
        target = self.store.path(name)
        if target.exists():  # a snapshot left by an older, deleted job of the same name; never the final adapter (checked above)
            if name in engine.adapter_names():
                engine.unload_adapter(name)
            shutil.rmtree(target)
        staging.rename(target)
        return card


def thin(points: list[dict], most: int) -> list[dict]:
    """At most `most` points, evenly spaced, always keeping the last (a card's curve stays small)."""
    if len(points) <= most:
        return list(points)
    every = math.ceil(len(points) / most)
    kept = points[::every]
    return kept if kept[-1] is points[-1] else [*kept, points[-1]]
