"""The path policy (core/paths.py) on its own: what a walk yields, and that a read refuses what
changed under it, without following it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from core import paths
from core.paths import PathPolicy, PathRefused


def tree(root: Path) -> None:
    (root / "a" / "b").mkdir(parents=True)
    (root / "top.md").write_text("top")
    (root / "a" / "b" / "deep.md").write_text("deep")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "h.md").write_text("hidden")


def walked(policy: PathPolicy, root: Path) -> dict[str, str]:
    keep = lambda name: not name.startswith(".")  # noqa: E731
    return {f.path.relative_to(root).as_posix(): (f.refused.message if f.refused else "") for f in policy.walk(root, keep, keep)}


def test_a_walk_reads_inside_links_and_refuses_the_rest(tmp_path):
    root = tmp_path / "root"
    tree(root)
    os.symlink("a/b/deep.md", root / "in.md")
    os.symlink("/etc/hostname", root / "out.md")
    os.symlink(".hidden/h.md", root / "to-hidden.md")
    os.symlink("a", root / "dir-in")
    os.symlink("/etc", root / "dir-out")
    os.symlink("missing.md", root / "dangling.md")
    found = walked(PathPolicy(), root)
    assert found["top.md"] == found["a/b/deep.md"] == found["in.md"] == ""
    assert "outside the folder" in found["out.md"] and "outside the folder" in found["dir-out"]
    assert "hidden or skipped" in found["to-hidden.md"]
    assert "dir-in" not in found and not any(k.startswith(("dir-in/", "dir-out/", ".hidden")) for k in found)
    with pytest.raises(PathRefused, match="No such file"):
        PathPolicy().read_bytes(root / "dangling.md", root, 100)


def test_the_data_folder_is_skipped_and_only_allowed_parts_of_it_are_roots(tmp_path):
    root = tmp_path / "srv"
    tree(root)
    data = root / "a" / "data"
    (data / "uploads").mkdir(parents=True)
    (data / "uploads" / "u.md").write_text("upload")
    policy = PathPolicy(forbidden=(data,), allowed=(data / "uploads",))
    found = walked(policy, root)
    assert "data folder" in found["a/data"] and not any(k.startswith("a/data/") for k in found)
    assert policy.root(data / "uploads" / "u.md") == (data / "uploads" / "u.md").resolve()
    with pytest.raises(PathRefused, match="data folder"):
        policy.root(data)


def test_a_folder_swapped_for_a_link_after_the_check_is_not_followed(tmp_path, monkeypatch):
    """The race: the path is checked, then a component becomes a link out before the open. The
    component-by-component O_NOFOLLOW open refuses instead of reading /etc."""
    root = tmp_path / "root"
    tree(root)
    target = root / "a" / "b" / "deep.md"
    real_check = PathPolicy.check

    def check_then_swap(self, path, base, *args, **kwargs):
        result = real_check(self, path, base, *args, **kwargs)
        os.rename(root / "a" / "b", root / "a" / "b-moved")
        os.symlink("/etc", root / "a" / "b")
        return result

    monkeypatch.setattr(PathPolicy, "check", check_then_swap)
    with pytest.raises(PathRefused, match="changed into a link"):
        PathPolicy().open_fd(target, root)


def test_pipes_and_devices_are_refused_without_blocking(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / "pipe.md")
    os.symlink("/dev/zero", root / "zero.md")
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: outcome.append(_refusal(root / "pipe.md", root)), daemon=True)
    reader.start()
    reader.join(10)
    assert outcome and "not a regular file" in str(outcome[0]), "reading a FIFO blocked"
    with pytest.raises(PathRefused, match="outside the folder"):
        PathPolicy().open_fd(root / "zero.md", root)


def _refusal(path: Path, root: Path) -> BaseException:
    try:
        PathPolicy().open_fd(path, root)
    except PathRefused as exc:
        return exc
    return AssertionError("opened")


def test_deep_folder_trees_stop_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "MAX_WALK_DEPTH", 3)
    root = tmp_path / "root"
    deep = root / "1" / "2" / "3" / "4"
    deep.mkdir(parents=True)
    (deep / "x.md").write_text("x")
    found = walked(PathPolicy(), root)
    assert "deeper than 3 folder levels" in found["1/2/3/4"] and "1/2/3/4/x.md" not in found
