"""The HTTP API over real HTTP: the openai client, LangChain, the tutorial's body, auth, queueing, disconnects."""

from __future__ import annotations

import re
import threading
import time

import httpx
import openai
import pytest

from core.api.app import create_app
from core.runtime import create_runtime
from tests.api_helpers import echo_runtime, serve, wait_until


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def echo(tmp_path_factory):
    rt = echo_runtime(tmp_path_factory.mktemp("api-echo"))
    with serve(create_app(rt)) as url:
        yield rt, url


@pytest.fixture
def slow_echo(tmp_path):
    """An echo engine that takes 50 ms a word, so a request can be interrupted mid-way."""
    rt = echo_runtime(tmp_path)
    rt.models.engine.delay = 0.05
    with serve(create_app(rt)) as url:
        yield rt, url


def test_openai_client_non_streaming_and_streaming(echo):
    _, url = echo
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    reply = client.chat.completions.create(model="base", messages=ask("hello 你好"))
    assert reply.choices[0].message.content == "echo: hello 你好"
    assert reply.choices[0].finish_reason == "stop"
    assert (reply.usage.completion_tokens, reply.model) == (3, "base")

    stream = client.chat.completions.create(model="base", messages=ask("hello 你好"), stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello 你好"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == 3


def test_stop_sequences_cut_the_answer_in_both_modes(echo):
    _, url = echo
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    body = dict(model="base", messages=ask("alpha beta gamma delta"), stop=["gam", "zzz"])
    assert client.chat.completions.create(**body).choices[0].message.content == "echo: alpha beta "
    streamed = client.chat.completions.create(**body, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "echo: alpha beta "


def test_real_model_streams_the_same_answer_as_non_streaming(settings):
    rt = create_runtime(settings)
    engine = rt.models.load(settings.model)
    with serve(create_app(rt)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
        body = dict(model="base", messages=ask("Hello 你好"), temperature=0, max_tokens=12)
        whole = client.chat.completions.create(**body)
        streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(**body, stream=True)
                           if c.choices)
    from core.models.options import GenerationOptions

    direct = engine.chat(ask("Hello 你好"), GenerationOptions(temperature=0, max_new_tokens=12))
    assert whole.choices[0].message.content == streamed == direct
    assert whole.usage.completion_tokens == 12 and whole.choices[0].finish_reason == "length"


def test_langchain_chat_openai_invokes_and_streams(echo):
    from langchain_openai import ChatOpenAI

    _, url = echo
    llm = ChatOpenAI(base_url=f"{url}/v1", api_key="unused", model="base")
    assert llm.invoke("what is 炼丹").content == "echo: what is 炼丹"
    assert "".join(chunk.content for chunk in llm.stream("stream me")) == "echo: stream me"
    assert llm.invoke("a b c", stop=[" b"]).content == "echo: a"


def test_tutorial_body_and_reply_with_both_history_forms(echo):
    _, url = echo
    reply = httpx.post(f"{url}/api/chat", json={"prompt": "你好", "history": [], "max_length": None,
                                                "top_p": None, "temperature": None}).json()
    assert set(reply) == {"response", "history", "status", "time"}
    assert reply["response"] == "echo: 你好" and reply["status"] == 200
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", reply["time"])
    assert reply["history"] == [{"role": "user", "content": "你好"},
                                {"role": "assistant", "metadata": "", "content": "echo: 你好"}]
    # ChatGLM3 sends its history back as it came: the next turn continues it.
    again = httpx.post(f"{url}/api/chat", json={"prompt": "再见", "history": reply["history"], "max_length": 256,
                                                "top_p": 0.8, "temperature": 0}).json()
    assert again["response"] == "echo: 再见" and len(again["history"]) == 4
    pairs = httpx.post(f"{url}/api/chat", json={"prompt": "three", "history": [["one", "two"]]}).json()
    assert pairs["history"] == [["one", "two"], ["three", "echo: three"]]


def test_headless_server_answers_the_tutorials_exact_curl(tmp_path):
    rt = echo_runtime(tmp_path)
    with serve(create_app(rt, tutorial_root=True)) as url:
        # curl -X POST "http://127.0.0.1:6006" -H 'Content-Type: application/json' -d '{"prompt": "你好", "history": []}'
        reply = httpx.post(url, headers={"Content-Type": "application/json"},
                           content='{"prompt": "你好", "history": []}'.encode()).json()
        assert reply["response"] == "echo: 你好" and reply["status"] == 200
        assert httpx.get(url).status_code == 307  # the root sends browsers to the docs


def test_api_key_is_required_on_every_route_when_set(tmp_path):
    rt = echo_runtime(tmp_path, api_key="s3cret")
    with serve(create_app(rt)) as url:
        for method, path in [("GET", "/api/health"), ("GET", "/v1/models"), ("POST", "/api/chat"),
                             ("POST", "/v1/chat/completions"), ("POST", "/v1/embeddings")]:
            r = httpx.request(method, url + path, json={})
            assert r.status_code == 401, path
            assert r.json()["error"]["code"] == "invalid_api_key" and r.headers["www-authenticate"] == "Bearer"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{url}/v1", api_key="wrong").chat.completions.create(model="base", messages=ask("x"))
        good = openai.OpenAI(base_url=f"{url}/v1", api_key="s3cret")
        assert good.chat.completions.create(model="base", messages=ask("x")).choices[0].message.content == "echo: x"
        assert httpx.get(f"{url}/api/docs").status_code == 200  # the docs page itself stays readable


def test_browser_pages_on_allowed_origins_may_call_the_api_and_others_may_not(tmp_path):
    app_origin, other = "http://localhost:3000", "http://evil.example"
    rt = echo_runtime(tmp_path, api_key="s3cret", api_cors_origins=[app_origin])
    with serve(create_app(rt)) as url:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
        allowed = httpx.options(f"{url}/v1/chat/completions", headers={"Origin": app_origin, **preflight})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == app_origin
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        refused = httpx.options(f"{url}/v1/chat/completions", headers={"Origin": other, **preflight})
        assert "access-control-allow-origin" not in refused.headers
        body = {"model": "base", "messages": ask("hi")}
        reply = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"Origin": app_origin, "Authorization": "Bearer s3cret"})
        assert reply.json()["choices"][0]["message"]["content"] == "echo: hi"
        assert reply.headers["access-control-allow-origin"] == app_origin
        keyless = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"Origin": app_origin})
        assert keyless.status_code == 401  # an allowed origin still needs the key


