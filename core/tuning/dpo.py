"""Preference training (DPO) as a Fine-tune job: a new adapter learns to prefer the chosen answers.

Loss (Rafailov et al. 2023, the "sigmoid" loss of TRL's DPOTrainer):
    -log σ(β · [(log π(chosen) − log π_ref(chosen)) − (log π(rejected) − log π_ref(rejected))])
summed over answer tokens. The reference π_ref is the parent: the new adapter starts as an
exact copy of the parent adapter's weights, so its log-probabilities before the first step
*are* the parent's; they are computed once, before training (TRL's `precompute_ref_log_probs`)
and again on resume (a checkpoint holds trained weights, not the parent's). With no parent
the reference is the base itself, with the adapter disabled (a true bypass, not a LoRA at zero).

Why not TRL's DPOTrainer: it is an HF `Trainer`, which owns the model for the whole run; here
the one shared model is borrowed per optimizer step so Chat answers between steps (see
`core.tuning.loop`). Everything else (step plan, checkpoints, cancel/resume, progress, loss
curve, card) is `TrainingRun`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from core.errors import UserError
from core.i18n import msg
from core.tuning import datasets, loop, pairs, preferences
from core.adapters.pool import engine_fingerprint, is_base
from core.adapters.store import AdapterStore
from core.tuning.examples import IGNORE, Example, encode
from core.tuning.presets import TrainConfig
from core.tuning.train import Prepared, TrainingRun

REFERENCE_BATCH = 4  # pairs per forward pass when computing the reference log-probabilities
MAX_CARD_PROMPTS = 200  # prompts kept on the card for a re-compare


@dataclass
class PairExample:
    """One encoded pair and, once computed, the reference's log-probabilities of both answers."""

    chosen: Example
    rejected: Example
    ref_chosen: float = 0.0
    ref_rejected: float = 0.0

    def __len__(self) -> int:  # for the step plan's token budget: the longer of the two rows
        return max(len(self.chosen), len(self.rejected))


def _encode(engine, pair: dict[str, str], answer: str, config: TrainConfig) -> Example:
    messages = datasets.with_system([{"role": "user", "content": pair["prompt"]}], config.system_prompt)
    return encode(engine.tokenizer, engine.model_type, [*messages, {"role": "assistant", "content": answer}],
                  config.max_length)


def prepare_pairs(engine, pairset: pairs.PairSet, config: TrainConfig) -> Prepared:
    """Encode each pair as chat will prompt it (the persona first); a pair cut before either answer is dropped."""
    pairset.require_valid()
    chosen = pairset.pairs[: config.max_records or None]
    encoded = [PairExample(_encode(engine, p, p["chosen"], config), _encode(engine, p, p["rejected"], config))
               for p in chosen]
    usable = [e for e in encoded if loop.answer_tokens([e.chosen]) and loop.answer_tokens([e.rejected])]
    if not usable:
        raise UserError(msg("pref.all_cut"), msg("pref.all_cut.hint"))
    train_idx, val_idx = datasets.split(len(usable), config.val_fraction, config.seed)
    return Prepared(pairset, [usable[i] for i in train_idx], [usable[i] for i in val_idx], len(encoded) - len(usable))


def check(engine, store: AdapterStore, path: Path, name: str, config: TrainConfig) -> TrainConfig:
    """Refuse what a user can fix before the job starts; returns the config the job runs with
    (the parent's persona when none was typed, so the pairs are prompted as they were voted on)."""
    parent = "" if is_base(config.parent) else config.parent
    if parent:
        card = store.get(parent)
        if card.base_fingerprint != engine_fingerprint(engine):
            raise UserError(msg("pref.parent_other_base", parent=parent, base=card.base_model),
                            msg("pref.parent_other_base.hint"))
        if not (store.path(parent) / "adapter_model.safetensors").exists():
            raise UserError(msg("pref.parent_no_weights", parent=parent), msg("pref.parent_no_weights.hint"))
        if not config.system_prompt and card.system_prompt:
            config = config.model_copy(update={"system_prompt": card.system_prompt})
    config = config.model_copy(update={"parent": parent})
    prepare_pairs(engine, pairs.parse(name, path.read_bytes()), config)
    return config


