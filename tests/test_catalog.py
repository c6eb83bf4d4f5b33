"""The model picker's catalog: memory computed from parameter counts, fits judged per device,
the CPU recommendation, and 8/4-bit loading refused clearly where it cannot work."""

from __future__ import annotations

import pytest

from core.errors import UserError
from core.models import loader, sources
from core.models.catalog import GIB, CATALOG, cpu_recommendation, entry, fits


def test_catalog_lists_the_models_people_ask_for_with_modelscope_ids():
    names = [e.name for e in CATALOG]
    for wanted in ("ChatGLM3-6B", "GLM-4-9B-Chat", "Qwen2.5-7B-Instruct", "Qwen2.5-3B-Instruct", "Qwen2.5-1.5B-Instruct",
                   "Qwen2.5-0.5B-Instruct", "Qwen3-8B", "Qwen3-4B"):
        assert wanted in names
    assert all(sources.is_modelscope_id(e.modelscope_id) for e in CATALOG)
    assert len({e.key for e in CATALOG}) == len(CATALOG)


def test_memory_is_computed_from_parameters_and_ordered_by_precision():
    e = entry("qwen2.5-7b")
    # 7.62e9 weights × 2 bytes = 14.2 GiB; +20% and 0.5 GiB of cache/activations/CUDA context
    assert e.memory_bytes("bfloat16") == int(7.62e9 * 2 * 1.2 + 0.5 * GIB)
    assert e.memory_bytes("float32") > e.memory_bytes("bfloat16") > e.memory_bytes("8bit") > e.memory_bytes("4bit")
    assert e.download_bytes == int(7.62e9 * 2)
    # the tutorial's figure: ChatGLM3-6B in fp16 is ~12.5 GB of weights, ~14-15 GiB to run; 4-bit fits 8 GB cards
    glm = entry("chatglm3-6b")
    assert 13 * GIB < glm.memory_bytes("bfloat16") < 16 * GIB and glm.memory_bytes("4bit") < 8 * GIB


def test_a_24_gb_card_fits_9b_in_bf16_a_16_gb_card_only_quantized():
    judged = {f.entry.key: f for f in fits(CATALOG, "cuda", 24 * GIB, quantization=True)}
    assert judged["qwen2.5-7b"].best == "bfloat16" and judged["glm-4-9b-chat"].best == "bfloat16"
    judged = {f.entry.key: f for f in fits(CATALOG, "cuda", 16 * GIB, quantization=True)}
    assert judged["chatglm3-6b"].best == "bfloat16"  # 14.4 GiB
    assert judged["qwen2.5-7b"].fits == {"bfloat16": False, "8bit": True, "4bit": True}  # 17.5 GiB in bf16
    assert judged["glm-4-9b-chat"].fits == {"bfloat16": False, "8bit": True, "4bit": True}
    assert judged["glm-4-9b-chat"].best == "8bit"
    small = {f.entry.key: f for f in fits(CATALOG, "cuda", 8 * GIB, quantization=True)}
    assert small["qwen3-8b"].best == "4bit" and small["qwen2.5-3b"].best == "bfloat16"
    # without bitsandbytes only full precision is judged (and offered)
    assert set(fits(CATALOG, "cuda", 24 * GIB, quantization=False)[0].fits) == {"bfloat16"}


def test_cpu_is_judged_in_float32_and_never_offered_quantization():
    judged = {f.entry.key: f for f in fits(CATALOG, "cpu", 16 * GIB, quantization=True)}
    assert all(set(f.fits) == {"float32"} for f in judged.values())
    assert judged["qwen2.5-1.5b"].best == "float32" and judged["qwen2.5-7b"].best is None


def test_cpu_recommendation_is_a_small_qwen_instruct_that_fits():
    assert cpu_recommendation(24 * GIB).key == "qwen2.5-1.5b"
    assert cpu_recommendation(6 * GIB).key == "qwen2.5-0.5b"  # 1.5B needs ~7.4 GiB in fp32
    assert cpu_recommendation(1 * GIB).key == "qwen2.5-0.5b"  # the smallest, even when nothing fits


@pytest.mark.parametrize("quantization", ["8bit", "4bit"])
def test_quantized_loading_off_cuda_is_refused_with_what_to_do(quantization, tiny_model_dir, tmp_path):
    with pytest.raises(UserError, match=f"{quantization} loading needs a CUDA GPU") as err:
        loader.load(sources.resolve(str(tiny_model_dir), tmp_path), device="cpu", quantization=quantization)
    assert "LIANDAN_QUANTIZATION=none" in err.value.hint and "CUDA" in err.value.text("zh")


def test_quantization_is_not_available_on_this_cpu_machine():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: bench/gpu_check.py covers quantized loading there")
    assert loader.quantization_available() is False
    assert loader.quantization_config("none", "cpu", "float32") is None
    with pytest.raises(UserError, match="Unknown quantization"):
        loader.quantization_config("3bit", "cuda", "bfloat16")
