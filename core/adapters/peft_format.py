"""PEFT LoRA folders in and out: validated at import, mapped between ChatGLM3 and native GLM names.

An adapter from the ChatGLM3 tutorial (`lora_finetune.py`, peft 0.11) targets the remote
code's modules (`query_key_value`, `dense`, `dense_h_to_4h`, `dense_4h_to_h`); Liandan runs
ChatGLM3 as transformers' `GlmForCausalLM` (core.models.chatglm3), so the adapter is renamed:

- `query_key_value` (one Linear, rows [q; k; v]) is split into `q_proj`/`k_proj`/`v_proj`.
  LoRA adds B·A·s to W; splitting W's rows splits B's rows and keeps A, so each part gets
  A unchanged and its slice of B: exact, same rank and scale.
- `dense` -> `o_proj`, `dense_4h_to_h` -> `down_proj`, `dense_h_to_4h` -> `gate_up_proj` (the
  same fused [gate; up] layout): copied.

Exporting back (tutorial format) merges q/k/v into `query_key_value`: A = [A_q; A_k; A_v]
(rank 3r), B = block-diagonal(B_q, B_k, B_v), which gives exactly [B_q A_q; B_k A_k; B_v A_v];
the scale s = alpha/r is kept by giving that module rank 3r and alpha 3·alpha (√3·alpha with
rsLoRA) through `rank_pattern`/`alpha_pattern`, which peft 0.11 reads.

Everything is checked before anything is stored: the config (UTF-8 JSON, known LoRA keys),
the weights (safetensors, or a pickled .bin read weights-only: no pickled code runs) and
every tensor's shape against the loaded base, so a bad adapter is refused with its reason
at import instead of failing later inside a chat request.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import UserError
from core.i18n import Message, msg

if TYPE_CHECKING:
    import torch

CONFIG = "adapter_config.json"
WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
_KEY = re.compile(r"^base_model\.model\.(.+)\.(lora_A|lora_B)(?:\.[\w-]+)?\.weight$")
_CHATGLM_LAYER = re.compile(r"^(?:transformer\.)?encoder\.layers\.(\d+)\.(self_attention|mlp)\.(\w+)$")
_GLM_LAYER = re.compile(r"^model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)$")
_TO_GLM = {"dense": "o_proj", "dense_h_to_4h": "gate_up_proj", "dense_4h_to_h": "down_proj"}
_TO_CHATGLM = {v: k for k, v in _TO_GLM.items()}
QKV = ("q_proj", "k_proj", "v_proj")


def bad(message: Message, hint: Message | None = None) -> UserError:
    return UserError(message, hint or msg("errors.peft_format.check_folder"))


def _lora_keys() -> set[str]:
    from peft import LoraConfig

    return {f.name for f in fields(LoraConfig)}


def parse_json(raw: bytes, name: str) -> dict:
    """A JSON object from bytes, with the specific reason when it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad(msg("errors.peft_format.utf_text_byte", name=name, start=exc.start)) from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise bad(msg("errors.peft_format.valid_json", name=name, exc=exc)) from exc
    if not isinstance(data, dict):
        raise bad(msg("errors.peft_format.must_hold_json_object", name=name))
    return data


def parse_config(raw: bytes) -> dict:
    config = parse_json(raw, CONFIG)
    if str(config.get("peft_type", "")).upper() != "LORA":
        raise bad(msg("errors.peft_format.lora_adapter_peft_type", config=CONFIG, value=config.get('peft_type')))
    unknown = sorted(set(config) - _lora_keys() - {"peft_type", "auto_mapping", "base_model_name_or_path", "revision", "task_type", "inference_mode"})
    if unknown:
        raise bad(
            msg("errors.peft_format.keys_peft_does_know", config=CONFIG, unknown=', '.join(unknown)),
            msg("errors.peft_format.keys_peft_does_know.hint"),
        )
    for key in ("r", "lora_alpha"):
        if not isinstance(config.get(key), int) or isinstance(config.get(key), bool) or config[key] < 1:
            raise bad(msg("errors.peft_format.must_positive_integer", config=CONFIG, field=key))
    if config.get("use_dora"):
        raise bad(msg("errors.peft_format.dora_adapters_supported"))
    return config


def read_weights(name: str, raw: bytes) -> dict[str, torch.Tensor]:
    """Tensors from adapter_model.safetensors, or from a pickled .bin without running its code."""
    import torch

    if name.endswith(".safetensors"):
        from safetensors.torch import load

        try:
            return load(raw)
        except Exception as exc:  # safetensors raises its own SafetensorError and others
            raise bad(msg("errors.peft_format.valid_safetensors_file", name=name, error_type=type(exc).__name__)) from exc
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError for pickled code, RuntimeError for junk
        raise bad(msg("errors.peft_format.plain_weights_file_pickled", name=name, error_type=type(exc).__name__)) from exc
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise bad(msg("errors.peft_format.does_hold_dictionary_tensors", name=name))
    return state