def sequence_logps(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed log-probability of each row's answer tokens (shape [rows]); the vocabulary
    projection runs on answer positions only, as `loop.loss_sum` does."""
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    parts = loop._split_model(model)
    if parts is not None:
        decoder, head = parts
        hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)[0]
        logits = head(hidden[:, :-1][keep])
    else:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits[:, :-1][keep]
    token_logps = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets[keep].unsqueeze(-1)).squeeze(-1)
    rows = torch.arange(targets.shape[0], device=targets.device).unsqueeze(1).expand_as(targets)[keep]
    return torch.zeros(targets.shape[0], device=token_logps.device, dtype=token_logps.dtype).index_add(0, rows, token_logps)


def dpo_loss(chosen: torch.Tensor, rejected: torch.Tensor, ref_chosen: torch.Tensor, ref_rejected: torch.Tensor,
             beta: float) -> torch.Tensor:
    """Per-pair sigmoid DPO loss."""
    return -F.logsigmoid(beta * ((chosen - ref_chosen) - (rejected - ref_rejected)))


class DpoRun(TrainingRun):
    """A TrainingRun whose examples are pairs and whose loss is DPO against the parent."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.parent = self.config.parent
        self.data: Prepared | None = None

    def _load_data(self) -> Prepared:
        if not self.dataset_path.exists():
            raise UserError(msg("pref.file_gone", name=self.dataset_path.name), msg("pref.file_gone.hint"))
        self.data = prepare_pairs(self.engine, pairs.parse(self.dataset_name, self.dataset_path.read_bytes()), self.config)
        return self.data

    def _add_adapter(self) -> list[torch.nn.Parameter]:
        if self.parent:
            self._match_parent_shape()
        params = super()._add_adapter()
        if self.parent:
            self._copy_parent_weights()
        self._reference(self.data.train + self.data.val)
        return params

    def _match_parent_shape(self) -> None:
        from peft import LoraConfig

        parent = LoraConfig.from_pretrained(str(self.store.path(self.parent)))
        self.config = self.config.model_copy(update={"rank": parent.r, "alpha": parent.lora_alpha,
                                                     "target_modules": sorted(parent.target_modules)})

    def _copy_parent_weights(self) -> None:
        from safetensors.torch import load_file

        state = load_file(str(self.store.path(self.parent) / "adapter_model.safetensors"))
        if self.engine.load_adapter_state(self.name, state):
            raise UserError(msg("pref.parent_not_lora", parent=self.parent), msg("pref.parent_not_lora.hint"))

    def _reference(self, examples: list[PairExample]) -> None:
        """The parent's (or base's) log-probabilities of every answer, without dropout or gradients."""
        pad_id = self.engine.tokenizer.pad_token_id or 0
        for start in range(0, len(examples), REFERENCE_BATCH):
            chunk = examples[start:start + REFERENCE_BATCH]
            self.ctx.report(0.0, msg("pref.reference", done=start, total=len(examples)))
            with self.engine.evaluation(self.name, self.cancel, adapter_off=not self.parent) as model, torch.no_grad():
                batch = loop.collate([e.chosen for e in chunk] + [e.rejected for e in chunk], pad_id, None,
                                     next(model.parameters()).device)
                with loop.autocast_for(model):
                    logps = sequence_logps(model, batch)
            for i, e in enumerate(chunk):
                e.ref_chosen, e.ref_rejected = float(logps[i]), float(logps[len(chunk) + i])

    def _pair_loss(self, model, examples: list[PairExample], device) -> torch.Tensor:
        pad_id = self.engine.tokenizer.pad_token_id or 0
        batch = loop.collate([e.chosen for e in examples] + [e.rejected for e in examples], pad_id, None, device)
        logps = sequence_logps(model, batch)
        n = len(examples)
        refs = torch.tensor([[e.ref_chosen, e.ref_rejected] for e in examples], device=logps.device, dtype=logps.dtype)
        return dpo_loss(logps[:n], logps[n:], refs[:, 0], refs[:, 1], self.config.beta).sum()

    def _loss_denominator(self, micro: list[list[PairExample]]) -> int:
        return sum(len(b) for b in micro)  # the step's mean loss per pair

    def _batch_loss(self, model, examples: list[PairExample], device) -> torch.Tensor:
        return self._pair_loss(model, examples, device)

    def _validate(self, val: list[PairExample]) -> float | None:
        if not val:
            return None
        loss = 0.0
        for start in range(0, len(val), REFERENCE_BATCH):
            with self.engine.evaluation(self.name, self.cancel) as model, torch.no_grad(), loop.autocast_for(model):
                loss += float(self._pair_loss(model, val[start:start + REFERENCE_BATCH], next(model.parameters()).device))
        return loss / len(val)

    def _card_extra(self, data: Prepared) -> dict:
        return {"method": "dpo", "parent": self.parent or "base", "vote_set_sha256": data.dataset.sha256,
                "beta": self.config.beta, "train_prompts": data.dataset.prompts()[:MAX_CARD_PROMPTS],
                "heldout_prompts": preferences.read_heldout(self.dataset_path)[:MAX_CARD_PROMPTS]}
