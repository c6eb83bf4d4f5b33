"""User-facing errors speak the UI's language: Chinese text on every UserError raised in core,
kept through persisted job errors and per-file index reasons, shown in Chinese by the UI."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from core import i18n
from core.errors import InputError, ModelNotLoaded, UserError
from core.jobs import Job, JobRegistry
from core.kb.manager import INDEX_JOB, KnowledgeBaseManager
from tests.conftest import app_test
from tests.test_kb_store import kb_settings

REPO = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
BASE_ERRORS = {"UserError"}
# Subclasses whose constructor supplies fixed texts itself (checked for Chinese in a test below).
FIXED_TEXT = {"ModelNotLoaded"}


# --- the error type -------------------------------------------------------------------


def test_text_picks_the_language_and_falls_back_to_english():
    exc = InputError("The message is empty.", "Type a question first.", zh="消息为空。", zh_hint="请先输入问题。")
    assert exc.text("zh") == "消息为空。 请先输入问题。"
    assert exc.text("en") == "The message is empty. Type a question first."
    assert str(exc) == "The message is empty. Type a question first."  # CLI, API and logs stay English
    plain = UserError("Only English.", "Hint.")
    assert plain.text("zh") == "Only English. Hint." == plain.text("en")
    assert UserError("No hint.", zh="没有提示。").text("zh") == "没有提示。"


def test_model_not_loaded_has_chinese():
    exc = ModelNotLoaded()
    assert CJK.search(exc.text("zh")) and exc.text("en") == "No model is loaded. Load one on the System page."


# --- every raise site in core carries Chinese ---------------------------------------------------


def error_classes(trees: dict[str, ast.Module]) -> set[str]:
    """UserError and every class in core deriving from it (directly or through another subclass)."""
    names = set(BASE_ERRORS)
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def untranslated(tree: ast.Module, classes: set[str]) -> list[str]:
    """'line: problem' for each construction of a user error without (real) Chinese text."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in classes or name in FIXED_TEXT:
            continue
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Call) and getattr(first.func, "id", "") == "msg":
            key = first.args[0].value if first.args and isinstance(first.args[0], ast.Constant) else None
            if key is None or key not in i18n.keys() or not CJK.search(i18n.t(key, "zh")):
                found.append(f"{node.lineno}: {name}(msg({key!r})) has no Chinese in the tables")
            continue
        zh = next((k.value for k in node.keywords if k.arg == "zh"), None)
        if zh is None:
            found.append(f"{node.lineno}: {name}(...) has no zh=")
            continue
        literals = [c.value for c in ast.walk(zh) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
        if isinstance(zh, (ast.Constant, ast.JoinedStr)) and not any(CJK.search(s) for s in literals):
            found.append(f"{node.lineno}: {name}(...) zh= has no Chinese")
    return found


def test_checker_flags_an_untranslated_raise():
    tree = ast.parse(
        "class MyError(LoadError): pass\n"
        "raise MyError('x')\n"
        "raise errors.UserError('x', zh='not chinese')\n"
        "raise UserError('x', zh=f'坏了 {y}')\n"
        "raise LoadError(msg('no.such.key'))\n"
        "raise LoadError(msg('errors.no_model'))\n"
    )
    classes = error_classes({"a": tree, "b": ast.parse("class LoadError(UserError): pass")})
    assert {"UserError", "LoadError", "MyError"} <= classes
    assert untranslated(tree, classes) == [
        "2: MyError(...) has no zh=", "3: UserError(...) zh= has no Chinese", "5: LoadError(msg('no.such.key')) has no Chinese in the tables"]


def test_every_user_error_raised_in_core_has_chinese():
    trees = {p.relative_to(REPO).as_posix(): ast.parse(p.read_text(encoding="utf-8")) for p in (REPO / "core").rglob("*.py")}
    classes = error_classes(trees)
    assert {"LoadError", "ModelSourceError", "PreflightError", "InputError"} <= classes
    problems = [f"{path}:{p}" for path, tree in sorted(trees.items()) for p in untranslated(tree, classes)]
    assert problems == []
    calls = [n for tree in trees.values() for n in ast.walk(tree) if isinstance(n, ast.Call)]
    checked = sum(1 for n in calls if getattr(n.func, "id", getattr(n.func, "attr", "")) in classes)
    assert checked > 100  # the walk really saw the raise sites


# --- persisted texts: per-file reasons and job errors ----------------------------------------


def wait_done(jobs: JobRegistry, job_id: str) -> Job:
    job = jobs.wait(job_id, 60)
    assert job is not None and not job.active
    return job


def test_index_reports_keep_english_reason_and_add_chinese(tmp_path):
    settings = kb_settings(tmp_path)
    jobs = JobRegistry(settings.jobs_dir)
    kbs = KnowledgeBaseManager(settings, jobs)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "empty.md").write_bytes(b"")
    (folder / "picture.md").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(3000))
    (folder / "a.md").write_text("# Pandas\nPandas eat bamboo in Sichuan.", encoding="utf-8")
    (folder / "b.md").write_text("# Pandas\nPandas eat bamboo in Sichuan.", encoding="utf-8")
    kbs.create("docs")
    job = wait_done(jobs, kbs.start_index("docs", [folder]).id)
    assert job.status == "done"
    rows = {Path(r["source"]).name: r for r in job.details["files"]}  # what the UI reads back
    assert rows["empty.md"]["reason"] == "The file is empty."
    assert rows["empty.md"]["reason_zh"] == "文件为空。"
    assert rows["picture.md"]["reason"] == "This is not a text file (binary content). Check that the file extension is right."
    assert CJK.search(rows["picture.md"]["reason_zh"]) and "文本文件" in rows["picture.md"]["reason_zh"]
    assert rows["b.md"]["status"] == "duplicate"
    assert rows["b.md"]["reason"] == "Same content as docs/a.md." and rows["b.md"]["reason_zh"] == "与 docs/a.md 内容相同。"
    assert rows["a.md"]["status"] == "indexed" and rows["a.md"]["reason_zh"] == ""


