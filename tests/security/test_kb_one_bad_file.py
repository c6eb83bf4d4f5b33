"""Case 1: one file stopped everything. A `.json` / `.ipynb` nested 100,000 deep raised
RecursionError out of the loaders through `Indexer._process` (which caught only LoadError and
OSError): the whole run failed and none of the good files next to it was indexed."""

from __future__ import annotations

import logging

from core.kb import chunking
from core.kb.manager import KnowledgeBaseManager
from tests.security.cli import run_index
from tests.security.hostile import deep_json, deep_notebook
from tests.test_kb_store import kb_settings


def _folder(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\nwalrus facts and nothing else", encoding="utf-8")
    (folder / "deep.json").write_bytes(deep_json())
    (folder / "deep.ipynb").write_bytes(deep_notebook())
    (folder / "zz-after.txt").write_text("the file after the bad ones: narwhals", encoding="utf-8")
    return folder


def test_deep_nesting_fails_that_file_alone_with_the_depth_in_both_languages(tmp_path):
    folder = _folder(tmp_path)
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    kbs.create("kb")
    result = kbs.index("kb", [folder])
    reports = {r.source: r for r in result.reports}
    assert reports["docs/good.md"].status == "indexed" and reports["docs/zz-after.txt"].status == "indexed"
    for name in ("deep.json", "deep.ipynb"):
        report = reports[f"docs/{name}"]
        assert report.status == "failed"
        assert "nested deeper than 200 levels" in report.reason, report.reason
        assert "嵌套超过 200 层" in report.reason_message.render("zh"), report.reason
    assert result.summary()["failed"] == 2 and result.summary()["indexed"] == 2
    assert kbs.search("kb", "narwhals", 1)[0].source == "docs/zz-after.txt"


def test_the_cli_run_goes_on_and_names_the_deep_files(tmp_path):
    proc, _ = run_index(tmp_path / "data", "kb", _folder(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 indexed" in proc.stdout and "2 failed" in proc.stdout, proc.stdout
    assert "failed: docs/deep.json: The JSON is nested deeper than 200 levels" in proc.stdout, proc.stdout
    assert "failed: docs/deep.ipynb: The notebook is nested deeper than 200 levels" in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stderr


def test_any_unexpected_error_in_one_file_is_that_files_failure_and_is_logged(tmp_path, monkeypatch, caplog):
    """The mechanism, not only the case: a bug anywhere in reading one file (here in chunking)
    becomes that file's reason, with the traceback in the log, and the run goes on."""
    folder = _folder(tmp_path)
    real_split = chunking.split

    def split(text, kind, size, overlap):
        if "walrus" in text:
            raise ZeroDivisionError("planted bug")
        return real_split(text, kind, size, overlap)

    monkeypatch.setattr(chunking, "split", split)
    kbs = KnowledgeBaseManager(kb_settings(tmp_path))
    kbs.create("kb")
    with caplog.at_level(logging.ERROR, logger="core.kb.indexer"):
        result = kbs.index("kb", [folder])
    report = next(r for r in result.reports if r.source == "docs/good.md")
    assert report.status == "failed" and "ZeroDivisionError: planted bug" in report.reason
    assert "意外错误" in report.reason_message.render("zh")
    assert "Traceback" in caplog.text and "planted bug" in caplog.text
    assert next(r for r in result.reports if r.source == "docs/zz-after.txt").status == "indexed"
