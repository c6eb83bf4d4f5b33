"""Case 12: OpenVINO wrote `~/intel/stats` (and a client id for its telemetry) against
"everything lives under the data folder", and names over 255 bytes (`OSError: File name too
long`) got a generic apology instead of a reason."""

from __future__ import annotations


import pytest

from core.kb import int8
from core.kb.embeddings import openvino_available
from core.kb.manager import KnowledgeBaseManager
from core.errors import UserError
from tests.factories import build_sentence_model
from tests.security.cli import run_index
from tests.test_kb_store import kb_settings

LONG = "很长的文件名" * 15 + ".md"  # 273 bytes in UTF-8


def files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.skipif(not (openvino_available() and int8.nncf_available()), reason="openvino/onnx/nncf not installed")
def test_an_int8_index_run_writes_nothing_outside_the_data_folder(tmp_path):
    """The whole CLI run with HOME, TMPDIR and the working folder pointed at empty folders, through
    the OpenVINO int8 path (NNCF is imported there, which is what wrote ~/intel)."""
    model = build_sentence_model(tmp_path / "model")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\nsome text about otters", encoding="utf-8")
    home, temp, cwd = (tmp_path / name for name in ("home", "tmp", "cwd"))
    for folder in (home, temp, cwd):
        folder.mkdir()
    proc, _ = run_index(
        tmp_path / "data", "kb", docs, cwd=cwd, timeout=600,
        HOME=str(home), TMPDIR=str(temp), XDG_CACHE_HOME=str(home / ".cache"),
        LIANDAN_EMBEDDING_MODEL=str(model), LIANDAN_EMBED_BACKEND="openvino", LIANDAN_EMBED_PRECISION="int8",
        LIANDAN_EMBED_DEVICE="cpu",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 indexed" in proc.stdout, proc.stdout
    checks = list((tmp_path / "data").rglob("transformer-int8.json")) + list((tmp_path / "data").rglob("*int8*"))
    assert checks, f"the int8 preparation (and so NNCF) did not run: {files_under(tmp_path / 'data')}"
    assert files_under(home) == [] and files_under(temp) == [] and files_under(cwd) == []


def test_names_over_255_bytes_get_that_reason(tmp_path):
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    kbs.create("kb")
    with pytest.raises(UserError) as info:
        kbs.save_uploads("kb", [("ok.md", b"# ok\nfine"), (LONG, b"# long\nname")])
    assert "too long (273 bytes; file systems allow at most 255)" in str(info.value)
    assert "过长（273 字节" in info.value.text("zh")
    assert not (kbs.get("kb").files_dir / "ok.md").exists()  # all names are checked before any write
    with pytest.raises(UserError, match="too long"):
        kbs.allowed_folder(str(tmp_path / LONG))


def test_the_cli_names_a_too_long_path_and_indexes_the_rest(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\nfine", encoding="utf-8")
    proc, _ = run_index(tmp_path / "data", "kb", tmp_path / LONG, docs)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 indexed" in proc.stdout and "too long (273 bytes" in proc.stdout, proc.stdout
