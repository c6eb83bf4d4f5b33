"""Load a resolved model folder into a `TransformersEngine` with the right device and dtype."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from core.errors import UserError
from core.i18n import msg
from core.models import chatglm3_tokenizer, preflight
from core.models.engine import ModelInfo
from core.models.sources import Progress, ResolvedModel, _noop
from core.models.transformers_engine import TransformersEngine

log = logging.getLogger(__name__)
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
DEFAULT_CONTEXT = 2048


def pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("errors.loader.cuda_requested_but_gpu")
    return device


def pick_dtype(dtype: str, device: str) -> str:
    if dtype != "auto":
        return dtype
    if device == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    # fp32 on every CPU: bf16 is slower where the CPU lacks native bf16, and where it has it (AVX512_BF16,
    # e.g. Zen 4/5) bf16 answers ~1.6x faster but greedy answers then change with which requests share a
    # batch (bench/concurrency.py --dtype bfloat16); LIANDAN_DTYPE=bfloat16 chooses that trade.
    return "float32"


QUANTIZATIONS = ("none", "8bit", "4bit")


def quantization_available() -> bool:
    """8/4-bit loading needs CUDA and bitsandbytes (its kernels are CUDA-only here)."""
    import importlib.util

    return torch.cuda.is_available() and importlib.util.find_spec("bitsandbytes") is not None


def quantization_config(quantization: str, device: str, dtype: str):
    """A BitsAndBytesConfig for 8-bit or NF4 4-bit weights (QLoRA's base), or None for full precision.

    Refused clearly off CUDA or without bitsandbytes; the UI offers it only where it can work.
    This path cannot run on the CPU-only development machine: it is exercised by bench/gpu_check.py.
    """
    if quantization == "none":
        return None
    if quantization not in QUANTIZATIONS:
        raise UserError("errors.loader.unknown_quantization", quantization=quantization)
    if device != "cuda":
        raise UserError("errors.loader.loading_needs_cuda_gpu", quantization=quantization, device=device)
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise UserError("errors.loader.loading_needs_bitsandbytes_package", quantization=quantization) from exc
    from transformers import BitsAndBytesConfig

    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=DTYPES[dtype])


def context_length(config, tokenizer, override: int | None) -> int:
    if override:
        return override
    for attr in ("max_position_embeddings", "seq_length", "n_positions", "max_sequence_length"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 10**7 else DEFAULT_CONTEXT


def load_tokenizer(path: Path, trust_remote_code: bool = False):
    """Our ChatGLM3 tokenizer for converted ChatGLM folders (no checkpoint code), else AutoTokenizer."""
    from transformers import AutoTokenizer

    if chatglm3_tokenizer.is_chatglm3_tokenizer_folder(path):
        return chatglm3_tokenizer.load(path)
    return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)


def load(
    resolved: ResolvedModel,
    device: str = "auto",
    dtype: str = "auto",
    trust_remote_code: bool = False,
    context_override: int | None = None,
    progress: Progress = _noop,
    quantization: str = "none",
) -> TransformersEngine:
    from transformers import AutoModelForCausalLM

    device = pick_device(device)
    dtype = pick_dtype(dtype, device)
    if quantization != "none" and dtype == "float32":
        dtype = "bfloat16"  # the compute dtype of 8/4-bit layers; fp32 would only cost memory
    bnb = quantization_config(quantization, device, dtype)
    memory_dtype = dtype if bnb is None else quantization
    errors = [f for f in preflight.check(resolved.path, device, memory_dtype, trust_remote_code) if f.level == "error"]
    preflight.raise_errors(errors)
    started = time.perf_counter()
    progress(0.6, msg("job.loader.loading", name=resolved.name, dtype=dtype, device=device))
    path: Path = resolved.path
    try:
        tokenizer = load_tokenizer(path, trust_remote_code)
        kwargs = {"dtype": DTYPES[dtype], "trust_remote_code": trust_remote_code}
        if device == "cuda":
            kwargs["device_map"] = "auto"
        if bnb is not None:
            kwargs["quantization_config"] = bnb
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except (OSError, ValueError, ImportError, KeyError) as exc:
        raise UserError("errors.loader.could_load", name=resolved.name, exc=str(exc)[:300]) from exc
    if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
        tokenizer.pad_token = tokenizer.eos_token
    info = ModelInfo(
        name=resolved.name,
        source=resolved.spec,
        kind=resolved.kind,
        parameters=sum(p.numel() for p in model.parameters()),
        dtype=dtype if bnb is None else f"{quantization} ({dtype} compute)",
        device=str(model.device),
        context_length=context_length(model.config, tokenizer, context_override),
        load_seconds=time.perf_counter() - started,
        architecture=type(model).__name__,
        path=str(path),
    )
    progress(1.0, msg("job.loader.loaded_s", name=resolved.name, load_seconds=info.load_seconds))
    log.info("loaded %s", info)
    return TransformersEngine(model, tokenizer, info)
