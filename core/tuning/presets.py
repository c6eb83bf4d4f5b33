"""Training settings, validated once, and the presets users start from.

"Tutorial recipe" is the values of the ChatGLM3 huanhuan tutorial; "Quick demo" finishes
in minutes on CPU with the embedded model; "Custom" starts from the tutorial values;
"DPO" trains on preference pairs (votes) instead of answers, see `core.tuning.dpo`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Which layers LoRA can wrap is the engine's knowledge (core.models.lora_targets); importable here too.
from core.models.lora_targets import linear_layer_names, target_modules  # noqa: F401


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
    snapshot_every: int = Field(0, ge=0, description="Also keep the adapter every N steps as NAME@stepN, to compare "
                                "checkpoints in blind rounds; 0 = only the final adapter.")
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
