"""The process's knowledge bases: create/rename/delete, index (as a resumable job), search.

One manager per process (a `Runtime` cached property), holding the one Chroma client, the
loaded embedders, the search snapshots and the folder watcher (core.kb.watch, started only by
the server process); pages, the CLI and the API share it.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from core.config import Settings
from core.errors import UserError
from core.jobs import Job, JobContext, JobRegistry
from core.kb.embeddings import get_embedder
from core.kb.archive import ZipLimits
from core.kb.indexer import Indexer, IndexProgress, IndexResult
from core.kb.rerank import get_reranker
from core.kb.retrieval import Hit, HybridSearcher
from core.kb.store import KBConfig, KnowledgeBase, chroma_client, validate_name
from core.kb.watch import FolderWatcher, WatchStatus
from core.paths import PathPolicy, data_folder, inside, name_too_long
from core.i18n import msg

log = logging.getLogger(__name__)
INDEX_JOB = "kb-index"
REPORT_EVERY_S = 0.5


class KnowledgeBaseManager:
    def __init__(self, settings: Settings, jobs: JobRegistry | None = None) -> None:
        self.settings = settings
        self.folder = settings.kb_dir / "bases"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.client = chroma_client(settings.kb_dir / "chroma")
        self._lock = threading.RLock()
        self._bases: dict[str, KnowledgeBase] = {}
        self._searchers: dict[str, HybridSearcher] = {}
        for config_file in sorted(self.folder.glob("*/kb.json")):
            try:
                config = KBConfig(**json.loads(config_file.read_text(encoding="utf-8")))
            except (ValueError, TypeError) as exc:
                log.warning("skipping unreadable knowledge base %s: %s", config_file, exc)
                continue
            self._bases[config.id] = KnowledgeBase(config_file.parent, config, self.client)
        self.jobs = jobs
        if jobs is not None:
            jobs.register(INDEX_JOB, self._index_job)
        self.watcher = FolderWatcher(self, settings.kb_watch_debounce_s)

    # --- watched folders ------------------------------------------------------------
    def start_watching(self) -> None:
        """Watch the saved folders of every base (and catch up); idempotent. Only a long-lived
        process with background jobs (the app) watches: a CLI run would leave its runs half done."""
        if self.jobs is not None:
            self.watcher.start()

    def stop_watching(self) -> None:
        self.watcher.stop()

    def watch(self, name: str, folder: str) -> Job | None:
        """Keep a server folder in sync with the base: indexed now (the job returned; None while
        another run holds the base, then right after it), then after every change."""
        self._require_jobs()
        return self.watcher.add(self.get(name), self.allowed_folder(folder))

    def unwatch(self, name: str, folder: str) -> None:
        """Stop following the folder; what was indexed from it stays in the base."""
        self.watcher.remove(self.get(name).config.id, folder)

    def watch_status(self, name: str) -> list[WatchStatus]:
        return self.watcher.status(self.get(name).config.id)

    def busy(self, kb: KnowledgeBase) -> bool:
        """An index run of `kb` is under way or queued (the watcher waits for it, never races it)."""
        if kb.write_lock.locked():
            return True
        return self.jobs is not None and any(
            j.active and j.params.get("kb_id") == kb.config.id for j in self.jobs.list(INDEX_JOB)
        )

    # --- bases --------------------------------------------------------------------
    def names(self) -> list[str]:
        with self._lock:
            return sorted(kb.name for kb in self._bases.values())

    def bases(self) -> list[KnowledgeBase]:
        with self._lock:
            return list(self._bases.values())

    def base_by_id(self, kb_id: str) -> KnowledgeBase | None:
        with self._lock:
            return self._bases.get(kb_id)

    def get(self, name: str) -> KnowledgeBase:
        with self._lock:
            for kb in self._bases.values():
                if kb.name == name:
                    return kb
        raise UserError("errors.kb_manager.there_knowledge_base", name=name)

    def exists(self, name: str) -> bool:
        return name.strip() in self.names()

    def create(self, name: str, embedding_model: str | None = None, chunk_size: int | None = None, chunk_overlap: int | None = None) -> KnowledgeBase:
        name = validate_name(name)
        size = chunk_size or self.settings.kb_chunk_size
        overlap = self.settings.kb_chunk_overlap if chunk_overlap is None else chunk_overlap
        if not 50 <= size <= 8000 or not 0 <= overlap < size:
            raise UserError("errors.kb_manager.chunk_overlap_must_smaller")
        model = (embedding_model or self.settings.embedding_model).strip()
        self.embedder_for(model)  # fail now, not at the first upload
        with self._lock:
            if self.exists(name):
                raise _name_taken(name)
            config = KBConfig(name=name, embedding_model=model, chunk_size=size, chunk_overlap=overlap)
            folder = self.folder / config.id
            folder.mkdir(parents=True)
            kb = KnowledgeBase(folder, config, self.client)
            kb.save_config()
            self._bases[config.id] = kb
        return kb

    def ensure(self, name: str) -> KnowledgeBase:
        return self.get(name) if self.exists(name) else self.create(name)

    def rename(self, old: str, new: str) -> None:
        new = validate_name(new)
        with self._lock:
            kb = self.get(old)
            if new != old and self.exists(new):
                raise _name_taken(new)
            kb.config.name = new
            kb.save_config()

    def set_prompts(self, name: str, zh: str, en: str) -> None:
        from core.kb.rag import check_template

        kb = self.get(name)
        kb.config.prompt_zh, kb.config.prompt_en = check_template(zh), check_template(en)
        kb.save_config()

    def delete(self, name: str) -> None:
        with self._lock:
            kb = self.get(name)
            if not kb.write_lock.acquire(blocking=False):
                raise UserError("errors.kb_manager.knowledge_base_being_indexed")
            try:
                self.client.delete_collection(kb.config.collection_name)
                shutil.rmtree(kb.folder, ignore_errors=True)
                del self._bases[kb.config.id]
                self._searchers.pop(kb.config.id, None)
            finally:
                kb.write_lock.release()
        # Never call the watcher under self._lock: it calls this manager under its own lock.
        self.watcher.forget(kb.config.id)

    def change_embedding_model(self, name: str, spec: str) -> list[Path]:
        """Switch a base to another embedding model. Its vectors are of the old model, so the index is
        emptied (re-index needed) and the calibration dropped; returns the uploaded files kept in the
        base's folder, which the caller re-indexes (server folders must be added again)."""
        spec = spec.strip()
        kb = self.get(name)
        if spec == kb.config.embedding_model:
            return []
        self.embedder_for(spec)  # load (or fail clearly, e.g. offline download) before touching the base
        with self._write(kb):
            self.client.delete_collection(kb.config.collection_name)
            kb.collection = self.client.get_or_create_collection(kb.config.collection_name, metadata={"hnsw:space": "cosine"})
            kb.manifest.files = {}
            kb.manifest.save()
            kb.config.embedding_model = spec
            kb.config.fusion = kb.config.dense_weight = kb.config.dense_weight_en = kb.config.threshold = None
            kb.save_config()
            with self._lock:
                self._searchers.pop(kb.config.id, None)
        self.watcher.refresh(kb.config.id)  # watched folders re-index themselves
        return sorted(p for p in kb.files_dir.iterdir()) if kb.files_dir.exists() else []

    def embedder(self, kb: KnowledgeBase):
        return self.embedder_for(kb.config.embedding_model)

    def embedder_for(self, spec: str):
        s = self.settings
        return get_embedder(spec, s.models_dir, s.embed_device, s.embed_precision, s.embed_backend)

    # --- files --------------------------------------------------------------------
    def files(self, name: str) -> list[dict]:
        kb = self.get(name)
        return [
            {"source": s, "chunks": len(e.chunk_ids), "kb": round(e.size / 1024, 1), "encoding": e.encoding, "duplicate_of": e.duplicate_of,
             "indexed": time.strftime("%Y-%m-%d %H:%M", time.localtime(e.indexed))}
            for s, e in sorted(kb.manifest.snapshot().items())
        ]

    def delete_file(self, name: str, source: str) -> None:
        kb = self.get(name)
        with self._write(kb):
            kb.manifest.files.pop(source, None)
            for twin in [s for s, e in kb.manifest.files.items() if e.duplicate_of == source]:
                del kb.manifest.files[twin]  # no chunks of their own; the next index run indexes them
            kb.delete_source(source)
            kb.manifest.save()
            uploaded = kb.files_dir / PurePosixPath(source).parts[0]
            if uploaded.is_file() and len(PurePosixPath(source).parts) == 1:
                uploaded.unlink()

    def save_uploads(self, name: str, uploads: list[tuple[str, bytes]]) -> list[Path]:
        """Keep uploaded files in the base's folder (so a resumed job finds them); returns their paths."""
        kb = self.get(name)
        kb.files_dir.mkdir(parents=True, exist_ok=True)
        total = sum(len(data) for _, data in uploads)
        if total > self.settings.max_upload_mb * 1e6:
            raise UserError(
                msg("errors.kb_manager.upload_too_large_mb", total=total / 1e6),
                msg("errors.kb_manager.upload_too_large_mb.hint", max_upload_mb=self.settings.max_upload_mb),
            )
        named = []
        for filename, data in uploads:  # every name checked before any file is written
            base = PurePosixPath(filename.replace("/", "_")).name.strip()
            if base in ("", ".", "..") or "\x00" in base:
                raise UserError("errors.kb_manager.invalid_file_name", filename=filename)
            refusal = name_too_long(base)
            if refusal is not None:
                raise refusal
            named.append((base, data))
        paths = []
        for base, data in named:
            path = kb.files_dir / base
            if path.is_symlink():  # nothing here makes links, but never write through one
                path.unlink()
            path.write_bytes(data)
            if path not in paths:
                paths.append(path)
        return paths

    def allowed_folder(self, folder: str) -> Path:
        """A server folder the UI may index: it must lie inside one of `settings.kb_roots` and
        outside the data folder (links in it are held to it by the path policy when indexed)."""
        refusal = name_too_long(folder.strip())
        if refusal is not None:
            raise refusal
        path = Path(folder.strip()).expanduser().resolve()
        roots = [r.expanduser().resolve() for r in self.settings.kb_roots]
        if not any(path == r or r in path.parents for r in roots):
            raise UserError(
                msg("errors.kb_manager.outside_allowed_folders", path=path),
                msg("errors.kb_manager.outside_allowed_folders.hint", value=', '.join(map(str, roots))),
            )
        if inside(str(path), str(self.settings.home)):
            raise data_folder(path)
        if not path.is_dir():
            raise UserError("errors.kb_manager.folder_server", path=path)
        return path

    def policy(self, kb: KnowledgeBase) -> PathPolicy:
        """What an index run of `kb` may read: anything but the data folder, except its own uploads."""
        return PathPolicy(forbidden=(self.settings.home,), allowed=(kb.files_dir,))

    def zip_limits(self) -> ZipLimits:
        s = self.settings
        return ZipLimits(s.max_file_mb * 1_000_000, s.max_archive_mb * 1_000_000, s.max_archive_ratio, s.max_archive_members)

    # --- indexing -----------------------------------------------------------------
    @contextmanager
    def _write(self, kb: KnowledgeBase) -> Iterator[None]:
        """One writer per base; a second one is told why instead of waiting silently."""
        if not kb.write_lock.acquire(timeout=1.0):
            raise UserError("errors.kb_manager.being_indexed_right_now", name=kb.name)
        try:
            yield
        finally:
            kb.write_lock.release()

    def index(self, name: str, paths: list[Path], progress=None, should_stop=lambda: False) -> IndexResult:
        kb = self.get(name)
        with self._write(kb):
            indexer = Indexer(
                kb, self.embedder(kb), self.settings.max_file_mb * 1_000_000, self.settings.kb_embed_batch,
                self.policy(kb), self.zip_limits(), ocr=self.settings.kb_ocr,
            )
            return indexer.run(paths, progress, should_stop)

    def start_index(self, name: str, paths: list[Path], watched: bool = False) -> Job:
        """`watched`: started by the folder watcher (the job says so, the page counts it as a sync)."""
        self._require_jobs()
        kb = self.get(name)
        title = f"{name}: {', '.join(Path(p).name for p in paths[:3])}{'…' if len(paths) > 3 else ''}"
        params = {"kb": name, "kb_id": kb.config.id, "paths": [str(p) for p in paths]}
        return self.jobs.start(INDEX_JOB, ("👁 " if watched else "") + title, params | ({"watched": True} if watched else {}))

    def _require_jobs(self) -> None:
        if self.jobs is None:
            raise UserError("errors.kb_manager.background_jobs_available_here")

    def _index_job(self, ctx: JobContext) -> None:
        """The job runner; re-running it after a crash skips what the manifest already has."""
        last = 0.0

        def progress(status: IndexProgress) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < REPORT_EVERY_S and status.phase != "done":
                return
            last = now
            ctx.report(status.fraction, status.message(), files=[r.to_json() for r in status.reports],
                       files_read=status.files)

        params = ctx.job.params
        renamed = self._bases.get(params.get("kb_id", ""))  # the base may have been renamed since
        name = renamed.name if renamed is not None else params["kb"]
        result = self.index(name, [Path(p) for p in params["paths"]], progress, lambda: ctx.cancelled)
        ctx.report(1.0, msg("kb.step.done"), files=[r.to_json() for r in result.reports])
        ctx.set_result(**result.summary(), chunks=result.chunks_added, seconds=round(result.seconds, 2))

    # --- search -------------------------------------------------------------------
    def searcher(self, name: str) -> HybridSearcher:
        kb = self.get(name)
        with self._lock:
            if kb.config.id not in self._searchers:
                c, s = kb.config, self.settings
                self._searchers[kb.config.id] = HybridSearcher(
                    kb, self.embedder(kb),
                    s.kb_dense_weight if c.dense_weight is None else c.dense_weight,
                    c.fusion or s.kb_fusion,
                    s.kb_dense_weight_en if c.dense_weight_en is None else c.dense_weight_en,
                    get_reranker(s.kb_reranker, s.models_dir), s.kb_rerank_depth,
                )
            return self._searchers[kb.config.id]

    def threshold(self, name: str) -> float:
        """The base's calibrated relevance threshold, else the default."""
        value = self.get(name).config.threshold
        return self.settings.kb_threshold if value is None else value

    def forget_searcher(self, name: str) -> None:
        """After calibration changed the base's fusion settings."""
        with self._lock:
            self._searchers.pop(self.get(name).config.id, None)

    def search(self, name: str, query: str, k: int | None = None, threshold: float = 0.0, mode: str = "hybrid") -> list[Hit]:
        return self.searcher(name).search(query, k or self.settings.kb_top_k, threshold, mode)


def _name_taken(name: str) -> UserError:
    return UserError("errors.kb_manager.knowledge_base_named_already", name=name)
