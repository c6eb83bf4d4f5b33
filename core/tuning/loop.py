"""The training loop itself: batching plan, loss, one optimizer step under the engine lock.

A plain torch loop rather than HF `Trainer`, because the shared model must be borrowed
one optimizer step at a time (chat runs between steps) and put back in eval mode before
the lock is released; a Trainer owns the model for the whole run.
"""

from __future__ import annotations

import math
import random
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from core.tuning.examples import IGNORE, Example
from core.tuning.presets import TrainConfig

MEGA_BATCH = 50  # micro-batches sorted together when grouping by length (as HF's LengthGroupedSampler)


def step_groups(lengths: list[int], config: TrainConfig, epoch: int) -> list[list[int]]:
    """Example indices of each optimizer step in `epoch` (seeded, so resume replays the same order).

    With length grouping, each step takes examples of similar length (sorted within
    shuffled mega-batches, as HF's LengthGroupedSampler), so little padding is needed.
    """
    rng = random.Random(config.seed * 1000 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    size = config.samples_per_step
    if config.group_by_length and size > 1:
        chunk = size * MEGA_BATCH
        grouped = []
        for start in range(0, len(order), chunk):
            grouped += sorted(order[start:start + chunk], key=lambda i: -lengths[i])
        groups = [grouped[i:i + size] for i in range(0, len(grouped), size)]
        rng.shuffle(groups)
        return groups
    return [order[i:i + size] for i in range(0, len(order), size)]


def micro_batches(group: list[int], lengths: list[int], config: TrainConfig) -> list[list[int]]:
    """Split a step's examples into forward passes of at most batch_size examples and
    token_budget padded tokens, so a batch of long examples never costs more memory than
    one example padded to max_length."""
    width = (lambda batch: config.max_length) if config.pad_to_max_length else (lambda batch: max(lengths[i] for i in batch))
    ordered = sorted(group, key=lambda i: -lengths[i]) if config.group_by_length else group
    batches: list[list[int]] = []
    for i in ordered:
        if batches and len(batches[-1]) < config.batch_size and width(batches[-1] + [i]) * (len(batches[-1]) + 1) <= config.token_budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def steps_per_epoch(n_examples: int, config: TrainConfig) -> int:
    return math.ceil(n_examples / config.samples_per_step)


def step_plan(lengths: list[int], config: TrainConfig) -> list[tuple[int, list[list[int]]]]:
    """(epoch, forward passes) for every optimizer step of the run."""
    return [(epoch, micro_batches(group, lengths, config))
            for epoch in range(config.epochs) for group in step_groups(lengths, config, epoch)]


def collate(examples: list[Example], pad_id: int, pad_to: int | None, device) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example of the batch (or to `pad_to`, the tutorial's way)."""
    width = pad_to or max(len(e) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def answer_tokens(examples: list[Example]) -> int:
    """Tokens the loss is computed on (a label predicts the next token, so the first never counts)."""
    return sum(sum(1 for x in e.labels[1:] if x != IGNORE) for e in examples)


def _split_model(model):
    """(decoder, head) when the model exposes them, so logits are computed only where needed."""
    getter = getattr(model, "get_decoder", None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    decoder = getter() if callable(getter) else None
    if decoder is None or head is None or getattr(model.config, "final_logit_softcapping", None):
        return None
    return decoder, head


def loss_sum(model, batch: dict[str, torch.Tensor], answer_only: bool) -> torch.Tensor:
    """Summed token cross-entropy over the answer tokens of a batch.

    With `answer_only` the vocabulary projection runs on answer positions only: on a
    49k-vocabulary model the full fp32 logits of a padded batch are most of the memory.
    """
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    parts = _split_model(model) if answer_only else None
    if parts is not None:
        decoder, head = parts
        hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)[0]
        logits = head(hidden[:, :-1][keep])
    else:
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)
        logits = out.logits[:, :-1][keep]
    return F.cross_entropy(logits.float(), targets[keep], reduction="sum")


def autocast_for(model):
    """bf16/fp16 autocast on CUDA (LoRA weights stay fp32); plain fp32 on CPU."""
    param = next(model.parameters())
    if param.device.type == "cuda" and param.dtype in (torch.float16, torch.bfloat16):
        return torch.autocast("cuda", dtype=param.dtype)
    return nullcontext()


def linear_schedule(optimizer, warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
