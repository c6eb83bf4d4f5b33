"""Memory preflight: what training will add on top of the loaded model, against what is free.

The base weights are already in memory (training reuses them), so the estimate covers
the LoRA weights with their gradients and Adam state, the activations kept for the
backward pass, and the vocabulary projection (logits), which dominates on small models
with large vocabularies. It is a rough upper bound meant to warn before minutes are lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil
import torch

from core.tuning.presets import TrainConfig, target_modules

GB = 2**30
HEADROOM = 0.9  # keep 10% of free memory for chat
SLACK = 1.15  # allocator overhead; calibrated against bench/finetune.py's measured peaks


@dataclass(frozen=True)
class MemoryEstimate:
    device: str
    need_gb: float
    available_gb: float
    parts_gb: dict[str, float]

    @property
    def fits(self) -> bool:
        return self.need_gb <= self.available_gb * HEADROOM


def available_bytes(device: str) -> int:
    if device.startswith("cuda") and torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return free
    return psutil.virtual_memory().available


def lora_parameters(model, config: TrainConfig) -> int:
    targets = set(config.target_modules or target_modules(model))
    count = 0
    for name, module in model.named_modules():
        parts = name.split(".")
        leaf = parts[-2] if parts[-1] == "base_layer" and len(parts) > 1 else parts[-1]  # seen through LoRA wrappers
        if isinstance(module, torch.nn.Linear) and "lora_" not in name and leaf in targets:
            count += config.rank * (module.in_features + module.out_features)
    return count


def estimate(model, config: TrainConfig, longest: int, answer_tokens_per_batch: int | None = None,
             device: str | None = None) -> MemoryEstimate:
    """Bytes training needs beyond the loaded weights, for examples up to `longest` tokens.

    `device`: where the weights will be, for a weightless (meta-device) model that is not loaded yet."""
    cfg = model.config
    device = device or str(next(model.parameters()).device)
    cuda = device.startswith("cuda")
    act_bytes = 2 if cuda else 4
    hidden = getattr(cfg, "hidden_size", 1024)
    layers = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "num_layers", 12)
    inter = getattr(cfg, "intermediate_size", None) or getattr(cfg, "ffn_hidden_size", 4 * hidden)
    heads = getattr(cfg, "num_attention_heads", 8)
    vocab = getattr(cfg, "vocab_size", None) or getattr(cfg, "padded_vocab_size", 32000)
    length = config.max_length if config.pad_to_max_length else min(config.max_length, longest)
    batch = max(1, min(config.batch_size, config.token_budget // length))
    tokens = batch * length
    # Kept for backward per token and layer: norms, projections' inputs and LoRA-dropout copies (~20 hidden),
    # the MLP's intermediate tensors (~8 intermediate); attention weights per head (eager/math path).
    per_layer = tokens * (20 * hidden + 8 * inter) * act_bytes + 2 * batch * heads * length * length * act_bytes
    # With gradient checkpointing (CUDA) only each layer's input is kept, plus one layer's full activations.
    activations = layers * tokens * hidden * act_bytes + per_layer if cuda else layers * per_layer
    logit_tokens = tokens if not config.answer_only_logits else min(tokens, answer_tokens_per_batch or tokens)
    logits = logit_tokens * vocab * 4 * 4  # fp32 logits, log-softmax, their gradients
    lora = lora_parameters(model, config) * 16  # fp32 weight, gradient, two Adam moments
    parts = {"lora": lora / GB, "activations": activations * SLACK / GB, "logits": logits * SLACK / GB}
    return MemoryEstimate(device, sum(parts.values()), available_bytes(device) / GB, parts)
