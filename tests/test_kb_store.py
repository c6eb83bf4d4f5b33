"""Indexing into real Chroma on disk: mixed folders, incremental re-index, duplicates, crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import Settings
from core.errors import UserError
from core.jobs import Job, JobRegistry
from core.kb.manager import INDEX_JOB, KnowledgeBaseManager
from tests.test_kb_loaders import make_pdf, make_zip, write_samples

REPO = Path(__file__).resolve().parent.parent


def kb_settings(tmp_path: Path, **overrides) -> Settings:
    values = {"data_dir": tmp_path / "data", "load_on_start": False, "embedding_model": "hash", "kb_roots": [tmp_path], **overrides}
    return Settings(**values)


@pytest.fixture
def kbs(tmp_path) -> KnowledgeBaseManager:
    return KnowledgeBaseManager(kb_settings(tmp_path))


def chunk_set(kbs: KnowledgeBaseManager, name: str) -> set[tuple[str, str, str]]:
    got = kbs.get(name).collection.get(include=["documents", "metadatas"])
    return {(i, m["source"], d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])}


def test_mixed_folder_with_broken_files_and_odd_names(kbs, tmp_path):
    folder = tmp_path / "我的 资料 & notes"
    write_samples(folder)
    (folder / "empty.md").write_bytes(b"")
    (folder / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(3000))
    (folder / "truncated.pdf").write_bytes(make_pdf("cut short")[:180])
    (folder / "gbk 笔记.txt").write_bytes("国标编码的中文笔记，讲的是熊猫。".encode("gbk") * 5)
    (folder / "back\\slash & co.md").write_text("# Odd\nbackslash name about hedgehogs", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "archive.zip").write_bytes(make_zip({"inner/深.md": "# 深\n海豚".encode(), "../escape.md": b"evil"}))
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD.md").write_text("hidden, never indexed")
    kbs.create("mixed")
    result = kbs.index("mixed", [folder])
    status = {r.source: (r.status, r.reason) for r in result.reports}
    label = folder.name
    assert status[f"{label}/empty.md"] == ("failed", "The file is empty.")
    assert "not a text file" in status[f"{label}/binary.md"][1]
    assert "truncated" in status[f"{label}/truncated.pdf"][1]
    assert "path traversal" in status[f"{label}/sub/archive.zip/../escape.md"][1]
    for name in ("guide.md", "paper.pdf", "report.docx", "page.html", "table.csv", "data.json", "book.ipynb", "notes.txt",
                 "gbk 笔记.txt", "back\\slash & co.md", "sub/archive.zip/inner/深.md"):
        assert status[f"{label}/{name}"][0] == "indexed", name
    assert not any(".git" in s for s in status)
    assert kbs.get("mixed").manifest.files[f"{label}/gbk 笔记.txt"].encoding in ("gb2312", "gbk", "gb18030")
    assert kbs.search("mixed", "熊猫", 1)[0].source == f"{label}/gbk 笔记.txt"
    assert kbs.search("mixed", "hedgehogs", 1)[0].source == f"{label}/back\\slash & co.md"


def test_reindex_skips_unchanged_replaces_changed_removes_deleted(kbs, tmp_path):
    folder = tmp_path / "docs"
    write_samples(folder)
    kbs.create("inc", chunk_size=100, chunk_overlap=20)
    first = kbs.index("inc", [folder])
    assert first.count("indexed") == 8
    before = chunk_set(kbs, "inc")

    again = kbs.index("inc", [folder])
    assert again.count("unchanged") == 8 and again.chunks_added == 0
    assert chunk_set(kbs, "inc") == before

    (folder / "notes.txt").write_text("now about zebras instead", encoding="utf-8")
    (folder / "table.csv").unlink()
    (folder / "new.md").write_text("# New\nabout koalas", encoding="utf-8")
    third = kbs.index("inc", [folder])
    status = {r.source: r.status for r in third.reports}
    assert status["docs/notes.txt"] == "indexed" and status["docs/new.md"] == "indexed"
    assert status["docs/table.csv"] == "removed" and status["docs/guide.md"] == "unchanged"
    after = chunk_set(kbs, "inc")
    sources = [s for _, s, _ in after]
    assert "docs/table.csv" not in sources
    assert not any("giraffes" in d for _, _, d in after)  # the old version is gone, not duplicated
    assert {i for i, _, _ in after} == {i for e in kbs.get("inc").manifest.files.values() for i in e.chunk_ids}
    assert kbs.search("inc", "zebras", 1)[0].source == "docs/notes.txt"


def test_duplicate_uploads_are_not_indexed_twice(kbs):
    kbs.create("up")
    data = "# Same\nthe same content about lemurs".encode()
    paths = kbs.save_uploads("up", [("a.md", data), ("a.md", data), ("copy of a.md", data)])
    assert [p.name for p in paths] == ["a.md", "copy of a.md"]
    result = kbs.index("up", paths)
    assert {(r.source, r.status) for r in result.reports} == {("a.md", "indexed"), ("copy of a.md", "duplicate")}
    again = kbs.index("up", kbs.save_uploads("up", [("a.md", data)]))
    assert again.reports[0].status == "unchanged"
    assert len(chunk_set(kbs, "up")) == result.chunks_added
    kbs.delete_file("up", "a.md")
    assert chunk_set(kbs, "up") == set() and not (kbs.get("up").files_dir / "a.md").exists()


def test_a_duplicate_takes_over_when_its_original_is_deleted(kbs, tmp_path):
    folder = tmp_path / "twins"
    folder.mkdir()
    for name in ("a.md", "b.md"):
        (folder / name).write_text("# Twin\nidentical text about narwhals", encoding="utf-8")
    kbs.create("twins")
    first = {r.source: r.status for r in kbs.index("twins", [folder]).reports}
    assert first == {"twins/a.md": "indexed", "twins/b.md": "duplicate"}
    assert kbs.get("twins").manifest.aliases() == {"twins/b.md": "twins/a.md"}
    assert {r.status for r in kbs.index("twins", [folder]).reports} == {"unchanged", "duplicate"}
    (folder / "a.md").unlink()
    second = {r.source: r.status for r in kbs.index("twins", [folder]).reports}
    assert second == {"twins/a.md": "removed", "twins/b.md": "indexed"}
    assert {s for _, s, _ in chunk_set(kbs, "twins")} == {"twins/b.md"}


def test_oversized_file_is_reported_and_others_continue(tmp_path):
    kbs = KnowledgeBaseManager(kb_settings(tmp_path, max_file_mb=5))
    folder = tmp_path / "big"
    folder.mkdir()
    with open(folder / "huge.txt", "wb") as f:
        f.write(("二十兆的大文件。" * 1000 + "\n").encode() * 830)  # ~20 MB
    (folder / "small.md").write_text("# Small\nfine", encoding="utf-8")
    kbs.create("big")
    result = kbs.index("big", [folder])
    status = {r.source: r for r in result.reports}
    assert (folder / "huge.txt").stat().st_size > 19_900_000
    assert status["big/huge.txt"].status == "failed" and "too large" in status["big/huge.txt"].reason
    assert status["big/small.md"].status == "indexed"


def test_names_are_validated_and_bases_can_be_renamed_and_deleted(kbs):
    for bad in ("", "a/b", "../x", "x" * 80):
        with pytest.raises(UserError):
            kbs.create(bad)
    kbs.create("旧名字")
    with pytest.raises(UserError, match="already exists"):
        kbs.create("旧名字")
    kbs.rename("旧名字", "new name")
    assert kbs.names() == ["new name"]
    reopened = KnowledgeBaseManager(kbs.settings)  # same process: shares the one Chroma client
    assert reopened.names() == ["new name"]
    kbs.delete("new name")
    assert kbs.names() == [] and not list(kbs.folder.iterdir())


def test_server_folders_are_restricted_to_the_configured_roots(kbs, tmp_path):
    inside = tmp_path / "corpus"
    inside.mkdir()
    assert kbs.allowed_folder(str(inside)) == inside.resolve()
    with pytest.raises(UserError, match="outside the allowed folders"):
        kbs.allowed_folder("/etc")
    with pytest.raises(UserError, match="outside the allowed folders"):
        kbs.allowed_folder(str(inside / ".." / ".." / ".."))


def _corpus(folder: Path, files: int) -> None:
    folder.mkdir(parents=True)
    for i in range(files):
        lines = [f"## Part {j}\nDocument {i} section {j} talks about topic{i} and subject{j}. " * 3 for j in range(8)]
        (folder / f"doc{i:03d}.md").write_text(f"# Doc {i}\n" + "\n".join(lines), encoding="utf-8")


def test_kill_9_during_indexing_then_resume_gives_the_clean_chunk_set(tmp_path):
    corpus = tmp_path / "corpus"
    _corpus(corpus, 40)
    env = {**os.environ, "LIANDAN_DATA_DIR": str(tmp_path / "crash"), "LIANDAN_EMBEDDING_MODEL": "hash",
           "LIANDAN_KB_EMBED_BATCH": "4", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "core", "index", "--kb", "crash", str(corpus)]
    manifest = None
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done_at_kill = 0
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        manifest = manifest or next((tmp_path / "crash").glob("kb/bases/*/manifest.json"), None)
        if manifest is not None:
            try:
                done_at_kill = len(json.loads(manifest.read_text(encoding="utf-8"))["files"])
            except (ValueError, OSError):
                done_at_kill = 0
            if done_at_kill >= 5:
                proc.send_signal(signal.SIGKILL)
                break
        time.sleep(0.01)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the index finished before it could be killed: make the corpus bigger"
    assert 5 <= done_at_kill < 40

    # Resume in this process (the killed one is gone, so its Chroma client is too): same code as the CLI's.
    crashed = KnowledgeBaseManager(Settings(data_dir=tmp_path / "crash", load_on_start=False, embedding_model="hash", kb_embed_batch=4))
    resumed = crashed.index("crash", [corpus])
    assert resumed.count("unchanged") >= done_at_kill and resumed.count("failed") == 0
    assert resumed.count("indexed") + resumed.count("unchanged") == 40
    clean = KnowledgeBaseManager(kb_settings(tmp_path, kb_embed_batch=4))
    clean.create("crash")
    clean.index("crash", [corpus])
    assert chunk_set(crashed, "crash") == chunk_set(clean, "crash")
    got = crashed.get("crash").collection.get(include=["metadatas"])
    keys = [(m["source"], m["chunk"]) for m in got["metadatas"]]
    assert len(keys) == len(set(keys)) == crashed.get("crash").manifest.chunk_count()


def test_interrupted_index_job_resumes_after_a_restart(tmp_path):
    settings = kb_settings(tmp_path)
    folder = tmp_path / "docs"
    write_samples(folder)
    kbs = KnowledgeBaseManager(settings, JobRegistry(settings.jobs_dir))
    kbs.create("jobs")
    later = ["paper.pdf", "report.docx", "data.json"]
    for name in later:
        (folder / name).rename(tmp_path / name)
    kbs.index("jobs", [folder])  # the part of the work done before the "crash"
    for name in later:
        (tmp_path / name).rename(folder / name)
    job = Job(id="kb-index-crashed", kind=INDEX_JOB, title="jobs", params={"kb": "jobs", "paths": [str(folder)]}, status="running")
    kbs.jobs.save(job)

    registry = JobRegistry(settings.jobs_dir)  # the app restarts
    assert registry.get(job.id).status == "interrupted"
    restarted = KnowledgeBaseManager(settings, registry)
    registry.resume(job.id)
    finished = registry.wait(job.id, timeout=60)
    assert finished.status == "done", finished.error
    files = {f["source"]: f["status"] for f in finished.details["files"]}
    assert files["docs/guide.md"] == "unchanged" and files["docs/paper.pdf"] == "indexed"
    assert finished.result["indexed"] == 3 and finished.result["unchanged"] == 5
    assert len(restarted.files("jobs")) == 8


def test_progress_is_one_rising_fraction_over_reading_then_embedding(tmp_path, monkeypatch):
    """Small rounds force several read-then-embed cycles: the bar never goes back, ends at 1,
    and the chunk set equals a one-round build."""
    from core.kb import indexer

    corpus = tmp_path / "corpus"
    _corpus(corpus, 12)
    one_round = KnowledgeBaseManager(kb_settings(tmp_path / "one"))
    one_round.create("c")
    one_round.index("c", [corpus])

    monkeypatch.setattr(indexer, "ROUND_CHUNKS", 20)
    kbs = KnowledgeBaseManager(kb_settings(tmp_path, kb_embed_batch=4))
    kbs.create("c")
    seen = []
    result = kbs.index("c", [corpus], lambda status: seen.append((status.phase, status.done, status.total, status.fraction)))
    fractions = [f for *_, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and seen[-1][0] == "done"
    phases = [p for p, *_ in seen]
    rounds = sum(1 for a, b in zip(phases, phases[1:]) if a == "embedding" and b == "reading")
    assert rounds >= 2  # several rounds really happened
    embedding = [(d, t) for p, d, t, _ in seen if p == "embedding"]
    assert all(0 < d <= t for d, t in embedding) and any(d == t for d, t in embedding)
    assert result.count("indexed") == 12
    assert chunk_set(kbs, "c") == chunk_set(one_round, "c")


def test_the_file_count_grows_while_files_are_read_not_only_at_the_end(kbs, tmp_path):
    """The header's count: files read this run count before their chunks are written (one round
    writes all of them together at its end), a refused file never counts, and a re-run does not
    count a base's files twice."""
    corpus = tmp_path / "count"
    _corpus(corpus, 4)
    (corpus / "setup.exe").write_bytes(b"MZ" + bytes(64))
    (corpus / "empty.md").write_bytes(b"")
    kbs.create("n")
    seen: list[tuple[str, int, int]] = []

    def watch(status) -> None:
        seen.append((status.phase, status.files, len(kbs.get("n").manifest.files)))

    kbs.index("n", [corpus], watch)
    reading = [files for phase, files, _ in seen if phase == "reading"]
    assert reading[-1] == 4 and reading == sorted(reading) and len(set(reading)) > 1, seen
    assert any(files > in_manifest for _, files, in_manifest in seen), "the count only moved at the end"
    assert all(files <= 4 for _, files, _ in seen)  # the empty file and the .exe never count
    (corpus / "doc000.md").write_text("# changed\n\nNew words.", encoding="utf-8")
    seen.clear()
    kbs.index("n", [corpus], watch)
    assert {files for _, files, _ in seen} == {4}, seen  # the changed file was already counted
