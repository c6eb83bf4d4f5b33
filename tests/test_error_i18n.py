"""User-facing errors speak the UI's language: every UserError raised in core is a Message (a key
with both languages in the tables), kept through persisted job errors and per-file index reasons,
shown in Chinese by the UI."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from core.errors import InputError, ModelNotLoaded, UserError
from core.i18n import keys, msg
from core.jobs import Job, JobRegistry
from core.kb.indexer import reason_of
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
    exc = InputError(msg("errors.engine.message_empty"), msg("errors.engine.message_empty.hint"))
    assert exc.text("zh") == "消息为空。 请先输入问题。"
    assert exc.text("en") == "The message is empty. Type a question first."
    assert str(exc) == "The message is empty. Type a question first."  # CLI, API and logs stay English
    plain = UserError("Only English.", "Hint.")
    assert plain.text("zh") == "Only English. Hint." == plain.text("en")
    assert UserError(msg("errors.loaders.file_empty")).text("zh") == "文件为空。"
    assert UserError("errors.engine.message_empty").text("zh") == "消息为空。 请先输入问题。"  # a key finds its hint


def test_model_not_loaded_has_chinese():
    exc = ModelNotLoaded()
    assert CJK.search(exc.text("zh")) and exc.text("en") == "No model is loaded. Load one on the System page."


# --- every raise site in core speaks through the tables -----------------------------------------


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


def untranslated(tree: ast.Module, classes: set[str], known: set[str]) -> list[str]:
    """'line: problem' for each construction of a user error whose text is a sentence written
    inline (an f-string, a str that is no key of the tables, a zh= keyword) instead of a Message."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in classes or name in FIXED_TEXT:
            continue
        if any(k.arg in ("zh", "zh_hint") for k in node.keywords):
            found.append(f"{node.lineno}: {name}(...) has a zh= text")
        for arg in node.args[:2]:
            if isinstance(arg, ast.JoinedStr):
                found.append(f"{node.lineno}: {name}(...) writes its text inline")
            elif isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value not in known:
                found.append(f"{node.lineno}: {name}(...) names no key: {arg.value!r}")
    return found


def test_checker_flags_an_untranslated_raise():
    tree = ast.parse(
        "class MyError(LoadError): pass\n"
        "raise MyError(f'x {y}')\n"
        "raise errors.UserError('kb.missing_key')\n"
        "raise UserError(msg('errors.no_model'), zh='坏了')\n"
        "raise UserError('errors.no_model', name=n)\n"
        "raise UserError(msg('errors.no_model'), msg('errors.no_model.hint'))\n"
    )
    classes = error_classes({"a": tree, "b": ast.parse("class LoadError(UserError): pass")})
    assert {"UserError", "LoadError", "MyError"} <= classes
    assert untranslated(tree, classes, keys()) == [
        "2: MyError(...) writes its text inline", "3: UserError(...) names no key: 'kb.missing_key'",
        "4: UserError(...) has a zh= text"]


def test_every_user_error_raised_in_core_is_a_message():
    trees = {p.relative_to(REPO).as_posix(): ast.parse(p.read_text(encoding="utf-8"))
             for folder in ("core", "components", "pages") for p in (REPO / folder).rglob("*.py")}
    classes = error_classes(trees)
    assert {"LoadError", "ModelSourceError", "PreflightError", "InputError"} <= classes
    problems = [f"{path}:{p}" for path, tree in sorted(trees.items()) for p in untranslated(tree, classes, keys())]
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
    reason = {name: reason_of(row) for name, row in rows.items()}
    assert str(reason["empty.md"]) == "The file is empty."
    assert reason["empty.md"].render("zh") == "文件为空。"
    assert str(reason["picture.md"]) == "This is not a text file (binary content). Check that the file extension is right."
    assert CJK.search(reason["picture.md"].render("zh")) and "文本文件" in reason["picture.md"].render("zh")
    assert rows["b.md"]["status"] == "duplicate"
    assert str(reason["b.md"]) == "Same content as docs/a.md." and reason["b.md"].render("zh") == "与 docs/a.md 内容相同。"
    assert rows["a.md"]["status"] == "indexed" and reason["a.md"] is None


