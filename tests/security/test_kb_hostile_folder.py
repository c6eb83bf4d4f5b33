"""All of it at once, through the CLI: a folder of good files of every format next to hostile
ones (deep JSON and notebook, links out and into the data folder, a 40-member zip bomb, a
docx bomb, a binary file, a truncated PDF, a fake docx, a FIFO, an empty file) indexes every good
file and names every bad one with its reason, at bounded memory, and leaks no secret."""

from __future__ import annotations

import re

import pytest

from core.kb.manager import KnowledgeBaseManager
from tests.security.cli import run_index
from tests.security.hostile import HOSTILE_REASONS, SECRET, hostile_folder
from tests.security.test_kb_links import all_text
from tests.test_kb_store import kb_settings


@pytest.mark.timeout(600)  # the old code blocked forever on the FIFO
def test_a_hostile_folder_through_the_cli(tmp_path):
    data = tmp_path / "data"
    folder = tmp_path / "mixed"
    good = hostile_folder(folder, data)
    calm = tmp_path / "calm"
    (calm / "good").mkdir(parents=True)
    for name in good:
        if name.startswith("good/"):
            (calm / name).write_bytes((folder / name).read_bytes())

    base, base_rss = run_index(tmp_path / "data-calm", "kb", calm, timeout=300)
    proc, rss = run_index(data, "kb", folder, timeout=300, LIANDAN_PASSWORD=SECRET)
    assert base.returncode == 0 and proc.returncode == 0, proc.stderr[-3000:]
    failed = dict(re.findall(r"^  failed: mixed/(.+?): (.+)$", proc.stdout, re.M))
    assert set(failed) == set(HOSTILE_REASONS), sorted(set(failed) ^ set(HOSTILE_REASONS))
    for name, (reason, _) in HOSTILE_REASONS.items():
        assert reason in failed[name], (name, failed[name])
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    assert {f"mixed/{g}" for g in good} == set(kbs.get("kb").manifest.files)
    assert f"{len(good)} indexed" in proc.stdout and f"{len(HOSTILE_REASONS)} failed" in proc.stdout, proc.stdout
    assert SECRET not in all_text(kbs, "kb") and "Traceback" not in proc.stderr
    assert rss - base_rss < 150, f"peak RSS {rss} MB against {base_rss} MB for the good files alone"
