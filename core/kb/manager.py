"""The process's knowledge bases: create/rename/delete, index (as a resumable job), search.

One manager per process (a `Runtime` cached property), holding the one Chroma client, the
loaded embedders and the search snapshots; pages, the CLI and the API share it.
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
from core.paths import PathPolicy, data_folder, inside, name_too_long

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

    # --- bases --------------------------------------------------------------------
    def names(self) -> list[str]:
        with self._lock:
            return sorted(kb.name for kb in self._bases.values())

    def get(self, name: str) -> KnowledgeBase:
        with self._lock:
            for kb in self._bases.values():
                if kb.name == name:
                    return kb
        raise UserError(
            f"There is no knowledge base '{name}'.", "Create it first (Knowledge Base page or `python -m core index`).",
            zh=f"知识库“{name}”不存在。",
            zh_hint="请先创建它（在“知识库”页面，或运行 `python -m core index`）。",
        )

    def exists(self, name: str) -> bool:
        return name.strip() in self.names()

    def create(self, name: str, embedding_model: str | None = None, chunk_size: int | None = None, chunk_overlap: int | None = None) -> KnowledgeBase:
        name = validate_name(name)
        size = chunk_size or self.settings.kb_chunk_size
        overlap = self.settings.kb_chunk_overlap if chunk_overlap is None else chunk_overlap
        if not 50 <= size <= 8000 or not 0 <= overlap < size:
            raise UserError(
                "Chunk overlap must be smaller than the chunk size (50-8000 characters).",
                zh="分块重叠必须小于分块长度（50-8000 个字符）。",
            )
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
                raise UserError(
                    "This knowledge base is being indexed.", "Cancel the indexing job first.",
                    zh="该知识库正在建立索引。",
                    zh_hint="请先取消索引任务。",
                )
            try:
                self.client.delete_collection(kb.config.collection_name)
                shutil.rmtree(kb.folder, ignore_errors=True)
                del self._bases[kb.config.id]
                self._searchers.pop(kb.config.id, None)
            finally:
                kb.write_lock.release()

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
                f"The upload is too large ({total / 1e6:.0f} MB).", f"Upload at most {self.settings.max_upload_mb} MB at a time.",
                zh=f"上传内容过大（{total / 1e6:.0f} MB）。",
                zh_hint=f"每次最多上传 {self.settings.max_upload_mb} MB。",
            )
        named = []
        for filename, data in uploads:  # every name checked before any file is written
            base = PurePosixPath(filename.replace("/", "_")).name.strip()
            if base in ("", ".", "..") or "\x00" in base:
                raise UserError(f"Invalid file name '{filename}'.", zh=f"文件名“{filename}”无效。")
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
                f"{path} is outside the allowed folders.", f"Allowed: {', '.join(map(str, roots))} (LIANDAN_KB_ROOTS).",
                zh=f"{path} 不在允许的文件夹范围内。",
                zh_hint=f"允许的文件夹：{', '.join(map(str, roots))}（LIANDAN_KB_ROOTS）。",
            )
        if inside(str(path), str(self.settings.home)):
            raise data_folder(path)
        if not path.is_dir():
            raise UserError(f"{path} is not a folder on the server.", zh=f"{path} 不是服务器上的文件夹。")
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
            raise UserError(
                f"'{kb.name}' is being indexed right now.", "Wait for the job to finish or cancel it.",
                zh=f"“{kb.name}”正在建立索引。",
                zh_hint="请等待任务完成，或取消它。",
            )
        try:
            yield
        finally:
            kb.write_lock.release()

    def index(self, name: str, paths: list[Path], progress=None, should_stop=lambda: False) -> IndexResult:
        kb = self.get(name)
        with self._write(kb):
            indexer = Indexer(
                kb, self.embedder(kb), self.settings.max_file_mb * 1_000_000, self.settings.kb_embed_batch,
                self.policy(kb), self.zip_limits(),
            )
            return indexer.run(paths, progress, should_stop)

    def start_index(self, name: str, paths: list[Path]) -> Job:
        if self.jobs is None:
            raise UserError("Background jobs are not available here.", zh="此处无法使用后台任务。")
        kb = self.get(name)
        title = f"{name}: {', '.join(Path(p).name for p in paths[:3])}{'…' if len(paths) > 3 else ''}"
        return self.jobs.start(INDEX_JOB, title, {"kb": name, "kb_id": kb.config.id, "paths": [str(p) for p in paths]})

    def _index_job(self, ctx: JobContext) -> None:
        """The job runner; re-running it after a crash skips what the manifest already has."""
        last = 0.0

        def progress(status: IndexProgress) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < REPORT_EVERY_S and status.phase != "done":
                return
            last = now
            step = None if status.phase == "done" else {
                "key": f"kb.step.{status.phase}", "done": status.done, "total": status.total, "source": status.source,
                "files": status.files}
            ctx.report(status.fraction, status.text(), files=[r.__dict__ for r in status.reports], step=step)

        params = ctx.job.params
        renamed = self._bases.get(params.get("kb_id", ""))  # the base may have been renamed since
        name = renamed.name if renamed is not None else params["kb"]
        result = self.index(name, [Path(p) for p in params["paths"]], progress, lambda: ctx.cancelled)
        ctx.report(1.0, "", files=[r.__dict__ for r in result.reports])
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
    return UserError(
        f"A knowledge base named '{name}' already exists.", "Pick another name.",
        zh=f"名为“{name}”的知识库已存在。", zh_hint="请换一个名称。",
    )