def find_files(files: dict[str, bytes]) -> tuple[dict, dict[str, torch.Tensor]]:
    """(config, tensors) from a PEFT folder's files, by name."""
    if CONFIG not in files:
        raise bad(msg("errors.peft_format.adapter", config=CONFIG))
    config = parse_config(files[CONFIG])
    weights = next((n for n in WEIGHTS if n in files), None)
    if weights is None:
        raise bad(
            msg("errors.peft_format.adapter_weights", weights=msg("errors.peft_format.either", first=WEIGHTS[0], second=WEIGHTS[1])),
        )
    return config, read_weights(weights, files[weights])


def is_chatglm_adapter(state: dict) -> bool:
    return any(".encoder.layers." in k and ("query_key_value" in k or "dense" in k) for k in state)


def _parse_key(key: str) -> tuple[str, str]:
    match = _KEY.match(key)
    if not match:
        raise bad(msg("errors.peft_format.unexpected_tensor_only_lora", field=key))
    return match.group(1), match.group(2)


def chatglm_to_glm(config: dict, state: dict, qkv_sizes: list[int]) -> tuple[dict, dict]:
    """A tutorial (remote-code ChatGLM3) adapter renamed onto GlmForCausalLM (see the module docstring)."""
    import torch

    out: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        module, kind = _parse_key(key)
        match = _CHATGLM_LAYER.match(module)
        if not match:
            raise bad(msg("errors.peft_format.unexpected_chatglm_module", module=module))
        layer, block, leaf = match.groups()
        prefix = f"base_model.model.model.layers.{layer}.{'self_attn' if block == 'self_attention' else 'mlp'}."
        if leaf == "query_key_value":
            if kind == "lora_A":
                for proj in QKV:
                    out[f"{prefix}{proj}.lora_A.weight"] = tensor.clone()
            else:
                if tensor.shape[0] != sum(qkv_sizes):
                    raise bad(
                        msg("errors.peft_format.rows_loaded_chatglm_needs", field=key, shape=tensor.shape[0], value=sum(qkv_sizes)),
                        msg("errors.peft_format.rows_loaded_chatglm_needs.hint"),
                    )
                for proj, part in zip(QKV, torch.split(tensor, qkv_sizes, dim=0)):
                    out[f"{prefix}{proj}.lora_B.weight"] = part.contiguous()
        elif leaf in _TO_GLM:
            out[f"{prefix}{_TO_GLM[leaf]}.{kind}.weight"] = tensor
        else:
            raise bad(msg("errors.peft_format.unexpected_chatglm_module", module=module))
    native = dict(config)
    native["target_modules"] = sorted({_native_leaf(t) for t in _as_list(config.get("target_modules"))} - {""} | _leaves(out)) or None
    for pattern in ("rank_pattern", "alpha_pattern"):
        native[pattern] = {m: v for k, v in (config.get(pattern) or {}).items() for m in _native_names(k)}
    return native, out


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _native_leaf(name: str) -> str:
    return "" if name == "query_key_value" else _TO_GLM.get(name, name)


def _native_names(name: str) -> list[str]:
    return list(QKV) if name == "query_key_value" else [_TO_GLM.get(name, name)]


def _leaves(state: dict) -> set[str]:
    return {_parse_key(k)[0].rsplit(".", 1)[-1] for k in state}


def check_shapes(config: dict, state: dict, base_shapes: dict[str, tuple[int, int]]) -> None:
    """Every A/B pair fits a Linear of the loaded base: refused here, not in a later chat request."""
    pairs: dict[str, dict[str, tuple[int, ...]]] = {}
    for key, tensor in state.items():
        module, kind = _parse_key(key)
        if module not in base_shapes:
            raise bad(
                msg("errors.peft_format.adapter_changes_which_loaded", module=module),
                msg("errors.peft_format.adapter_changes_which_loaded.hint"),
            )
        if tensor.dim() != 2:
            raise bad(msg("errors.peft_format.matrix_shape", field=key, shape=tuple(tensor.shape)))
        pairs.setdefault(module, {})[kind] = tuple(tensor.shape)
    for module, pair in pairs.items():
        out_features, in_features = base_shapes[module]
        a, b = pair.get("lora_A"), pair.get("lora_B")
        if a is None or b is None:
            raise bad(msg("errors.peft_format.only_one_lora_lora", module=module))
        rank = _rank_for(config, module)
        if a != (rank, in_features) or b != (out_features, rank):
            raise bad(
                msg("errors.peft_format.lora_lora_b_do", module=module, a=a, b=b, value=(rank, in_features), value2=(out_features, rank)),
                msg("errors.peft_format.lora_lora_b_do.hint"),
            )


