"""AppTest checks of the Home, Chat and System pages on the tiny model."""

from __future__ import annotations

import pytest

from tests.conftest import app_test


def test_home_shows_loaded_model_in_both_languages(app_runtime):
    at = app_test("pages/home.py", lang="zh").run()
    assert not at.exception
    assert any("已加载模型" in s.value for s in at.success)
    at = app_test("pages/home.py", lang="en").run()
    assert any("Loaded model" in s.value for s in at.success)


def test_chat_streams_an_answer_and_saves_the_conversation(app_runtime):
    at = app_test("pages/chat.py").run()
    at.chat_input[0].set_value("Hello 你好").run()
    assert not at.exception
    assistant = [m for m in at.chat_message if m.name == "assistant"]
    assert assistant and assistant[-1].markdown
    convs = app_runtime_conversations(app_runtime)
    assert convs[0].turns[0].content == "Hello 你好"
    assert convs[0].turns[1].role == "assistant" and convs[0].turns[1].content


def test_chat_survives_a_new_session_and_regenerates(app_runtime):
    at = app_test("pages/chat.py").run()
    at.chat_input[0].set_value("first question").run()
    fresh = app_test("pages/chat.py").run()  # a browser refresh is a new session
    assert any("first question" in m.markdown[0].value for m in fresh.chat_message if m.name == "user")
    regen = next(b for b in fresh.button if "Regenerate" in b.label)
    regen.click().run()
    assert not fresh.exception
    turns = app_runtime_conversations(app_runtime)[0].turns
    assert [t.role for t in turns] == ["user", "assistant"]


def test_system_page_shows_model_and_refuses_missing_folder(app_runtime, tmp_path):
    at = app_test("pages/system.py").run()
    assert not at.exception
    assert any(app_runtime.models.engine.info.name in str(t.value) for t in at.table)
    at.radio(key="source-kind").set_value("local").run()
    at.text_input(key="model-path").set_value(str(tmp_path / "missing")).run()
    next(b for b in at.button if "Check before loading" in b.label).click().run()
    assert any("does not exist" in e.value for e in at.error)
    assert not at.exception


@pytest.mark.parametrize("native", [True, False])
def test_system_page_points_a_cpu_with_native_bf16_to_the_faster_precision(app_runtime, monkeypatch, native):
    """The hint names the setting and its cost, and only where bf16 is native (elsewhere it is slower)."""
    from core import system_info

    assert (app_runtime.models.engine.info.device, app_runtime.models.engine.info.dtype) == ("cpu", "float32")
    monkeypatch.setattr(system_info, "cpu_has_native_bf16", lambda: native)
    for lang, words in (("zh", "贪心"), ("en", "greedy")):
        at = app_test("pages/system.py", lang=lang).run()
        assert not at.exception
        hints = [c.value for c in at.caption if "LIANDAN_DTYPE=bfloat16" in c.value]
        assert (len(hints) == 1 and words in hints[0]) if native else hints == [], hints


def app_runtime_conversations(rt):
    from core.conversations import ConversationStore

    return ConversationStore(rt.settings.conversations_dir).list()


def test_too_long_message_shows_a_clear_error_not_a_traceback(app_runtime):
    at = app_test("pages/chat.py").run()
    at.chat_input[0].set_value("word " * 20_000).run()
    assert not at.exception
    assert any("too long" in e.value for e in at.error)


def test_password_gate_blocks_pages_until_the_password_is_given(app_runtime, monkeypatch):
    """The entry point runs before every page in a real session, so the gate guards them all."""
    from pydantic import SecretStr
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    monkeypatch.setattr(app_runtime.settings, "password", SecretStr("芝麻开门"))
    at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    assert [t.value for t in at.title] == ["Password required"]
    assert not at.success  # nothing of the home page before the password
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert any("Wrong password" in e.value for e in at.error)
    at.text_input[0].input("芝麻开门")
    at.button[0].click().run()
    assert not at.exception
    assert any("Loaded model" in s.value for s in at.success)


def test_chinese_is_the_default_language(app_runtime):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=60).run()
    assert at.title[0].value == "炼丹 Liandan"