def test_by_default_no_origin_is_allowed(echo):
    _, url = echo
    r = httpx.get(f"{url}/api/health", headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_without_a_key_setting_no_header_is_needed(echo):
    _, url = echo
    assert httpx.get(f"{url}/api/health").json()["status"] == "ok"


def test_client_disconnect_mid_stream_frees_the_engine_within_a_second(slow_echo):
    rt, url = slow_echo
    engine = rt.models.engine
    words = " ".join(f"w{i}" for i in range(400))  # 20 s of answer
    with httpx.Client(timeout=10) as client, client.stream(
        "POST", f"{url}/v1/chat/completions", json={"messages": ask(words), "stream": True}
    ) as response:
        lines = response.iter_lines()
        assert any('"content": "echo:"' in line for line in lines if line.startswith("data:"))
        assert engine.lock.busy
    assert wait_until(lambda: not engine.lock.busy, timeout=1.0) < 1.0


def test_non_streaming_client_that_gives_up_stops_its_generation(slow_echo):
    rt, url = slow_echo
    engine = rt.models.engine
    words = " ".join(f"w{i}" for i in range(400))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{url}/api/chat", json={"prompt": words}, timeout=0.5)
    assert wait_until(lambda: not engine.lock.busy, timeout=1.0) < 1.0


def test_queued_request_that_disconnects_leaves_the_queue(slow_echo):
    rt, url = slow_echo
    engine = rt.models.engine
    with engine.lock.hold():  # someone else is using the model
        with httpx.Client(timeout=10) as client, client.stream(
            "POST", f"{url}/v1/chat/completions", json={"messages": ask("queued"), "stream": True}
        ) as response:
            next(response.iter_lines())  # the role event arrives even while queued
            wait_until(lambda: engine.lock.queued == 1, timeout=2)
        wait_until(lambda: engine.lock.queued == 0, timeout=1.0)


def test_concurrent_requests_queue_on_the_engine_lock_and_all_finish(echo):
    rt, url = echo
    engine = rt.models.engine
    replies: dict[int, str] = {}

    def call(i: int) -> None:
        body = {"model": "base", "messages": ask(f"request {i}")}
        replies[i] = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=20).json()["choices"][0]["message"]["content"]

    with engine.lock.hold():
        threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        wait_until(lambda: engine.lock.queued == 3, timeout=5)
        health = httpx.get(f"{url}/api/health").json()
        assert (health["busy"], health["queued"]) == (True, 3)
        assert not replies
    for t in threads:
        t.join(10)
    assert replies == {i: f"echo: request {i}" for i in range(3)}


BAD = [
    ("/api/chat", b"{not json", "json"),
    ("/api/chat", b"[1, 2]", None),
    ("/api/chat", b'{"history": []}', "prompt"),
    ("/api/chat", b'{"prompt": "hi", "max_length": 1000000000}', "max_length"),
    ("/api/chat", b'{"prompt": "hi", "temperature": -1}', "temperature"),
    ("/api/chat", b'{"prompt": "hi", "top_p": "high"}', "top_p"),
    ("/api/chat", b'{"prompt": "hi", "history": [{"role": "bot", "content": "x"}]}', "history[0].role"),
    ("/api/chat", b'{"prompt": "hi", "history": [["only one"]]}', "history[0]"),
    ("/api/chat", b'{"prompt": "hi hi hi", "max_length": 3}', "max_length"),
    ("/api/chat", b'{"prompt": "   "}', None),
    ("/v1/chat/completions", b'{"messages": []}', "messages"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "x"}], "temperature": 3}', "temperature"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}', "max_tokens"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "x"}], "n": 2}', "n"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}',
     "messages[0].content[0].type"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": 5}]}', "messages[0].content"),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "x"}], "stream": "maybe"}', "stream"),
]