def _rank_for(config: dict, module: str) -> int:
    for pattern, rank in (config.get("rank_pattern") or {}).items():
        if re.search(rf"(^|\.){pattern}$", module):
            return int(rank)
    return int(config["r"])


def base_shapes(model) -> dict[str, tuple[int, int]]:
    """(out, in) of every Linear in the base, by module path (the base under any PEFT wrapper)."""
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return {name.removesuffix(".base_layer"): (m.out_features, m.in_features)
            for name, m in base.named_modules() if isinstance(m, torch.nn.Linear)}


def glm_to_chatglm(config: dict, state: dict, qkv_sizes: list[int], base_model: str) -> tuple[dict, dict]:
    """A native-GLM adapter in the tutorial's format (remote-code ChatGLM3 names), exactly equivalent."""
    import math

    import torch

    r, alpha = int(config["r"]), int(config["lora_alpha"])
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise bad(msg("errors.peft_format.adapters_per_module_ranks"))
    out: dict[str, torch.Tensor] = {}
    layers: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in state.items():
        module, kind = _parse_key(key)
        match = _GLM_LAYER.match(module)
        if not match:
            raise bad(msg("errors.peft_format.chatglm_counterpart", module=module))
        layer, block, leaf = match.groups()
        prefix = f"base_model.model.transformer.encoder.layers.{layer}.{'self_attention' if block == 'self_attn' else 'mlp'}."
        if leaf in QKV:
            layers.setdefault(prefix, {})[f"{leaf}.{kind}"] = tensor
        elif leaf in _TO_CHATGLM:
            out[f"{prefix}{_TO_CHATGLM[leaf]}.{kind}.weight"] = tensor
        else:
            raise bad(msg("errors.peft_format.chatglm_counterpart", module=module))
    for prefix, parts in layers.items():
        in_features = _in_of(parts)
        sample = next(iter(parts.values()))
        a = torch.cat([parts.get(f"{p}.lora_A", torch.zeros(r, in_features, dtype=sample.dtype)) for p in QKV])
        b = torch.zeros(sum(qkv_sizes), 3 * r, dtype=sample.dtype)
        row = 0
        for i, (proj, size) in enumerate(zip(QKV, qkv_sizes)):
            if f"{proj}.lora_B" in parts:
                b[row:row + size, i * r:(i + 1) * r] = parts[f"{proj}.lora_B"]
            row += size
        out[f"{prefix}query_key_value.lora_A.weight"] = a.contiguous()
        out[f"{prefix}query_key_value.lora_B.weight"] = b
    targets = sorted({_TO_CHATGLM.get(t, "query_key_value" if t in QKV else t) for t in _as_list(config.get("target_modules"))})
    exported = {k: v for k, v in config.items() if k in _PEFT_011_KEYS}
    exported.update(target_modules=targets, base_model_name_or_path=base_model, inference_mode=True,
                    rank_pattern={}, alpha_pattern={})
    if layers:
        exported["rank_pattern"] = {"query_key_value": 3 * r}
        exported["alpha_pattern"] = {"query_key_value": alpha * (math.sqrt(3) if config.get("use_rslora") else 3)}
    return exported, out


def _in_of(parts: dict) -> int:
    return next(t.shape[1] for k, t in parts.items() if k.endswith("lora_A"))


# What peft 0.11.1's LoraConfig accepts (a newer peft writes more keys, which 0.11 refuses).
_PEFT_011_KEYS = {
    "alpha_pattern", "auto_mapping", "base_model_name_or_path", "bias", "fan_in_fan_out", "inference_mode",
    "init_lora_weights", "layer_replication", "layers_pattern", "layers_to_transform", "loftq_config", "lora_alpha",
    "lora_dropout", "megatron_config", "megatron_core", "modules_to_save", "peft_type", "r", "rank_pattern",
    "revision", "target_modules", "task_type", "use_dora", "use_rslora",
}


def folder_files(folder: Path) -> dict[str, bytes]:
    """The files of a PEFT folder that matter, read once (symlinks out of the folder are refused)."""
    root = folder.resolve()
    files: dict[str, bytes] = {}
    for name in (CONFIG, *WEIGHTS, "adapter.json"):
        path = folder / name
        if path.exists():
            if not path.resolve().is_relative_to(root) or not path.is_file():
                raise bad(msg("errors.peft_format.link_out_folder_file", name=name))
            files[name] = path.read_bytes()
    return files
