"""Which Linear layers of a transformers model LoRA can wrap, and the ones it wraps by default.

It lives with the engines because it reads the loaded architecture; the trainer asks the
engine (`Trainable.lora_candidates` / `default_lora_targets`) rather than the model.
"""

from __future__ import annotations

# Documented layer names per family; anything else is found by scanning the model.
KNOWN_TARGETS = {
    "chatglm": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
    "glm": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"],  # GLM-4 and converted ChatGLM3
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}
HEADS = ("lm_head", "output_layer", "embed_out")


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
