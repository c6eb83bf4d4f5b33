"""Run ChatGLM2/3 checkpoints on transformers' native `GlmForCausalLM`, without their Python code.

ChatGLM3-6B ships `modeling_chatglm.py` for transformers 4.3x; on 5.x it fails at load, at
`post_init`, in `generate`... (see ../shared/fixtures/chatglm3-tiny/README.md). Its
architecture is exactly transformers' `glm` model type (GLM-4's form of it), so we rename
the weights once into a cached native folder under the data folder and load that:

| chatglm (remote code)                        | glm (native)                                  |
|----------------------------------------------|-----------------------------------------------|
| embedding.word_embeddings                    | model.embed_tokens                            |
| encoder.layers.N.input_layernorm (RMSNorm)   | model.layers.N.input_layernorm                |
| self_attention.query_key_value [q; k; v]     | self_attn.q_proj / k_proj / v_proj (rows split, bias too) |
| self_attention.dense                         | self_attn.o_proj                              |
| post_attention_layernorm                     | post_attention_layernorm                      |
| mlp.dense_h_to_4h [gate; up]                 | mlp.gate_up_proj (same fused order)           |
| mlp.dense_4h_to_h                            | mlp.down_proj                                 |
| encoder.final_layernorm                      | model.norm                                    |
| output_layer (untied)                        | lm_head                                       |

Rotary: chatglm rotates the first half of each head (`rotary_dim = kv_channels // 2`) on
interleaved pairs with base 10000 (× `rope_ratio` in the 32k variant); glm does the same with
`partial_rotary_factor=0.5` and its interleaved `rotate_half`. Multi-query groups become
`num_key_value_heads`; `layernorm_epsilon` becomes `rms_norm_eps`. `original_rope` does not
change the computation in ChatGLM3's code (both branches build the same cache). Variants the
native model cannot express (LayerNorm, no final norm, biased dense layers, prefix tuning,
int4/int8 checkpoints, ChatGLM-6B v1's 2-D positions) are refused with a reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ModelSourceError
from core.i18n import Message, msg
from core.models import chatglm3_tokenizer

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
CONVERTER_VERSION = 1
SOURCE_FILE = "liandan_source.json"  # written into every converted folder
_lock = threading.Lock()
_LAYER = re.compile(r"^(?:transformer\.)?encoder\.layers\.(\d+)\.(.+)$")
_PLAIN = {
    "embedding.word_embeddings.weight": "model.embed_tokens.weight",
    "encoder.final_layernorm.weight": "model.norm.weight",
    "output_layer.weight": "lm_head.weight",
}
_IN_LAYER = {
    "input_layernorm.weight": "input_layernorm.weight",
    "post_attention_layernorm.weight": "post_attention_layernorm.weight",
    "self_attention.dense.weight": "self_attn.o_proj.weight",
    "mlp.dense_h_to_4h.weight": "mlp.gate_up_proj.weight",
    "mlp.dense_4h_to_h.weight": "mlp.down_proj.weight",
}
# LoRA module names: chatglm -> glm (query_key_value is split in three, see core.tuning.chatglm_lora).
MODULES = {"query_key_value": ("q_proj", "k_proj", "v_proj"), "dense": ("o_proj",),
           "dense_h_to_4h": ("gate_up_proj",), "dense_4h_to_h": ("down_proj",)}


def is_chatglm(config: dict) -> bool:
    """A chatglm-format checkpoint (ChatGLM2/3), whatever its auto_map says."""
    return config.get("model_type") == "chatglm"


def _refuse(reason: Message) -> ModelSourceError:
    return ModelSourceError("errors.chatglm3.chatglm_checkpoint_run_native", reason=reason)


def check_supported(config: dict) -> None:
    """Raise a specific ModelSourceError for the variants `GlmForCausalLM` cannot express."""
    if "position_encoding_2d" in config or "num_layers" not in config:
        raise _refuse(msg("errors.chatglm3.first_generation_chatglm_b"))
    checks = [
        (config.get("quantization_bit", 0), "quantized"),
        (config.get("pre_seq_len"), "p_tuning"),
        (not config.get("rmsnorm", True), "layernorm"),
        (not config.get("post_layer_norm", True), "no_final_norm"),
        (config.get("add_bias_linear", False), "dense_bias"),
        (config.get("apply_residual_connection_post_layernorm", False), "residual_after_norm"),
    ]
    for failed, reason in checks:
        if failed:
            raise _refuse(msg(f"errors.chatglm3.reason.{reason}"))


def glm_config(config: dict, stop_ids: list[int]) -> dict:
    """The `glm` config.json for a chatglm config (see the table in the module docstring)."""
    heads = config["num_attention_heads"]
    head_dim = config.get("kv_channels") or config["hidden_size"] // heads
    groups = config.get("multi_query_group_num", heads) if config.get("multi_query_attention") else heads
    return {
        "model_type": "glm",
        "architectures": ["GlmForCausalLM"],
        "vocab_size": config["padded_vocab_size"],
        "hidden_size": config["hidden_size"],
        "intermediate_size": config["ffn_hidden_size"],
        "num_hidden_layers": config["num_layers"],
        "num_attention_heads": heads,
        "num_key_value_heads": groups,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "attention_dropout": float(config.get("attention_dropout", 0.0)),
        "max_position_embeddings": config.get("seq_length", 8192),
        "rms_norm_eps": config.get("layernorm_epsilon", 1e-5),
        "attention_bias": bool(config.get("add_qkv_bias", False)),
        "tie_word_embeddings": bool(config.get("tie_word_embeddings", False)),
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0 * float(config.get("rope_ratio", 1.0)),
            "partial_rotary_factor": 0.5,
        },
        "pad_token_id": config.get("pad_token_id", 0),
        "eos_token_id": stop_ids,
        "dtype": str(config.get("torch_dtype") or "float16").replace("torch.", ""),
    }


def qkv_sizes(glm: dict) -> list[int]:
    """Rows of query_key_value that belong to q, k and v."""
    head_dim = glm["head_dim"]
    return [glm["num_attention_heads"] * head_dim, glm["num_key_value_heads"] * head_dim, glm["num_key_value_heads"] * head_dim]


def rename(name: str, tensor: torch.Tensor, sizes: list[int]) -> Iterator[tuple[str, torch.Tensor]]:
    """Native (name, tensor) pairs for one chatglm weight; nothing for buffers we recompute."""
    import torch

    plain = name.removeprefix("transformer.")
    if plain in _PLAIN:
        yield _PLAIN[plain], tensor
        return
    if plain == "rotary_pos_emb.inv_freq":
        return
    match = _LAYER.match(name)
    if not match:
        raise _refuse(msg("errors.chatglm3.unexpected_weight", name=name))
    layer, rest = match.groups()
    prefix = f"model.layers.{layer}."
    if rest in _IN_LAYER:
        yield prefix + _IN_LAYER[rest], tensor
    elif rest in ("self_attention.query_key_value.weight", "self_attention.query_key_value.bias"):
        kind = rest.rsplit(".", 1)[1]
        if tensor.shape[0] != sum(sizes):
            raise _refuse(msg("errors.chatglm3.rows_expected", name=name, shape=tensor.shape[0], value=sum(sizes)))
        for proj, part in zip(("q_proj", "k_proj", "v_proj"), torch.split(tensor, sizes, dim=0)):
            yield f"{prefix}self_attn.{proj}.{kind}", part.contiguous()
    else:
        raise _refuse(msg("errors.chatglm3.unexpected_weight", name=name))


def _weight_files(folder: Path) -> list[Path]:
    safetensors = sorted(folder.glob("*.safetensors"))
    if safetensors:
        return safetensors
    bins = sorted(p for p in folder.glob("*.bin") if p.name not in ("training_args.bin",))
    if not bins:
        raise _refuse(msg("errors.chatglm3.safetensors_bin_weights"))
    return bins


def _read(path: Path) -> dict[str, torch.Tensor]:
    """One shard; pickled .bin files are read weights-only (no pickled code runs)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # UnpicklingError, RuntimeError...: anything but plain tensors
        raise _refuse(msg("errors.chatglm3.plain_weights_file", name=path.name, error_type=type(exc).__name__)) from exc
    if not isinstance(state, dict):
        raise _refuse(msg("errors.chatglm3.does_hold_weights_dictionary", name=path.name))
    return state