def test_failed_job_keeps_chinese_error_and_old_jobs_still_load(tmp_path):
    jobs = JobRegistry(tmp_path)

    def runner(ctx):
        raise UserError("The file is empty.", "Pick another.", zh="文件为空。", zh_hint="换一个。")

    job = wait_done(jobs, jobs.start("demo", "Demo", {}, runner).id)
    assert job.status == "failed"
    assert job.error == "The file is empty. Pick another." and job.error_zh == "文件为空。 换一个。"

    def english_only(ctx):
        raise UserError("Only English.")

    job = wait_done(jobs, jobs.start("demo", "Demo", {}, english_only).id)
    assert job.error == "Only English." and job.error_zh == ""

    old = {"id": "old-1", "kind": "demo", "title": "Old", "params": {}, "status": "failed", "error": "Boom."}
    (tmp_path / "old-1.json").write_text(json.dumps(old), encoding="utf-8")
    reloaded = JobRegistry(tmp_path).get("old-1")
    assert reloaded is not None and reloaded.error == "Boom." and reloaded.error_zh == ""


# --- the UI -----------------------------------------------------------------------------------


def test_kb_page_shows_errors_and_file_reasons_in_chinese(app_runtime, tmp_path):
    at = app_test("pages/knowledge_base.py", lang="zh").run()
    at.text_input(key="kb-new-name").set_value("a/b")
    next(b for b in at.button if b.label == "创建").click().run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert any("“a/b”不是有效的知识库名称" in v for v in shown), shown
    assert not any("not a valid" in v for v in shown)

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "empty.md").write_bytes(b"")
    (folder / "ok.md").write_text("# 熊猫\n大熊猫吃竹子。", encoding="utf-8")
    app_runtime.kb.create("notes")
    job = app_runtime.kb.start_index("notes", [folder])
    wait_done(app_runtime.jobs, job.id)
    at = app_test("pages/knowledge_base.py", lang="zh").run()
    assert not at.exception
    table = at.dataframe[0].value
    failed = table[table["状态"] == "❌ 失败"]
    assert list(failed["原因"]) == ["文件为空。"]
    at = app_test("pages/knowledge_base.py", lang="en").run()
    table = at.dataframe[0].value
    assert list(table[table["Status"] == "❌ failed"]["Reason"]) == ["The file is empty."]


def test_job_panel_shows_a_failed_jobs_chinese_error(app_runtime):
    def runner(ctx):
        raise UserError("Cancel the job before deleting it.", zh="请先取消该任务，再删除。")

    job = wait_done(app_runtime.jobs, app_runtime.jobs.start(INDEX_JOB, "demo", {"kb": "x"}, runner).id)
    assert job.error_zh
    app_runtime.kb.create("x")
    for lang, expected in (("zh", "请先取消该任务，再删除。"), ("en", "Cancel the job before deleting it.")):
        at = app_test("pages/knowledge_base.py", lang=lang).run()
        assert not at.exception
        assert any(e.value == expected for e in at.error), [e.value for e in at.error]


def test_preflight_findings_and_the_load_error_carry_chinese(tmp_path):
    from core.errors import PreflightError
    from core.models import loader
    from core.models.sources import ResolvedModel

    (tmp_path / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "modeling_x.XModel"}}), encoding="utf-8")
    with pytest.raises(PreflightError) as caught:
        loader.load(ResolvedModel("x", "local", tmp_path, "x"), device="cpu", trust_remote_code=False)
    english, chinese = str(caught.value), caught.value.text("zh")
    assert "trust_remote_code is off" in english and "No tokenizer files" in english and not CJK.search(english)
    assert "trust_remote_code 已关闭" in chinese and "分词器" in chinese and "LIANDAN_TRUST_REMOTE_CODE=true" in chinese


def test_a_model_load_job_reports_its_steps_in_both_languages(app_runtime, tiny_model_dir):
    job = wait_done(app_runtime.jobs, app_runtime.models.start_load(str(tiny_model_dir)))
    assert job.status == "done"
    assert job.message.startswith("Loaded ") and not CJK.search(job.message)
    assert job.message_zh.startswith("已加载 ") and "秒" in job.message_zh


def test_sidebar_shows_a_failed_model_load_in_chinese(app_runtime, tmp_path):
    from streamlit.testing.v1 import AppTest

    app_runtime.models.unload()  # the sidebar shows the last failure only while no model is loaded
    missing = tmp_path / "no-such-model"
    job = wait_done(app_runtime.jobs, app_runtime.models.start_load(str(missing)))
    assert job.status == "failed" and app_runtime.models.last_error == job.error
    for lang, expected in (("zh", f"模型文件夹 {missing} 不存在"), ("en", f"The model folder {missing} does not exist")):
        # The entry point itself (AppTest drops the sidebar's tree after switch_page).
        at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=60)
        at.session_state["lang"] = lang
        at.run()
        assert not at.exception
        shown = [e.value for e in at.sidebar.error]
        assert any(expected in v for v in shown), shown
