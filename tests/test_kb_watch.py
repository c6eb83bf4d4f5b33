"""Watched folders with a real temporary folder, the real watchdog observer, real Chroma and jobs.

No wall-clock limits: waits poll for an outcome and only give up (with what they saw) after a
generous hang guard; what is asserted is the outcome (manifest, chunks, how many runs).
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from core.errors import UserError
from core.jobs import JobRegistry
from core.kb.indexer import reason_of
from core.kb.manager import INDEX_JOB, KnowledgeBaseManager
from core.kb.watch import WATCH_FILE
from tests.test_kb_store import kb_settings

HANG_GUARD_S = 180


def manager(tmp_path: Path, debounce: float = 0.5) -> KnowledgeBaseManager:
    settings = kb_settings(tmp_path, kb_watch_debounce_s=debounce, kb_roots=[tmp_path / "server"])
    return KnowledgeBaseManager(settings, JobRegistry(settings.jobs_dir))


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "server" / "笔记"
    path.mkdir(parents=True)
    (path / "a.md").write_text("# 甲\n\n第一份笔记：注意力机制。", encoding="utf-8")
    return path


@pytest.fixture
def kbs(tmp_path, folder):
    m = manager(tmp_path)
    m.create("watched")
    yield m
    m.stop_watching()


def watched_runs(kbs: KnowledgeBaseManager) -> list:
    return [j for j in kbs.jobs.list(INDEX_JOB) if j.params.get("watched")]


def settled(kbs: KnowledgeBaseManager, name: str = "watched", runs: int | None = None) -> list:
    """Wait until every watched folder of `name` is synced (nothing pending, no run active) and at
    least `runs` watched runs finished; returns the runs."""
    deadline = time.monotonic() + HANG_GUARD_S
    while time.monotonic() < deadline:
        statuses = kbs.watch_status(name) if kbs.exists(name) else []
        idle = all(not s.syncing and not s.pending for s in statuses) and not any(j.active for j in kbs.jobs.list())
        done = watched_runs(kbs)
        if idle and (runs is None or len(done) >= runs) and not _quiet_period_open(kbs, name):
            return done
        time.sleep(0.1)
    raise AssertionError(f"watch did not settle: {kbs.watch_status(name)} {[(j.status, j.result) for j in watched_runs(kbs)]}")


def _quiet_period_open(kbs: KnowledgeBaseManager, name: str) -> bool:
    """Internal marks (added / catch-up) are not counted as pending changes; look at them too."""
    kb = kbs.get(name)
    with kbs.watcher._lock:
        return any(live.pending or live.job_id for (k, _), live in kbs.watcher._live.items() if k == kb.config.id)


def sources(kbs: KnowledgeBaseManager, name: str = "watched") -> set[str]:
    return set(kbs.get(name).manifest.snapshot())


def chunk_sources(kbs: KnowledgeBaseManager, name: str = "watched") -> set[str]:
    return {m["source"] for m in kbs.get(name).collection.get(include=["metadatas"])["metadatas"]}


def indexed_counts(kbs: KnowledgeBaseManager) -> Counter:
    """How often each file was embedded, over every watched run (the per-file reports)."""
    return Counter(f["source"] for j in watched_runs(kbs) for f in j.details.get("files", []) if f["status"] == "indexed")


def until(check, kbs: KnowledgeBaseManager, name: str = "watched") -> None:
    """Wait for `check()` to hold (a change reached the base), then for the watch to settle."""
    deadline = time.monotonic() + HANG_GUARD_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {sources(kbs, name)} {kbs.watch_status(name)}")
        time.sleep(0.1)
    settled(kbs, name)


def test_created_changed_moved_and_deleted_files_are_followed(kbs, folder):
    kbs.watch("watched", str(folder))
    settled(kbs, runs=1)
    assert sources(kbs) == {"笔记/a.md"}

    (folder / "b.md").write_text("# 乙\n\n新文件：位置编码。", encoding="utf-8")
    until(lambda: sources(kbs) == {"笔记/a.md", "笔记/b.md"}, kbs)

    (folder / "a.md").write_text("# 甲\n\n改过的笔记：旋转位置编码 RoPE。", encoding="utf-8")
    until(lambda: any("RoPE" in h.text for h in kbs.search("watched", "RoPE", 5, mode="bm25")), kbs)

    (folder / "子目录").mkdir()
    os.rename(folder / "b.md", folder / "子目录" / "c.md")
    until(lambda: sources(kbs) == {"笔记/a.md", "笔记/子目录/c.md"}, kbs)

    (folder / "a.md").unlink()
    until(lambda: sources(kbs) == {"笔记/子目录/c.md"}, kbs)
    assert chunk_sources(kbs) == {"笔记/子目录/c.md"}
    assert kbs.watch_status("watched")[0].changes >= 1

    # Hidden and unsupported files are no change at all: no run for them.
    before = len(watched_runs(kbs))
    (folder / ".swap.md").write_text("editor scratch", encoding="utf-8")
    (folder / "图.bin").write_bytes(b"\x00\x01")
    time.sleep(kbs.settings.kb_watch_debounce_s * 4)
    settled(kbs)
    assert len(watched_runs(kbs)) == before
    # Each version of each file was embedded once: a.md twice (two versions), b.md once, c.md once
    # (a moved file's bytes are the vanished b.md's: indexed in its own right once b.md is removed).
    assert indexed_counts(kbs) == {"笔记/a.md": 2, "笔记/b.md": 1, "笔记/子目录/c.md": 1}


def test_a_burst_of_500_writes_is_one_run_and_nothing_is_indexed_twice(tmp_path, folder):
    kbs = manager(tmp_path, debounce=3.0)  # the burst must fit in one quiet period on a loaded box
    try:
        kbs.create("watched")
        kbs.watch("watched", str(folder))
        first = settled(kbs, runs=1)
        burst = folder / "pull"
        burst.mkdir()
        for i in range(500):  # as a git pull writes: create, then write in two parts
            with open(burst / f"f{i:03d}.md", "w", encoding="utf-8") as handle:
                handle.write(f"# 文件 {i}\n\n")
                handle.flush()
                handle.write(f"第 {i} 份文档，关键词 token{i:03d}。")
        runs = settled(kbs, runs=len(first) + 1)
        assert len(runs) == len(first) + 1, [(j.title, j.result) for j in runs]
        assert runs[0].result["indexed"] == 500
        counts = indexed_counts(kbs)
        assert len(counts) == 501 and set(counts.values()) == {1}, counts.most_common(3)
        assert len(sources(kbs)) == 501
        assert kbs.watch_status("watched")[0].changes == 500
    finally:
        kbs.stop_watching()


def test_changes_made_while_the_app_was_down_are_caught_up_at_start(tmp_path, folder):
    first = manager(tmp_path)
    first.create("watched")
    first.watch("watched", str(folder))
    (folder / "keep.md").write_text("# 留\n\n不会改动的文件。", encoding="utf-8")
    settled(first)
    first.stop_watching()
    assert sources(first) == {"笔记/a.md", "笔记/keep.md"}
    before = len(watched_runs(first))  # the job files are the same folder: a restart lists them too

    # The app is down: edit, add, delete.
    (folder / "a.md").write_text("# 甲\n\n停机时改的：分组查询注意力 GQA。", encoding="utf-8")
    (folder / "new.md").write_text("# 新\n\n停机时新增。", encoding="utf-8")
    (folder / "keep.md").unlink()

    second = manager(tmp_path)
    try:
        second.start_watching()
        runs = settled(second, runs=before + 1)
        assert len(runs) == before + 1 and runs[0].result["indexed"] == 2 and runs[0].result["removed"] == 1, runs[0].result
        assert sources(second) == {"笔记/a.md", "笔记/new.md"}
        assert any("GQA" in h.text for h in second.search("watched", "GQA", 5, mode="bm25"))
    finally:
        second.stop_watching()

    third = manager(tmp_path)  # nothing changed since: no run at all
    try:
        third.start_watching()
        time.sleep(third.settings.kb_watch_debounce_s * 4)
        assert len(settled(third)) == before + 1
        assert third.watch_status("watched")[0].runs == before + 1
    finally:
        third.stop_watching()


def test_a_run_waits_for_an_index_job_that_holds_the_base(kbs, folder):
    kbs.watch("watched", str(folder))
    settled(kbs, runs=1)
    kb = kbs.get("watched")
    with kb.write_lock:  # what a click's index run holds
        (folder / "late.md").write_text("# 晚\n\n等待中写入。", encoding="utf-8")
        time.sleep(kbs.settings.kb_watch_debounce_s * 4)
        assert len(watched_runs(kbs)) == 1
        assert kbs.watch_status("watched")[0].pending >= 1
    settled(kbs, runs=2)
    assert "笔记/late.md" in sources(kbs)


def test_a_folder_that_disappears_pauses_with_a_message_and_comes_back(kbs, folder, tmp_path):
    kbs.watch("watched", str(folder))
    settled(kbs, runs=1)
    away = tmp_path / "elsewhere"
    shutil.move(folder, away)
    deadline = time.monotonic() + HANG_GUARD_S
    while kbs.watch_status("watched")[0].problem is None and time.monotonic() < deadline:
        time.sleep(0.1)
    problem = kbs.watch_status("watched")[0].problem
    assert problem is not None and problem.key == "kb.watch.missing" and str(folder) in str(problem)
    assert "已不存在" in problem.render("zh")
    assert sources(kbs) == {"笔记/a.md"} == chunk_sources(kbs)  # an unmounted disk loses nothing
    assert kbs.watcher.running

    shutil.move(away, folder)
    (folder / "back.md").write_text("# 回\n\n文件夹回来了。", encoding="utf-8")
    settled(kbs, runs=2)
    assert kbs.watch_status("watched")[0].problem is None
    assert sources(kbs) == {"笔记/a.md", "笔记/back.md"}
    (folder / "again.md").write_text("# 再\n\n回来后照常监视。", encoding="utf-8")
    settled(kbs, runs=3)
    assert "笔记/again.md" in sources(kbs)


def test_links_out_of_the_watched_folder_are_never_read(kbs, folder, tmp_path):
    outside = tmp_path / "server" / "secrets"
    outside.mkdir()
    (outside / "key.md").write_text("SECRET-API-KEY-42", encoding="utf-8")
    os.symlink(outside / "key.md", folder / "key.md")
    os.symlink(outside, folder / "linked")
    kbs.watch("watched", str(folder))
    runs = settled(kbs, runs=1)
    reports = {f["source"]: f for f in runs[0].details["files"]}
    assert reports["笔记/key.md"]["status"] == "failed" and "link" in str(reason_of(reports["笔记/key.md"]))
    (outside / "key.md").write_text("SECRET-API-KEY-43 changed", encoding="utf-8")
    (outside / "more.md").write_text("SECRET-API-KEY-44", encoding="utf-8")
    (folder / "plain.md").write_text("# 普通\n\n普通文件。", encoding="utf-8")
    settled(kbs, runs=2)
    texts = kbs.get("watched").collection.get(include=["documents"])["documents"]
    assert not any("SECRET" in t for t in texts)


def test_only_allowed_folders_can_be_watched(kbs, tmp_path):
    with pytest.raises(UserError, match="outside the allowed folders"):
        kbs.watch("watched", "/etc")
    with pytest.raises(UserError):
        kbs.watch("watched", str(tmp_path / "server" / "missing"))
    assert kbs.watch_status("watched") == []


def test_deleting_a_base_or_unwatching_stops_its_watch(kbs, folder, tmp_path):
    kbs.watch("watched", str(folder))
    settled(kbs, runs=1)
    kbs.create("other")
    kbs.watch("other", str(folder))
    settled(kbs, "other", runs=2)
    kbs.unwatch("other", str(folder))
    assert kbs.watch_status("other") == []
    kb_folder = kbs.get("watched").folder
    assert (kb_folder / WATCH_FILE).exists()
    kbs.delete("watched")
    assert not kb_folder.exists()
    (folder / "after.md").write_text("# 后\n\n删除后写入。", encoding="utf-8")
    time.sleep(kbs.settings.kb_watch_debounce_s * 4)
    assert len(watched_runs(kbs)) == 2 and kbs.watcher.running
    assert sources(kbs, "other") == {"笔记/a.md"}  # unwatched: kept what it had, follows nothing


def test_a_file_still_being_written_is_indexed_as_it_ends(kbs, folder):
    """Each write is an event, so the quiet period only starts when the writer stops; whatever a
    run in between read, the last run reads the finished file."""
    kbs.watch("watched", str(folder))
    settled(kbs, runs=1)
    with open(folder / "long.md", "w", encoding="utf-8") as handle:
        for part in range(8):
            handle.write(f"第 {part} 段，慢慢写入。\n\n")
            handle.flush()
            time.sleep(kbs.settings.kb_watch_debounce_s / 3)
        handle.write("最后一段：写完了 FINISHED。")
    until(lambda: any("FINISHED" in h.text for h in kbs.search("watched", "FINISHED", 5, mode="bm25")), kbs)
    texts = [r["text"] for r in kbs.get("watched").chunks_of("笔记/long.md")]
    assert "第 0 段" in texts[0] and "FINISHED" in texts[-1]


def test_the_server_starts_watching_only_where_a_base_watches(tmp_path, folder):
    from core.runtime import create_runtime

    settings = kb_settings(tmp_path, kb_roots=[tmp_path / "server"])
    idle = create_runtime(settings)
    idle.start_watching()
    assert "kb" not in idle.__dict__  # no watched folder: Chroma is not even opened
    idle.kb.create("watched")
    idle.kb.watch("watched", str(folder))
    settled(idle.kb, runs=1)
    idle.kb.stop_watching()

    restarted = create_runtime(settings)
    restarted.start_watching()
    try:
        assert restarted.kb.watcher.running
        assert [s.folder for s in restarted.kb.watch_status("watched")] == [str(folder)]
    finally:
        restarted.kb.stop_watching()
