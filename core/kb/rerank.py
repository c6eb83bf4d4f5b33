"""An optional second stage: a cross-encoder re-orders the top hybrid hits (top-k -> rerank).

Why optional and off by default: no cross-encoder weights ship in a wheel, so offline there is nothing to
measure it on; bench/retrieval.py prints its row only when `kb_reranker` names a model (a local folder or
a ModelScope id such as BAAI/bge-reranker-base, downloaded on a machine with network). The displayed
relevance stays the fused 0-1 score, so the threshold keeps its meaning; the cross-encoder's own
sigmoid score is kept in `Hit.rerank` for display and debugging.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

from core.errors import UserError
from core.models import sources

log = logging.getLogger(__name__)
_cache: dict[str, "CrossEncoderReranker"] = {}
_lock = threading.Lock()


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder, loaded once per process and shared by every base."""

    def __init__(self, folder: Path, device: str = "cpu") -> None:
        from sentence_transformers import CrossEncoder

        self.folder = folder
        self.model = CrossEncoder(str(folder), device=device, local_files_only=True)

    def scores(self, query: str, texts: list[str]) -> list[float]:
        """0-1 relevance of each text to the query (sigmoid of the model's logit)."""
        import torch

        if not texts:
            return []
        out = self.model.predict([(query, t) for t in texts], activation_fn=torch.nn.Sigmoid(), show_progress_bar=False)
        return [float(x) for x in out]

    def rerank(self, query: str, hits: list) -> list:
        scores = self.scores(query, [h.text for h in hits])
        ranked = sorted(zip(scores, range(len(hits)), hits), key=lambda item: (-item[0], item[1]))
        return [dataclasses.replace(h, rerank=s) for s, _, h in ranked]


def resolve_folder(spec: str, models_dir: Path) -> Path:
    path = Path(spec).expanduser()
    if path.exists() or spec.startswith(("/", ".", "~")):
        if not (path / "config.json").exists():
            raise UserError("errors.rerank.cross_encoder_model_folder", path=path)
        return path
    if sources.is_modelscope_id(spec):
        return sources.download_modelscope(spec, models_dir)
    raise UserError("errors.rerank.known_reranker", spec=spec)


def get_reranker(spec: str, models_dir: Path, device: str = "cpu") -> CrossEncoderReranker | None:
    """None when no reranker is configured; one loaded model per spec per process."""
    spec = spec.strip()
    if not spec:
        return None
    with _lock:
        if spec not in _cache:
            _cache[spec] = CrossEncoderReranker(resolve_folder(spec, models_dir), device)
        return _cache[spec]