def test_report_rows_saved_before_messages_were_keys_still_render():
    old = {"source": "docs/b.md", "status": "duplicate", "chunks": 0,
           "reason": "Same content as docs/a.md.", "reason_zh": "与 docs/a.md 内容相同。"}
    assert reason_of(old).render("zh") == "与 docs/a.md 内容相同。" and str(reason_of(old)) == "Same content as docs/a.md."
    older = {"source": "docs/c.md", "status": "failed", "chunks": 0, "reason": "Boom."}  # before reason_zh
    assert reason_of(older).render("zh") == "Boom." == str(reason_of(older))


def test_failed_job_keeps_chinese_error_and_old_jobs_still_load(tmp_path):
    jobs = JobRegistry(tmp_path)

    def runner(ctx):
        raise UserError(msg("errors.no_model"), msg("errors.no_model.hint"))

    job = wait_done(jobs, jobs.start("demo", "Demo", {}, runner).id)
    assert job.status == "failed"
    assert job.error == "No model is loaded. Load one on the System page."
    assert job.error_message.render("zh") == "尚未加载模型。 请在“系统”页面加载一个模型。"
    saved = json.loads((tmp_path / f"{job.id}.json").read_text(encoding="utf-8"))["error_message"]
    assert saved["key"] == "text.with_hint" and saved["params"]["message"] == {"key": "errors.no_model", "params": {}}

    def english_only(ctx):
        raise UserError("Only English.")

    job = wait_done(jobs, jobs.start("demo", "Demo", {}, english_only).id)
    assert job.error == "Only English." and job.error_message.render("zh") == "Only English."  # no key: shown as is

    old = {"id": "old-1", "kind": "demo", "title": "Old", "params": {}, "status": "failed", "error": "Boom."}
    (tmp_path / "old-1.json").write_text(json.dumps(old), encoding="utf-8")
    reloaded = JobRegistry(tmp_path).get("old-1")
    assert reloaded is not None and reloaded.error == "Boom." and reloaded.error_message.render("zh") == "Boom."

    older = {"id": "old-2", "kind": "demo", "title": "Old", "params": {}, "status": "failed", "error": "Empty.",
             "error_zh": "文件为空。", "message": "Reading…", "message_zh": "正在读取……"}  # before messages were keys
    (tmp_path / "old-2.json").write_text(json.dumps(older), encoding="utf-8")
    reloaded = JobRegistry(tmp_path).get("old-2")
    assert (reloaded.error, reloaded.error_message.render("zh")) == ("Empty.", "文件为空。")
    assert (reloaded.message, reloaded.status_message.render("zh")) == ("Reading…", "正在读取……")


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
        raise UserError(msg("errors.jobs.cancel_job_before_deleting"))

    job = wait_done(app_runtime.jobs, app_runtime.jobs.start(INDEX_JOB, "demo", {"kb": "x"}, runner).id)
    assert CJK.search(job.error_message.render("zh"))
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
    assert job.status_message.render("zh").startswith("已加载 ") and "秒" in job.status_message.render("zh")


def test_sidebar_shows_a_failed_model_load_in_chinese(app_runtime, tmp_path):
    from streamlit.testing.v1 import AppTest

    app_runtime.models.unload()  # the sidebar shows the last failure only while no model is loaded
    missing = tmp_path / "no-such-model"
    job = wait_done(app_runtime.jobs, app_runtime.models.start_load(str(missing)))
    assert job.status == "failed" and str(app_runtime.models.last_error) == job.error
    for lang, expected in (("zh", f"模型文件夹 {missing} 不存在"), ("en", f"The model folder {missing} does not exist")):
        # The entry point itself (AppTest drops the sidebar's tree after switch_page).
        at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=60)
        at.session_state["lang"] = lang
        at.run()
        assert not at.exception
        shown = [e.value for e in at.sidebar.error]
        assert any(expected in v for v in shown), shown
