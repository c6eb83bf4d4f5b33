"""AppTest checks of the Knowledge Base page and the Chat page's knowledge-base mode."""

from __future__ import annotations

import time

import pytest

from core.i18n import msg
from tests.conftest import app_test
from tests.test_kb_loaders import write_samples


@pytest.fixture
def zoo(app_runtime, tmp_path):
    folder = tmp_path / "zoo"
    folder.mkdir()
    (folder / "熊猫.md").write_text("# 大熊猫\n大熊猫生活在四川的竹林里，主要吃竹子。", encoding="utf-8")
    (folder / "penguin.md").write_text("# Penguins\nPenguins live in Antarctica and swim very well.", encoding="utf-8")
    app_runtime.kb.create("zoo")
    app_runtime.kb.index("zoo", [folder])
    return app_runtime


def wait_for_jobs(rt) -> None:
    deadline = time.time() + 60
    while any(j.active for j in rt.jobs.list()) and time.time() < deadline:
        time.sleep(0.1)


def test_empty_page_offers_creation_in_both_languages(app_runtime):
    at = app_test("pages/knowledge_base.py", lang="zh").run()
    assert not at.exception
    assert any("还没有知识库" in i.value for i in at.info)
    at = app_test("pages/knowledge_base.py", lang="en").run()
    at.text_input(key="kb-new-name").set_value("My docs")
    next(b for b in at.button if b.label == "Create").click().run()
    assert not at.exception
    assert app_runtime.kb.names() == ["My docs"]
    assert at.selectbox(key="kb-selected").value == "My docs"


def test_a_second_base_and_a_renamed_one_become_the_selection(app_runtime):
    """The picker's key is locked once drawn: creating or renaming while a base exists used to crash."""
    app_runtime.kb.create("第一个")
    at = app_test("pages/knowledge_base.py", lang="en").run()
    assert at.selectbox(key="kb-selected").value == "第一个"
    at.text_input(key="kb-new-name").set_value("第二个")
    next(b for b in at.button if b.label == "Create").click().run()
    assert not at.exception
    assert at.selectbox(key="kb-selected").value == "第二个"
    at.text_input(key="kb-rename-第二个").set_value("改名后").run()
    next(b for b in at.button if b.label == "Rename").click().run()
    assert not at.exception
    assert sorted(app_runtime.kb.names()) == sorted(["第一个", "改名后"])
    assert at.selectbox(key="kb-selected").value == "改名后"


def test_bad_name_is_a_message_not_a_traceback(app_runtime):
    at = app_test("pages/knowledge_base.py").run()
    at.text_input(key="kb-new-name").set_value("a/b")
    next(b for b in at.button if b.label == "Create").click().run()
    assert not at.exception
    assert any("not a valid knowledge base name" in e.value for e in at.error)


def test_index_a_server_folder_shows_per_file_status(app_runtime, tmp_path):
    app_runtime.settings.kb_roots = [tmp_path]
    folder = tmp_path / "mixed"
    write_samples(folder)
    (folder / "empty.md").write_bytes(b"")
    app_runtime.kb.create("docs")
    at = app_test("pages/knowledge_base.py").run()
    at.text_input(key="kb-folder").set_value("/etc").run()
    next(b for b in at.button if b.label == "Index this folder").click().run()
    assert any("outside the allowed folders" in e.value for e in at.error)
    at.text_input(key="kb-folder").set_value(str(folder)).run()
    next(b for b in at.button if b.label == "Index this folder").click().run()
    assert not at.exception
    wait_for_jobs(app_runtime)
    at.run()
    assert any("8 indexed" in m.value and "1 failed" in m.value for m in at.markdown)
    table = at.dataframe[0].value
    assert table.iloc[0]["Status"] == "❌ failed" and table.iloc[0]["Reason"] == "The file is empty."
    assert len(table) == 9


def test_files_search_and_prompt_tabs(zoo):
    at = app_test("pages/knowledge_base.py").run()
    assert not at.exception
    files = at.dataframe[0].value
    assert sorted(files["File"]) == ["zoo/penguin.md", "zoo/熊猫.md"]
    at.text_input(key="kb-query").set_value("大熊猫吃什么").run()
    assert not at.exception
    assert any("竹子" in e.label for e in at.expander)
    at.text_area(key="kb-prompt-zh-zoo").set_value("只用 {context} 回答 {question}").run()
    next(b for b in at.button if b.label == "Save").click().run()
    assert zoo.kb.get("zoo").config.prompt_zh == "只用 {context} 回答 {question}"
    at.text_area(key="kb-prompt-en-zoo").set_value("no placeholders").run()
    next(b for b in at.button if b.label == "Save").click().run()
    assert any("{context} and {question}" in e.value for e in at.error)


def test_chat_kb_mode_streams_an_answer_with_numbered_sources(zoo):
    at = app_test("pages/chat.py").run()
    at.radio(key="chat-mode").set_value("kb").run()
    at.slider(key="chat-max").set_value(64).run()  # the tiny model's window is 512 tokens
    at.chat_input[0].set_value("大熊猫吃什么").run()
    assert not at.exception
    assistant = [m for m in at.chat_message if m.name == "assistant"]
    assert assistant and assistant[-1].markdown[0].value
    labels = [e.label for e in at.expander]
    assert any(label.startswith("[1] zoo/熊猫.md") for label in labels)
    turn = zoo_conversation(zoo).turns[-1]
    assert turn.meta["grounded"] and turn.meta["citations"][0]["source"] == "zoo/熊猫.md"


def test_chat_kb_mode_flags_an_answer_without_context(zoo):
    at = app_test("pages/chat.py").run()
    at.radio(key="chat-mode").set_value("kb").run()
    at.slider(key="chat-kb-threshold").set_value(1.0).run()
    at.chat_input[0].set_value("quantum chromodynamics").run()
    assert not at.exception
    assert any("Nothing in the knowledge base passed" in c.value for c in at.caption)
    assert not zoo_conversation(zoo).turns[-1].meta["grounded"]


def zoo_conversation(rt):
    from core.conversations import ConversationStore

    return ConversationStore(rt.settings.conversations_dir).list()[0]


def test_a_running_index_job_words_its_step_in_the_page_language(app_runtime):
    import threading

    from core.kb.manager import INDEX_JOB

    release = threading.Event()

    def runner(ctx):
        ctx.report(0.4, msg("kb.step.embedding", done=40, total=100, source=""))
        release.wait(30)

    app_runtime.kb.create("steps")
    job = app_runtime.jobs.start(INDEX_JOB, "steps", {"kb": "steps"}, runner)
    try:
        deadline = time.time() + 10
        while app_runtime.jobs.get(job.id).progress < 0.4 and time.time() < deadline:
            time.sleep(0.05)
        for lang, expected in (("zh", "向量化分块 40/100"), ("en", "Embedding chunks 40/100")):
            at = app_test("pages/knowledge_base.py", lang=lang).run()
            assert not at.exception
            texts = [bar.proto.text for bar in at.get("progress")]
            assert any(text.startswith(expected) for text in texts), texts
    finally:
        release.set()