@pytest.mark.parametrize("path,body,param", BAD, ids=[b.decode()[:60] for _, b, _ in BAD])
def test_bad_input_is_a_400_in_openai_error_shape(echo, path, body, param):
    _, url = echo
    r = httpx.post(url + path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    if param == "json":
        assert "not valid JSON" in error["message"]
    elif param:
        assert error["param"] == param and param in error["message"]


def test_unknown_model_and_route_are_404s_naming_the_choices(echo):
    _, url = echo
    r = httpx.post(f"{url}/v1/chat/completions", json={"model": "gpt-9", "messages": ask("x")})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    assert "base" in r.json()["error"]["message"]
    r = httpx.get(f"{url}/v1/nothing")
    assert r.status_code == 404 and "/api/docs" in r.json()["error"]["message"]


def test_without_a_model_requests_get_503_with_retry_after(tmp_path):
    rt = create_runtime(echo_runtime(tmp_path).settings)  # never loads
    with serve(create_app(rt)) as url:
        r = httpx.post(f"{url}/api/chat", json={"prompt": "hi"})
        assert r.status_code == 503 and r.headers["retry-after"] and r.json()["error"]["code"] == "model_not_loaded"
        assert httpx.get(f"{url}/api/health").json()["status"] == "no_model"


def test_error_bodies_speak_the_language_the_client_asks_for(tmp_path):
    rt = create_runtime(echo_runtime(tmp_path).settings)  # never loads: every answer is "no model"
    with serve(create_app(rt)) as url:
        body = {"model": "base", "messages": [{"role": "user", "content": "hi"}]}
        said = {lang: httpx.post(f"{url}/v1/chat/completions", json=body, headers=({"Accept-Language": lang} if lang else {}))
                .json()["error"]["message"] for lang in ("", "zh-CN,zh;q=0.9,en;q=0.8", "en-US,zh;q=0.5", "fr, de;q=0.9")}
    assert said[""] == "No model is loaded. Load one on the System page, or start `python -m core serve --model SOURCE`."
    assert said["zh-CN,zh;q=0.9,en;q=0.8"].startswith("尚未加载模型。请在“系统”页面加载一个模型")
    assert said["en-US,zh;q=0.5"] == said["fr, de;q=0.9"] == said[""]  # the highest weight wins; unknown: English


def test_a_user_error_body_follows_accept_language(echo):
    _, url = echo
    body = {"model": "base", "messages": [{"role": "user", "content": ""}]}  # empty: the engine's InputError
    en = httpx.post(f"{url}/v1/chat/completions", json=body).json()["error"]["message"]
    zh = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"Accept-Language": "zh"}).json()["error"]["message"]
    assert en == "The message is empty. Type a question first." and zh == "消息为空。 请先输入问题。"


def test_models_health_and_docs(echo):
    rt, url = echo
    models = openai.OpenAI(base_url=f"{url}/v1", api_key="unused").models.list()
    assert [m.id for m in models.data] == ["base"]
    health = httpx.get(f"{url}/api/health").json()
    assert health == {"status": "ok", "model": "echo", "device": "cpu", "busy": False, "queued": 0, "adapters": [],
                      "running": 0, "max_batch": 1}
    docs = httpx.get(f"{url}/api/docs")
    assert docs.status_code == 200 and "/api/docs/static/swagger-ui-bundle.js" in docs.text  # works offline
    assert httpx.get(f"{url}/api/docs/static/swagger-ui-bundle.js").status_code == 200
    paths = httpx.get(f"{url}/api/openapi.json").json()["paths"]
    assert {"/api/chat", "/v1/chat/completions", "/v1/models", "/v1/embeddings", "/api/health"} <= set(paths)


@pytest.mark.smollm
def test_embedded_model_streams_through_openai_and_stops_when_the_client_leaves(tmp_path):
    from core.config import Settings
    from tests.conftest import MODEL_CACHE
    from tests.e2e.app_server import link_model_cache

    link_model_cache(tmp_path / "data", MODEL_CACHE)  # the converted SmolLM2 the other tests use
    rt = create_runtime(Settings(data_dir=tmp_path / "data", load_on_start=False, embedding_model="hash"))
    engine = rt.models.load("embedded")
    with serve(create_app(rt)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
        stream = client.chat.completions.create(model="base", messages=ask("Tell me a long story about a dragon."),
                                                max_tokens=400, stream=True)
        pieces, times = [], []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
                times.append(time.monotonic())
            if len(pieces) >= 4:
                break
        assert engine.lock.busy  # 400 tokens to go
        stream.close()
        assert "".join(pieces).strip()
        # Generation stops at the next token: within a second on an idle machine; on a loaded one
        # (shared CI cores) a token itself can take longer, so allow three tokens' time.
        token = max(b - a for a, b in zip(times, times[1:]))
        assert wait_until(lambda: not engine.lock.busy, timeout=max(1.0, 3 * token))
