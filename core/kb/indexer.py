"""Incremental indexing: find files, skip unchanged ones, embed the rest in batches.

Each file ends in one status: indexed, unchanged, duplicate (same content as another
file already in the base), failed (with the reason) or removed (gone from a folder that
was indexed before). Chunks of several files are embedded together (batching is most
of the speed), and a file is recorded in the manifest only once all its chunks are written.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any
from dataclasses import asdict, dataclass, field
from pathlib import Path

from langchain_core.embeddings import Embeddings

from core.errors import Cancelled, UserError
from core.kb import chunking, loaders
from core.kb.archive import Member, ZipLimits, ZipReader
from core.paths import PathPolicy, PathRefused, unreadable
from core.kb.store import FileEntry, KnowledgeBase, chunk_id, content_hash
from core.kb.tokenize import tokens
from core.i18n import Message, msg, stored

log = logging.getLogger(__name__)
SKIP_DIRS = {"node_modules", "__pycache__", "venv", ".venv"}
WRITE_BATCH = 512  # chunks per Chroma upsert: each call costs ~0.1 s on top of ~1 ms per chunk
ROUND_CHUNKS = 20_000  # chunks read ahead of embedding (~30 MB of text): the whole Datawhale corpus is one round


@dataclass
class Item:
    """One document to consider: its source name and how to get its bytes (may raise LoadError)."""

    source: str
    read: Callable[[], bytes]


@dataclass
class FileReport:
    source: str
    status: str  # indexed | unchanged | duplicate | failed | removed
    chunks: int = 0
    reason_message: Message | None = None  # why it failed or was skipped, rendered where it is shown
    notes: list[dict] = field(default_factory=list)  # Message.to_json() of what the reader noticed ("12 pages, 9 by OCR")

    @property
    def reason(self) -> str:
        """English (the CLI, logs)."""
        return str(self.reason_message) if self.reason_message else ""

    def to_json(self) -> dict[str, Any]:
        """The row a job's details keep ("files"); `reason_of` reads it back."""
        return asdict(self)


def reason_of(row: Mapping[str, Any]) -> Message | None:
    """A stored report row's reason: a Message, or from versions before messages were keys, an
    English sentence with its Chinese beside it ("reason"/"reason_zh")."""
    return stored(row.get("reason_message")) or stored(row.get("reason"), row.get("reason_zh", ""))


@dataclass
class IndexResult:
    reports: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for r in self.reports if r.status == status)

    @property
    def chunks_added(self) -> int:
        return sum(r.chunks for r in self.reports if r.status == "indexed")

    def summary(self) -> dict[str, int]:
        return {s: self.count(s) for s in ("indexed", "unchanged", "duplicate", "failed", "removed")}


@dataclass
class IndexProgress:
    """Where a run is: `done`/`total` count files while reading, chunks while embedding."""

    phase: str  # reading | page (of a long file being read) | embedding | done
    done: int
    total: int
    source: str = ""
    fraction: float = 0.0  # of the whole run, 0-1
    reports: list[FileReport] = field(default_factory=list)
    # Files the base holds counting this run's accepted ones whose chunks are not written yet: a
    # round's files enter the manifest together near its end, and a count stuck at 0 looked dead.
    files: int = 0

    def message(self) -> Message:
        """Where the run is, as a stored text: the job panel and CLI render it in their language."""
        return msg(f"kb.step.{self.phase}", done=self.done, total=self.total, source=self.source)


Progress = Callable[[IndexProgress], None]


def _duplicate(source: str, twin: str) -> FileReport:
    return FileReport(source, "duplicate", reason_message=msg("errors.indexer.same_content", twin=twin))


def _keep_dir(name: str) -> bool:
    return not name.startswith(".") and name not in SKIP_DIRS


def _keep_file(name: str) -> bool:
    return not name.startswith(".") and loaders.is_supported(name)


