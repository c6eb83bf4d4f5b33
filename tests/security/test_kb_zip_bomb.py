"""Case 3: zip members were all decompressed into memory first (`list(loaders.iter_zip(...))` in
`discover`): a 1.75 MB zip of 40 x 45 MB members peaked at 2.2 GB, and the per-member limit had
no total. Now members are read one at a time, after their declared sizes pass a ratio check, a
total-uncompressed budget and a member count."""

from __future__ import annotations

import os
import tracemalloc

from core.kb.manager import KnowledgeBaseManager
from tests.security.cli import run_index
from tests.security.hostile import MB, deflated, raw_zip, zip_bomb
from tests.test_kb_loaders import make_zip
from tests.test_kb_store import kb_settings


def noise(size: int) -> bytes:
    """Binary-looking bytes (a quarter NUL) that deflate only ~4x: well under the ratio limit, so
    a member is really inflated, and refused fast as not text once it is."""
    return os.urandom(size).translate(bytes(b"\x00abc"[i % 4] for i in range(256)))


def test_the_40_member_bomb_indexes_its_good_member_at_bounded_memory(tmp_path):
    """Through the CLI, peak RSS measured in the process itself, against the same run on a small
    zip: the bomb may add at most 150 MB (it added ~2 GB when every member was inflated first)."""
    bomb = tmp_path / "bomb" / "bomb.zip"
    bomb.parent.mkdir()
    zeros = deflated(bytes(45 * MB))  # one stream for all 40 members, as in zip_bomb()
    members = [(f"bomb{i:02d}.md", *zeros) for i in range(40)] + [("readme.md", *deflated(b"# Readme\nthe good member: okapis"))]
    bomb.write_bytes(raw_zip(members))
    assert bomb.stat().st_size < 2 * MB
    small = tmp_path / "small" / "small.zip"
    small.parent.mkdir()
    small.write_bytes(make_zip({"readme.md": b"# Readme\nthe good member: okapis"}))

    base, base_rss = run_index(tmp_path / "data-small", "kb", small)
    proc, rss = run_index(tmp_path / "data-bomb", "kb", bomb)
    assert base.returncode == 0 and proc.returncode == 0, proc.stderr[-3000:]
    assert 0 < base_rss and rss - base_rss < 150, f"peak RSS {rss} MB vs {base_rss} MB for a small zip"
    assert "1 indexed" in proc.stdout and "40 failed" in proc.stdout, proc.stdout
    assert "failed: bomb.zip/bomb00.md: Refused: this member expands 1029 times" in proc.stdout, proc.stdout


def test_members_are_read_one_at_a_time(tmp_path):
    """Ten 8 MB members under the ratio limit (so each is really inflated): the indexer's peak
    Python allocation stays near one member, not ten."""
    stream = deflated(noise(8 * MB))
    archive = tmp_path / "docs" / "scans.zip"
    archive.parent.mkdir()
    archive.write_bytes(raw_zip([(f"scan{i}.md", *stream) for i in range(10)] + [("note.md", *deflated(b"# Note\nokapis"))]))
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    kbs.create("kb")
    tracemalloc.start()
    try:
        result = kbs.index("kb", [archive.parent])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    reports = {r.source: r for r in result.reports}
    assert reports["docs/scans.zip/note.md"].status == "indexed"
    assert all(reports[f"docs/scans.zip/scan{i}.md"].status == "failed" for i in range(10))
    assert "not a text file" in reports["docs/scans.zip/scan0.md"].reason
    assert peak < 40 * MB, f"peak {peak / MB:.0f} MB: members were held together"


def test_the_total_budget_refuses_the_members_past_it_by_name(tmp_path):
    settings = kb_settings(tmp_path, max_archive_mb=20)
    stream = deflated(noise(5 * MB))
    archive = tmp_path / "big.zip"
    archive.write_bytes(raw_zip([(f"part{i}.txt", *stream) for i in range(6)]))
    kbs = KnowledgeBaseManager(settings)
    kbs.create("kb")
    reports = {r.source: r for r in kbs.index("kb", [archive]).reports}
    refused = [i for i in range(6) if "add up to more than 20 MB" in reports[f"big.zip/part{i}.txt"].reason]
    assert refused == [4, 5], {s: r.reason for s, r in reports.items()}
    assert "解压后总计超过 20 MB" in reports["big.zip/part5.txt"].reason_message.render("zh")


def test_an_archive_with_too_many_members_is_refused_before_listing(tmp_path):
    settings = kb_settings(tmp_path, max_archive_members=10)
    archive = tmp_path / "many.zip"
    archive.write_bytes(make_zip({f"n{i}.md": b"# x\nsome text" for i in range(30)}))
    kbs = KnowledgeBaseManager(settings)
    kbs.create("kb")
    result = kbs.index("kb", [archive])
    assert [(r.source, r.status) for r in result.reports] == [("many.zip", "failed")]
    assert "has 30 members (at most 10" in result.reports[0].reason


def test_the_bomb_builder_matches_the_issue(tmp_path):
    """The attack as filed: 40 x 45 MB members in a ~1.75 MB zip."""
    data = zip_bomb()
    assert 1.5 * MB < len(data) < 2 * MB
