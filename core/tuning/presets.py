"""Training settings, validated once, and the presets users start from.

"Tutorial recipe" is the values of the ChatGLM3 huanhuan tutorial; "Quick demo" finishes
in minutes on CPU with the embedded model; "Custom" starts from the tutorial values;
"DPO" trains on preference pairs (votes) instead of answers, see `core.tuning.dpo`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Documented layer names per family; anything else is found by scanning the model.
KNOWN_TARGETS = {
    "chatglm": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
    "glm": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"],  # GLM-4 and converted ChatGLM3
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}
HEADS = ("lm_head", "output_layer", "embed_out")


class TrainConfig(BaseModel):
    """Everything that decides how an adapter is trained; stored on its card."""

    model_config = ConfigDict(extra="forbid")

    preset: Literal["quick", "tutorial", "custom", "dpo"] = "tutorial"
    rank: int = Field(16, ge=1, le=256)
    alpha: int = Field(32, ge=1, le=1024)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=list, description="Empty: detected from the architecture.")
    max_length: int = Field(512, ge=16, le=32768)
    epochs: int = Field(3, ge=1, le=100)
    learning_rate: float = Field(2e-4, gt=0.0, le=1.0)
    batch_size: int = Field(1, ge=1, le=256, description="Most examples per forward pass.")
    batch_tokens: int = Field(0, ge=0, description="Most padded tokens per forward pass; 0 = max_length, the memory "
                              "of one example padded to max_length (the tutorial's footprint).")
    grad_accum: int = Field(8, ge=1, le=1024, description="Forward passes per optimizer step.")
    warmup_ratio: float = Field(0.03, ge=0.0, lt=1.0)
    val_fraction: float = Field(0.0, ge=0.0, le=0.5)
    max_records: int | None = Field(None, ge=1, description="Train on the first N records only.")
    save_every: int = Field(20, ge=1, description="Checkpoint every N optimizer steps.")
    seed: int = Field(42, ge=0)
    system_prompt: str = ""
    group_by_length: bool = Field(True, description="Batch examples of similar length (less padding).")
    pad_to_max_length: bool = Field(False, description="Pad every example to max_length (the tutorial's way).")
    answer_only_logits: bool = Field(True, description="Compute the vocabulary projection only where the loss needs it.")
    # Preference training (preset "dpo"): the adapter it starts from and is kept close to ("" = the base).
    parent: str = Field("", description="DPO: adapter the new one starts from and is measured against; empty = base.")
    beta: float = Field(0.1, gt=0.0, le=10.0, description="DPO: how strongly the new adapter is held near its parent.")

    @property
    def samples_per_step(self) -> int:
        return self.batch_size * self.grad_accum

    @property
    def token_budget(self) -> int:
        return self.batch_tokens or self.max_length


PRESETS: dict[str, TrainConfig] = {
    "quick": TrainConfig(preset="quick", rank=8, alpha=16, dropout=0.05, max_length=256, epochs=2,
                         learning_rate=5e-4, batch_size=4, grad_accum=2, max_records=128, save_every=8),
    # The tutorial's values (batch 1 × accumulation 8); padding stays dynamic, never to 512.
    "tutorial": TrainConfig(preset="tutorial"),
    "custom": TrainConfig(preset="custom"),
    # Preference pairs from votes (DPO); a few minutes on CPU with the embedded model.
    "dpo": TrainConfig(preset="dpo", rank=8, alpha=16, dropout=0.0, max_length=256, epochs=3, learning_rate=2e-4,
                       batch_size=4, grad_accum=2, warmup_ratio=0.0, save_every=8, beta=0.1),
}


def preset(name: str, **overrides) -> TrainConfig:
    base = PRESETS[name].model_dump()
    base.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**base)


def linear_layer_names(model) -> list[str]:
    """Leaf names of the model's Linear layers (LoRA wrappers seen through), head excluded."""
    import torch

    names: list[str] = []
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or "lora_" in name:
            continue
        parts = name.split(".")
        leaf = parts[-2] if parts[-1] == "base_layer" and len(parts) > 1 else parts[-1]
        if leaf not in HEADS and leaf not in names:
            names.append(leaf)
    return names


def target_modules(model) -> list[str]:
    """LoRA targets for this architecture: all attention and MLP projections."""
    found = linear_layer_names(model)
    family = getattr(model.config, "model_type", "")
    known = KNOWN_TARGETS.get(family) or KNOWN_TARGETS["llama"]
    if all(n in found for n in known):
        return list(known)
    return found