def _file_reader(path: Path, root: Path, max_bytes: int, policy: PathPolicy) -> Callable[[], bytes]:
    """Reads through the path policy (no link out of `root`, regular files only, O_NOFOLLOW)."""

    def read() -> bytes:
        fd = policy.open_fd(path, root, _keep_dir, _keep_file)
        with os.fdopen(fd, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise loaders.too_large(size, max_bytes)
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise loaders.too_large(len(data), max_bytes)
        return data

    return read


def _zip_items(source: str, path: Path, root: Path, policy: PathPolicy, limits: ZipLimits) -> list[Item]:
    """One item per supported member, named `<archive source>/<member>`, read one at a time when
    the indexer reaches it; an archive that cannot be listed is one failed item."""

    def opener():
        fd = policy.open_fd(path, root, _keep_dir, _keep_file)
        handle = os.fdopen(fd, "rb")
        size = os.fstat(fd).st_size
        if size > limits.total_bytes:
            handle.close()
            raise loaders.too_large(size, limits.total_bytes)
        return handle

    reader = ZipReader(opener, limits)
    try:
        members = reader.members()
    except Exception as exc:  # noqa: BLE001 - one bad archive is that archive's failure, not the run's
        return [Item(source, _raiser(exc))]
    return [Item(f"{source}/{m.name}", _member_reader(reader, m)) for m in members]


def _member_reader(reader: ZipReader, member: Member) -> Callable[[], bytes]:
    return lambda: reader.read(member)


def _raiser(error: Exception) -> Callable[[], bytes]:
    def read() -> bytes:
        raise error

    return read


def discover(
    paths: list[Path], max_bytes: int, policy: PathPolicy | None = None, limits: ZipLimits | None = None
) -> tuple[list[Item], list[str]]:
    """Items for folders (source = `<folder name>/<relative path>`), files and zips, plus the
    source prefixes whose vanished files should be removed from the base. Nothing is read here
    but zip directories; what the path policy refuses becomes a failed item with its reason."""
    policy = policy or PathPolicy()
    limits = limits or ZipLimits(max_bytes)
    items: list[Item] = []
    prefixes: list[str] = []
    for given in paths:
        given = Path(given)
        try:
            root = policy.root(given)
            is_dir, is_file = root.is_dir(), root.is_file()
        except PathRefused as exc:
            items.append(Item(str(given), _raiser(exc)))
            continue
        except OSError as exc:
            items.append(Item(str(given), _raiser(unreadable(given, exc))))
            continue
        if is_dir:
            label = root.name or "root"
            prefixes.append(f"{label}/")
            for found in policy.walk(root, _keep_dir, _keep_file):
                rel = found.path.relative_to(root).as_posix()
                source = label if rel == "." else f"{label}/{rel}"
                if found.refused is not None:
                    items.append(Item(source, _raiser(found.refused)))
                else:
                    items += _expand(source, found.path, root, max_bytes, policy, limits)
        elif is_file:
            items += _expand(given.name, root, root, max_bytes, policy, limits)
            if root.suffix.lower() in loaders.ARCHIVE_SUFFIXES:
                prefixes.append(f"{given.name}/")
        else:
            items.append(Item(str(given), _raiser(loaders.LoadError("errors.indexer.such_file_folder"))))
    return items, prefixes


def _expand(source: str, path: Path, root: Path, max_bytes: int, policy: PathPolicy, limits: ZipLimits) -> list[Item]:
    if Path(source).suffix.lower() in loaders.ARCHIVE_SUFFIXES:
        return _zip_items(source, path, root, policy, limits)
    return [Item(source, _file_reader(path, root, max_bytes, policy))]


def failure(source: str, exc: BaseException) -> FileReport:
    """The per-file report of any exception: a user error's own words, an OS error's reason, or
    (a bug, or a parser we do not control) the error's type, logged with its traceback."""
    if isinstance(exc, UserError):
        return FileReport(source, "failed", reason_message=exc.as_message())
    if isinstance(exc, OSError):
        refusal = unreadable(Path(source), exc)
        return FileReport(source, "failed", reason_message=refusal.as_message())
    if isinstance(exc, MemoryError):
        return FileReport(source, "failed", reason_message=msg("errors.indexer.enough_memory_read_file"))
    log.error("unexpected error indexing %s", source, exc_info=exc)
    detail = f"{type(exc).__name__}: {str(exc)[:120]}".rstrip(": ")
    return FileReport(source, "failed", reason_message=msg("errors.indexer.unexpected_error_reading_file", detail=detail))


@dataclass
class _Pending:
    source: str
    digest: str
    size: int
    encoding: str
    chunks: list[chunking.Chunk]
    notes: list[dict] = field(default_factory=list)


class Indexer:
    def __init__(
        self, kb: KnowledgeBase, embedder: Embeddings, max_bytes: int, batch_size: int = 0,
        policy: PathPolicy | None = None, zip_limits: ZipLimits | None = None, ocr: bool = True,
    ) -> None:
        """`batch_size` 0 takes the embedder's own (small on CPU, large on CUDA). `policy` says
        which paths may be read (the manager forbids the data folder but for the base's uploads).
        `ocr` False leaves scanned pages and images unread (each is named in the report)."""
        self.kb = kb
        self.embedder = embedder
        self.max_bytes = max_bytes
        self.policy = policy or PathPolicy(allowed=(kb.files_dir,))
        self.zip_limits = zip_limits or ZipLimits(max_bytes)
        self.ocr = ocr
        self.batch_size = batch_size or getattr(embedder, "batch_size", 64)
        self.write_batch = min(WRITE_BATCH, 32 * self.batch_size)

    def run(
        self,
        paths: list[Path],
        progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> IndexResult:
        started = time.perf_counter()
        items, prefixes = discover(paths, self.max_bytes, self.policy, self.zip_limits)
        result = IndexResult()
        manifest = self.kb.manifest
        known = manifest.by_hash()
        meter = _Meter(len(items), result, progress, lambda: len(manifest.files))
        self._index(items, known, result, should_stop, meter)
        seen = {item.source for item in items}
        removed = [s for s in manifest.files if any(s.startswith(p) for p in prefixes) and s not in seen]
        for source in removed:
            self._forget(source)
            result.reports.append(FileReport(source, "removed"))
        # A duplicate whose original just vanished is now the only copy: index it in its own right.
        orphans = [i for i in items if i.source in manifest.files and manifest.files[i.source].duplicate_of in removed]
        if orphans:
            for item in orphans:
                manifest.files.pop(item.source)
            result.reports = [r for r in result.reports if r.source not in {i.source for i in orphans}]
            meter.extend(len(orphans))
            self._index(orphans, manifest.by_hash(), result, should_stop, meter)
        manifest.save()
        result.seconds = time.perf_counter() - started
        meter.finish()
        return result

    def _index(self, items: list[Item], known: dict[str, str], result: IndexResult, should_stop: Callable[[], bool], meter: "_Meter") -> None:
        """Read files until a round holds ROUND_CHUNKS chunks (memory stays bounded), then embed and
        write them: knowing a round's chunk count up front is what makes the ETA honest."""
        next_item = 0
        while next_item < len(items):
            pending: list[_Pending] = []
            chunks = 0
            meter.new_round()
            while next_item < len(items) and chunks < ROUND_CHUNKS:
                if should_stop():
                    raise Cancelled()
                item = items[next_item]
                next_item += 1
                found = self._process(item, known, result, should_stop, meter)
                if found is not None:
                    pending.append(found)
                    if found.source not in self.kb.manifest.files:
                        meter.adding.add(found.source)
                    chunks += len(found.chunks)
                meter.read(item.source)
            self._write(pending, result, should_stop, meter)

    def _process(
        self, item: Item, known: dict[str, str], result: IndexResult, should_stop: Callable[[], bool], meter: "_Meter"
    ) -> _Pending | None:
        """Read, compare and load one item; returns what to embed, or None (reported here). A long
        file (a PDF being OCR'd) reports its pages and stops between them on Cancel."""
        manifest = self.kb.manifest
        try:
            data = item.read()
            digest = content_hash(data)
            entry = manifest.files.get(item.source)
            if entry is not None and entry.hash == digest:
                if entry.duplicate_of:
                    result.reports.append(_duplicate(item.source, entry.duplicate_of))
                else:
                    result.reports.append(FileReport(item.source, "unchanged", len(entry.chunk_ids)))
                return None
            twin = known.get(digest)
            if twin is not None and twin != item.source:
                self._forget(item.source)
                manifest.files[item.source] = FileEntry(hash=digest, chunk_ids=[], size=len(data), duplicate_of=twin)
                result.reports.append(_duplicate(item.source, twin))
                return None
            options = loaders.LoadOptions(self.ocr, lambda done, total: meter.page(item.source, done, total), should_stop)
            loaded = loaders.load_bytes(item.source, data, self.max_bytes, options)
            chunks = chunking.split_loaded(loaded, self.kb.config.chunk_size, self.kb.config.chunk_overlap)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of one file is that file's, never the run's
            self._forget(item.source)
            result.reports.append(failure(item.source, exc))
            return None
        known[digest] = item.source
        return _Pending(item.source, digest, len(data), loaded.encoding, chunks, [n.to_json() for n in loaded.notes])

    def _forget(self, source: str) -> None:
        entry = self.kb.manifest.files.pop(source, None)
        if entry is not None and entry.chunk_ids:
            self.kb.delete_source(source)

    def _write(self, pending: list[_Pending], result: IndexResult, should_stop: Callable[[], bool], meter: "_Meter") -> None:
        """Embed in small batches (progress, cancel), write in large ones (Chroma's cost is per call);
        a file enters the manifest as soon as its last chunk is written, so a crash loses little."""
        rows = [(p, c) for p in pending for c in p.chunks]
        ends = list(itertools.accumulate(len(p.chunks) for p in pending))
        recorded = 0
        for p in pending:
            self.kb.delete_source(p.source)  # the old version, and leftovers of a killed run
        for start in range(0, len(rows), self.write_batch):
            batch = rows[start : start + self.write_batch]
            texts = [c.text for _, c in batch]
            # Each distinct text once (boilerplate repeats across files), similar lengths together:
            # a batch is padded to its longest text, so sorting saves compute.
            unique = list(set(texts))
            counts = getattr(self.embedder, "token_counts", lambda batch: [len(t) for t in batch])(unique)
            unique = [t for _, t in sorted(zip(counts, unique))]
            found: dict[str, list[float]] = {}
            for sub in range(0, len(unique), self.batch_size):
                if should_stop():
                    raise Cancelled()
                part = unique[sub : sub + self.batch_size]
                found.update(zip(part, self.embedder.embed_documents(part)))
                meter.embedded(start + round(len(batch) * len(found) / len(unique)), len(rows))
            self.kb.upsert(
                ids=[chunk_id(p.source, p.digest, c.index) for p, c in batch],
                texts=texts,
                embeddings=[found[t] for t in texts],
                metadatas=[
                    {"source": p.source, "chunk": c.index, "heading": c.heading, "tokens": " ".join(tokens(c.text)), **c.meta}
                    for p, c in batch
                ],
            )
            while recorded < len(pending) and ends[recorded] <= start + len(batch):
                self._record(pending[recorded], result)
                meter.adding.discard(pending[recorded].source)
                recorded += 1
            self.kb.manifest.save()
        for p in pending[recorded:]:  # files whose text gave no chunks
            self._record(p, result)
            meter.adding.discard(p.source)
        self.kb.manifest.save()

    def _record(self, p: _Pending, result: IndexResult) -> None:
        ids = [chunk_id(p.source, p.digest, c.index) for c in p.chunks]
        self.kb.manifest.files[p.source] = FileEntry(hash=p.digest, chunk_ids=ids, size=p.size, encoding=p.encoding)
        result.reports.append(FileReport(p.source, "indexed", len(ids), notes=p.notes))


class _Meter:
    """One 0-1 fraction over the whole run: reading a file earns READ_SHARE of its part, the rest
    comes as the round's chunks are embedded (embedding is most of the time: ~80 % on CPU in int8)."""

    READ_SHARE = 0.1

    def __init__(self, files: int, result: IndexResult, callback: Progress | None, in_base: Callable[[], int] = lambda: 0) -> None:
        self.files = files
        self.in_base = in_base  # files in the manifest now
        self.adding: set[str] = set()  # read this run, new to the base, chunks not written yet
        self.result = result
        self.callback = callback
        self.closed = 0  # files of finished rounds
        self.in_round = 0  # files read in the current round

    def extend(self, files: int) -> None:
        self.files += files

    def new_round(self) -> None:
        self.closed += self.in_round
        self.in_round = 0

    def read(self, source: str) -> None:
        self.in_round += 1
        done = self.closed + self.READ_SHARE * self.in_round
        self._emit(done, IndexProgress("reading", self.closed + self.in_round, self.files, source))

    def page(self, source: str, done: int, total: int) -> None:
        """Page `done` of `total` of the file being read (counted as part of reading it)."""
        progress = self.closed + self.READ_SHARE * (self.in_round + done / max(1, total))
        self._emit(progress, IndexProgress("page", done, total, source))

    def embedded(self, chunks: int, total: int) -> None:
        share = self.READ_SHARE + (1 - self.READ_SHARE) * chunks / max(1, total)
        self._emit(self.closed + share * self.in_round, IndexProgress("embedding", chunks, total))

    def finish(self) -> None:
        self.closed, self.in_round = self.files, 0
        self._emit(self.files, IndexProgress("done", self.files, self.files))

    def _emit(self, done: float, status: "IndexProgress") -> None:
        if self.callback is not None:
            status.fraction = min(1.0, done / self.files) if self.files else 1.0
            status.reports = self.result.reports
            status.files = self.in_base() + len(self.adding)
            self.callback(status)