def fingerprint(folder: Path) -> str:
    """Changes when the config or any weight file changes (name, size, mtime)."""
    digest = hashlib.sha256(f"v{CONVERTER_VERSION}".encode())
    digest.update((folder / "config.json").read_bytes())
    for path in _weight_files(folder) + [folder / "tokenizer.model"]:
        if path.exists():
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def native_folder(folder: Path, models_dir: Path, progress=lambda f, m: None) -> Path:
    """The cached native copy of a chatglm-format folder, converting it the first time."""
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    check_supported(config)
    if not (folder / "tokenizer.model").is_file():
        raise _refuse(msg("errors.chatglm3.tokenizer_model_folder"))
    safe = re.sub(r"[^\w.-]", "_", folder.name)[:80] or "chatglm"
    target = models_dir / "native" / f"{safe}-{fingerprint(folder)}"
    with _lock:
        if (target / SOURCE_FILE).exists():
            return target
        partial = target.with_name(f".{target.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            _convert(folder, config, partial, progress)
            partial.rename(target)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    log.info("converted %s to native glm at %s", folder, target)
    return target


def _convert(folder: Path, config: dict, out: Path, progress) -> None:
    from safetensors.torch import save_file

    tokenizer = chatglm3_tokenizer.load(folder)
    glm = glm_config(config, tokenizer.stop_token_ids())
    sizes = qkv_sizes(glm)
    files = _weight_files(folder)
    index: dict[str, str] = {}
    total = 0
    for number, path in enumerate(files, 1):
        progress(0.5 + 0.1 * (number - 1) / len(files), msg("job.chatglm3.converting_chatglm_weights_native", number=number, files_count=len(files)))
        shard: dict[str, torch.Tensor] = {}
        for name, tensor in _read(path).items():
            for new_name, new_tensor in rename(name, tensor, sizes):
                shard[new_name] = new_tensor.contiguous()
        shard_name = "model.safetensors" if len(files) == 1 else f"model-{number:05d}-of-{len(files):05d}.safetensors"
        save_file(shard, str(out / shard_name), metadata={"format": "pt"})
        total += sum(t.numel() * t.element_size() for t in shard.values())
        index.update(dict.fromkeys(shard, shard_name))
        del shard
    expected = {"model.embed_tokens.weight", "model.norm.weight"} | (set() if glm["tie_word_embeddings"] else {"lm_head.weight"})
    if missing := expected - index.keys():
        raise _refuse(msg("errors.chatglm3.weights_missing", missing=', '.join(sorted(missing))))
    if len(files) > 1:
        (out / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": total}, "weight_map": index}, indent=1), encoding="utf-8")
    (out / "config.json").write_text(json.dumps(glm, indent=2), encoding="utf-8")
    generation = {"eos_token_id": tokenizer.stop_token_ids(), "pad_token_id": tokenizer.pad_token_id}
    (out / "generation_config.json").write_text(json.dumps(generation, indent=2), encoding="utf-8")
    shutil.copyfile(folder / "tokenizer.model", out / "tokenizer.model")
    tokenizer_config = {"tokenizer_class": chatglm3_tokenizer.TOKENIZER_CLASS, "padding_side": "left",
                        "chat_template": chatglm3_tokenizer.CHAT_TEMPLATE}
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / SOURCE_FILE).write_text(json.dumps({
        "format": "chatglm", "source": str(folder), "converter_version": CONVERTER_VERSION,
        "source_config": config,
    }, ensure_ascii=False, indent=2), encoding="utf-8")


def source_of(folder: Path) -> dict | None:
    """What a converted folder was made from (None for any other folder)."""
    try:
        return json.loads((folder / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
