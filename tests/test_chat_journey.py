"""AppTest of what a new user meets in Chat: the demo-model note, Regenerate / Edit / Cancel,
knowledge-base answers without the echoed prompt and with linked [n] marks, and settings that
survive a page change and a reload (per browser user)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from core.conversations import ConversationStore
from core.models.echo_engine import EchoEngine
from core.prefs import PrefsStore, UserCookieMiddleware, USER_COOKIE, new_user_id, valid_user_id
from tests.conftest import app_test


class ScriptedEngine(EchoEngine):
    """The echo engine (real queue, streaming, stop) answering what `reply(messages)` says."""

    def __init__(self, reply: Callable[[list[dict]], str], kind: str = "fake") -> None:
        super().__init__()
        self.reply = reply
        self.calls = 0
        self.info = dataclasses.replace(self.info, kind=kind, name="SmolLM2-135M-Instruct" if kind == "embedded" else "echo")

    def answer(self, messages: list[dict], adapter: str | None) -> str:
        self.calls += 1
        return self.reply(messages)


def scripted_runtime(settings, monkeypatch, engine):
    from core.runtime import create_runtime

    rt = create_runtime(settings)
    monkeypatch.setattr(rt.models, "build", lambda spec, progress=None, quantization=None: engine)
    rt.models.load("scripted")
    return rt


@pytest.fixture
def runtime_with(settings, monkeypatch, use_runtime):
    return lambda engine: use_runtime(scripted_runtime(settings, monkeypatch, engine))


def turns(rt):
    return ConversationStore(rt.settings.conversations_dir).list()[0].turns


def bodies(at, role: str) -> list[str]:
    return [m.markdown[0].value for m in at.chat_message if m.name == role and len(m.markdown)]


def entry_point(lang: str):
    """The entry point itself, on Home (AppTest drops the sidebar's own tree after switch_page)."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=60)
    at.session_state["lang"] = lang
    return at.run()


def test_the_demo_model_says_what_it_is_on_home_chat_and_its_badge(runtime_with):
    runtime_with(ScriptedEngine(lambda m: "hi", kind="embedded"))
    for lang, words in (("zh", ("很小、以英文为主", "系统", "Qwen/Qwen2.5-1.5B-Instruct", "0.5B–1.5B")),
                        ("en", ("tiny, English-first", "System", "Qwen/Qwen2.5-1.5B-Instruct", "0.5B–1.5B"))):
        for page in ("pages/home.py", "pages/chat.py"):
            at = app_test(page, lang=lang).run()
            assert not at.exception
            note = " ".join(m.value for m in at.markdown)
            assert all(w in note for w in words), (page, note)
        assert any("🐣" in c.value for c in entry_point(lang).sidebar.caption)  # the badge under the model's name


def test_a_real_model_gets_no_demo_note(runtime_with):
    runtime_with(ScriptedEngine(lambda m: "hi"))
    at = app_test("pages/chat.py", lang="zh").run()
    assert not any("SmolLM2" in m.value for m in at.markdown)
    assert not any("🐣" in c.value for c in entry_point("zh").sidebar.caption)


def test_regenerate_replaces_the_answer_and_edit_can_be_cancelled(runtime_with):
    answers = iter(["第一个回答", "第二个回答", "第三个回答"])
    rt = runtime_with(ScriptedEngine(lambda m: next(answers)))
    at = app_test("pages/chat.py").run()
    at.chat_input[0].set_value("你好").run()
    assert bodies(at, "assistant") == ["第一个回答"]

    at.button(key="chat-regenerate").click().run()
    assert not at.exception
    assert bodies(at, "assistant") == ["第二个回答"]  # in place of the old one, not under it
    assert [(t.role, t.content) for t in turns(rt)] == [("user", "你好"), ("assistant", "第二个回答")]

    at.button(key="chat-edit").click().run()
    conv_id = at.session_state["conversation_id"]
    box = at.text_area(key=f"edit-{conv_id}")
    assert box.value == "你好"
    assert bodies(at, "user") == []  # the edit box stands where the message was
    assert not [b for b in at.button if b.key in ("chat-regenerate", "chat-edit", "chat-clear")]
    at.button(key="chat-cancel-edit").click().run()
    assert not [a for a in at.text_area if a.key == f"edit-{conv_id}"]
    assert bodies(at, "user") == ["你好"] and bodies(at, "assistant") == ["第二个回答"]

    at.button(key="chat-edit").click().run()
    at.text_area(key=f"edit-{conv_id}").set_value("改过的问题")
    at.button(key="chat-send-edit").click().run()
    assert not at.exception
    assert bodies(at, "user") == ["改过的问题"] and bodies(at, "assistant") == ["第三个回答"]
    assert [(t.role, t.content) for t in turns(rt)] == [("user", "改过的问题"), ("assistant", "第三个回答")]


@pytest.fixture
def zoo_kb(tmp_path):
    def make(rt):
        folder = tmp_path / "动物"
        folder.mkdir()
        (folder / "熊猫.md").write_text("# 大熊猫\n大熊猫生活在四川的竹林里，主要吃竹子。", encoding="utf-8")
        rt.kb.create("动物")
        rt.kb.index("动物", [folder])
    return make


def ask_kb(at, question: str):
    at.radio(key="chat-mode").set_value("kb").run()
    at.chat_input[0].set_value(question).run()
    assert not at.exception
    return at


def test_a_kb_answer_never_shows_the_prompt_and_links_its_marks(runtime_with, zoo_kb):
    echo_then_answer = lambda m: m[-1]["content"] + "\n# 答案\n大熊猫主要吃竹子 [1]。"  # noqa: E731
    rt = runtime_with(ScriptedEngine(echo_then_answer))
    zoo_kb(rt)
    at = ask_kb(app_test("pages/chat.py", lang="zh").run(), "大熊猫吃什么")
    [shown] = bodies(at, "assistant")
    assert "上下文" not in shown and "有用的回答" not in shown and "问题：" not in shown
    assert shown.startswith("**答案**")  # a heading inside a bubble is a bold line
    assert '[\\[1\\]](#src-' in shown and '"动物/熊猫.md"' in shown
    anchor = shown.split("(#", 1)[1].split(" ", 1)[0]
    assert any(f'id="{anchor}"' in c.value for c in at.caption)  # the link's target: the source list
    assert any(e.label.startswith("[1] 动物/熊猫.md") for e in at.expander)
    saved = turns(rt)[-1]
    assert saved.content == "# 答案\n大熊猫主要吃竹子 [1]。"  # clean, and without markup for the next prompt


def test_a_kb_answer_without_marks_is_shown_as_written(runtime_with, zoo_kb):
    rt = runtime_with(ScriptedEngine(lambda m: "大熊猫吃竹子。"))
    zoo_kb(rt)
    at = ask_kb(app_test("pages/chat.py", lang="zh").run(), "大熊猫吃什么")
    assert bodies(at, "assistant") == ["大熊猫吃竹子。"]
    assert any(e.label.startswith("[1] 动物/熊猫.md") for e in at.expander)
    from core.kb.rag import DEFAULT_PROMPTS

    assert "[1]" in DEFAULT_PROMPTS["zh"] and "[1]" in DEFAULT_PROMPTS["en"]


def test_settings_survive_a_page_change_and_a_reload_per_user(runtime_with, monkeypatch):
    from components import prefs

    rt = runtime_with(ScriptedEngine(lambda m: "好"))
    default = rt.settings.max_new_tokens
    alice, bob = new_user_id(), new_user_id()
    monkeypatch.setattr(prefs, "user_id", lambda: alice)
    at = app_test("pages/chat.py").run()
    at.slider(key="chat-max").set_value(128).run()
    at.slider(key="chat-temp").set_value(0.2).run()
    at.slider(key="chat-top-k").set_value(7).run()
    at.switch_page("pages/knowledge_base.py").run()
    assert not at.exception
    at.switch_page("pages/chat.py").run()
    assert at.slider(key="chat-max").value == 128  # used to fall back to 512 here

    fresh = app_test("pages/chat.py").run()  # a reload: a new session of the same browser
    assert (fresh.slider(key="chat-max").value, fresh.slider(key="chat-temp").value) == (128, 0.2)
    assert fresh.slider(key="chat-top-k").value == 7
    assert PrefsStore(rt.settings.prefs_dir / "users").load(alice)["chat-max"] == 128

    monkeypatch.setattr(prefs, "user_id", lambda: bob)  # someone else's browser
    other = app_test("pages/chat.py").run()
    assert other.slider(key="chat-max").value == default

    monkeypatch.setattr(prefs, "user_id", lambda: None)  # no cookie: page changes only, nothing written
    nobody = app_test("pages/chat.py").run()
    nobody.slider(key="chat-max").set_value(256).run()
    assert sorted(p.stem for p in (rt.settings.prefs_dir / "users").iterdir()) == [alice]


def test_a_stored_value_that_no_longer_fits_falls_back_to_the_default(runtime_with, monkeypatch):
    from components import prefs

    rt = runtime_with(ScriptedEngine(lambda m: "好"))
    uid = new_user_id()
    PrefsStore(rt.settings.prefs_dir / "users").save(uid, {"chat-max": 10**6, "chat-temp": "hot", "chat-top-k": 5})
    monkeypatch.setattr(prefs, "user_id", lambda: uid)
    at = app_test("pages/chat.py").run()
    assert not at.exception
    assert at.slider(key="chat-max").value == rt.settings.max_new_tokens
    assert at.slider(key="chat-temp").value == 0.7 and at.slider(key="chat-top-k").value == 5


def test_a_forged_cookie_never_reaches_the_file_system(tmp_path):
    store = PrefsStore(tmp_path / "users")
    for forged in ("../../etc/passwd", "A" * 32, "0" * 31, "0" * 32 + "/", "", None, 42):
        assert not valid_user_id(forged)
        if isinstance(forged, str):
            with pytest.raises(ValueError):
                store.save(forged, {"x": 1})
    (tmp_path / "users").mkdir(exist_ok=True)
    uid = new_user_id()
    (tmp_path / "users" / f"{uid}.json").write_text("{not json", encoding="utf-8")
    assert store.load(uid) == {}  # a damaged file is an empty one, not a crash
    store.save(uid, {"ok": 1, "big": "x" * 10_000, "nested": {"a": 1}})
    assert store.load(uid) == {"ok": 1}


def test_the_cookie_middleware_names_each_browser_once():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    app = Starlette(
        routes=[Route("/", lambda r: HTMLResponse("<html></html>")), Route("/api/x", lambda r: JSONResponse({}))],
        middleware=[Middleware(UserCookieMiddleware)],
    )
    client = TestClient(app)
    first = client.get("/")
    cookie = first.cookies.get(USER_COOKIE)
    assert valid_user_id(cookie)
    header = first.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Max-Age=" in header
    assert "set-cookie" not in client.get("/").headers  # the browser keeps its id
    assert "set-cookie" not in TestClient(app).get("/api/x").headers  # API answers get none
    forged = TestClient(app, cookies={USER_COOKIE: "../../x"}).get("/")
    assert valid_user_id(forged.cookies.get(USER_COOKIE))  # a forged id is replaced
