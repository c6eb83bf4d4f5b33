"""Case 2: links were followed anywhere. A symlink in an indexed folder or a server folder under
LIANDAN_KB_ROOTS (`env.md -> /proc/self/environ`, `x.md -> /etc/passwd`, a link into the data
folder) was read through, so the app's password and API key ended up in a knowledge base that
chat and `/v1/chat/completions` retrieve."""

from __future__ import annotations

import os

import pytest

from core.errors import UserError
from core.kb.manager import KnowledgeBaseManager
from tests.security.cli import run_index
from tests.security.hostile import SECRET, plant_links
from tests.test_kb_store import kb_settings


def all_text(kbs: KnowledgeBaseManager, name: str) -> str:
    got = kbs.get(name).collection.get(include=["documents", "metadatas"])
    return "\n".join(got["documents"]) + "\n".join(m["source"] for m in got["metadatas"])


def test_links_out_of_the_folder_are_refused_and_no_secret_reaches_the_base(tmp_path):
    data = tmp_path / "data"
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.md").write_text("# Good\nwalrus notes", encoding="utf-8")
    (folder / "sub" / "inner.md").write_text("# Inner\nnarwhal notes", encoding="utf-8")
    plant_links(folder, data)
    os.symlink("good.md", folder / "alias.md")  # inside the folder: followed
    os.symlink("sub", folder / "a-sub-alias")  # a folder inside: walked by its own path only
    os.symlink("..", folder / "sub" / "loop")  # a loop back up: not a trap

    # The app's own secrets are in the CLI process's environment, as they are in a real deployment.
    proc, _ = run_index(data, "kb", folder, LIANDAN_PASSWORD=SECRET, LIANDAN_API_KEY=SECRET)
    assert proc.returncode == 0, proc.stderr[-3000:]
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    text = all_text(kbs, "kb")
    assert SECRET not in text and "root:x:0:0" not in text
    files = kbs.get("kb").manifest.files
    assert {"docs/good.md", "docs/alias.md", "docs/sub/inner.md"} <= set(files)
    assert files["docs/good.md"].duplicate_of == "docs/alias.md"  # the same file twice, embedded once
    out = proc.stdout
    for name in ("env.md", "x.md", "data-link.md"):
        assert f"failed: docs/{name}: Refused: '{name}' is a link to " in out and "outside the folder being read" in out, out
    assert "failed: docs/etc-folder: Refused: 'etc-folder' is a link to /etc" in out
    assert "failed: docs/data-folder: Refused" in out
    assert "failed: docs/dotenv.md: Refused: 'dotenv.md' is a link to a hidden or skipped file" in out
    assert not any(s.startswith(("docs/etc-folder/", "docs/data-folder/", "docs/a-sub-alias/")) or "loop/" in s for s in files)


def test_a_server_folder_holding_the_data_folder_never_indexes_it(tmp_path):
    """LIANDAN_KB_ROOTS=/srv with the data folder at /srv/app-data: indexing /srv must skip it
    (its kb.json, manifests, jobs are .json: they were indexed), and it is never a folder to pick."""
    server = tmp_path / "srv"
    server.mkdir()
    (server / "notes.md").write_text("# Notes\nibex notes", encoding="utf-8")
    settings = kb_settings(tmp_path, data_dir=server / "app-data", kb_roots=[server])
    kbs = KnowledgeBaseManager(settings)
    kbs.create("kb")
    (settings.home / "secret-notes.md").write_text(f"# secret\n{SECRET}", encoding="utf-8")
    os.symlink(settings.home / "secret-notes.md", server / "looks-fine.md")  # inside the root, into the data folder
    result = kbs.index("kb", [kbs.allowed_folder(str(server))])
    reports = {r.source: r for r in result.reports}
    assert reports["srv/notes.md"].status == "indexed"
    assert reports["srv/app-data"].status == "failed" and "Liandan's own data folder" in reports["srv/app-data"].reason
    assert "数据文件夹" in reports["srv/app-data"].reason_message.render("zh")
    assert reports["srv/looks-fine.md"].status == "failed" and "data folder" in reports["srv/looks-fine.md"].reason
    assert not any(s.startswith("srv/app-data/") for s in reports)
    assert SECRET not in all_text(kbs, "kb")
    for inside in (settings.home, settings.home / "kb"):
        with pytest.raises(UserError, match="data folder"):
            kbs.allowed_folder(str(inside))


def test_the_cli_refuses_the_data_folder_as_an_input(tmp_path):
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "logs" / "app.md").write_text(f"# log\n{SECRET}", encoding="utf-8")
    proc, _ = run_index(data, "kb", data / "logs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 failed" in proc.stdout and "inside Liandan's own data folder" in proc.stdout, proc.stdout
    assert SECRET not in all_text(KnowledgeBaseManager(kb_settings(tmp_path)), "kb")


def test_uploads_are_the_one_part_of_the_data_folder_a_base_reads(tmp_path):
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    kbs.create("up")
    kbs.create("other")
    paths = kbs.save_uploads("up", [("a.md", b"# A\nupload about lynxes")])
    assert kbs.index("up", paths).count("indexed") == 1
    stolen = kbs.index("other", paths)  # another base's uploads are still the data folder
    assert stolen.count("failed") == 1
    assert "data folder" in stolen.reports[0].reason
