"""Where a knowledge base lives: its config, its manifest, its Chroma collection.

Layout under `settings.kb_dir`: `chroma/` (one persistent Chroma database for all bases,
opened by ONE client per process: two clients on one path corrupt each other) and
`bases/<id>/` with `kb.json` (name, embedding model, chunking, prompts), `manifest.json`
(each file's content hash and chunk ids) and `files/` (uploads). The folder is named by
an id, so renaming a base is one field in `kb.json`.

Crash safety: chunk ids are derived from (source, content hash, position), chunks are
upserted, and a file enters the manifest only after its chunks are written; a run killed
at any point therefore redoes the unfinished files and lands on the same chunk set.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError

_clients: dict[Path, Any] = {}
_clients_lock = threading.Lock()
NAME_RE = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff .\-]{0,63}$")


def chroma_client(folder: Path):
    """The process's one PersistentClient for `folder`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    folder = folder.resolve()
    with _clients_lock:
        if folder not in _clients:
            folder.mkdir(parents=True, exist_ok=True)
            _clients[folder] = chromadb.PersistentClient(
                path=str(folder), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
            )
        return _clients[folder]


def write_json(path: Path, data: Any) -> None:
    """Atomic: a reader (or a restart after kill -9) sees the old file or the new one."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunk_id(source: str, digest: str, index: int) -> str:
    return hashlib.sha1(f"{source}\x00{digest}\x00{index}".encode("utf-8")).hexdigest()


def validate_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.match(name):
        raise UserError("errors.store.valid_knowledge_base_name", name=name)
    return name


@dataclass
class KBConfig:
    name: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    embedding_model: str = "embedded"
    chunk_size: int = 500
    chunk_overlap: int = 150
    prompt_zh: str = ""  # empty = the default prompt of core.kb.rag
    prompt_en: str = ""
    created: float = field(default_factory=time.time)
    # Set by calibration (core.kb.calibrate) on the user's own QA list; None = the settings' defaults.
    fusion: str | None = None
    dense_weight: float | None = None
    dense_weight_en: float | None = None
    threshold: float | None = None

    @property
    def collection_name(self) -> str:
        return f"kb_{self.id}"


@dataclass
class FileEntry:
    hash: str
    chunk_ids: list[str]
    size: int = 0
    encoding: str = ""
    indexed: float = field(default_factory=time.time)
    duplicate_of: str = ""  # same bytes as that source: recorded, not embedded twice


class Manifest:
    """source -> FileEntry, saved atomically after every batch; `revision` tells caches to refresh."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, FileEntry] = {}
        self.revision = 0
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            self.revision = data.get("revision", 0)
            self.files = {k: FileEntry(**v) for k, v in data.get("files", {}).items()}

    def save(self) -> None:
        self.revision += 1
        write_json(self.path, {"revision": self.revision, "files": {k: asdict(v) for k, v in self.files.items()}})

    def by_hash(self) -> dict[str, str]:
        return {entry.hash: source for source, entry in self.snapshot().items() if not entry.duplicate_of}

    def aliases(self) -> dict[str, str]:
        """duplicate source -> the source whose chunks stand for it."""
        return {source: entry.duplicate_of for source, entry in self.snapshot().items() if entry.duplicate_of}

    def chunk_count(self) -> int:
        return sum(len(e.chunk_ids) for e in self.snapshot().values())

    def snapshot(self) -> dict[str, FileEntry]:
        """A copy readers can iterate while an index job adds entries (dict() copies atomically under the GIL)."""
        return dict(self.files)


class KnowledgeBase:
    """One base: config + manifest + collection. Writers hold `write_lock` (one index at a time)."""

    def __init__(self, folder: Path, config: KBConfig, client) -> None:
        self.folder = folder
        self.config = config
        self.client = client
        self.manifest = Manifest(folder / "manifest.json")
        self.write_lock = threading.Lock()
        self.collection = client.get_or_create_collection(config.collection_name, metadata={"hnsw:space": "cosine"})

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def files_dir(self) -> Path:
        return self.folder / "files"

    def save_config(self) -> None:
        write_json(self.folder / "kb.json", asdict(self.config))

    def upsert(self, ids: list[str], texts: list[str], embeddings: list[list[float]], metadatas: list[dict]) -> None:
        self.collection.upsert(ids=ids, documents=texts, embeddings=embeddings, metadatas=metadatas)

    def delete_source(self, source: str) -> None:
        """All chunks of `source`, recorded or not (a crashed run may have left some)."""
        self.collection.delete(where={"source": source})

    def chunks_of(self, source: str) -> list[dict]:
        got = self.collection.get(where={"source": source}, include=["documents", "metadatas"])
        rows = [{"id": i, "text": d, **(m or {})} for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]
        return sorted(rows, key=lambda r: r.get("chunk", 0))

    def vectorstore(self, embedder):
        """The collection as a LangChain `Chroma` vector store, for users' own LangChain code."""
        from langchain_chroma import Chroma

        return Chroma(client=self.client, collection_name=self.config.collection_name, embedding_function=embedder)
