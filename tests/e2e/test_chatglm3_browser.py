"""A ChatGLM3 chat in a real Chromium: the real checkpoint format (../shared/fixtures/chatglm3-tiny)
run natively, its prompt layout, streaming, and switching to the tutorial's own adapter.

Then Stop: an answer as long as the fixture's context allows is stopped from the page."""

from __future__ import annotations

import json

import pytest

from core.config import Settings
from core.models.options import GenerationOptions
from core.runtime import create_runtime
from core.adapters.pool import engine_fingerprint
from core.adapters.store import base_info
from tests.chatglm3_fixture import require_fixture
from tests.e2e.app_server import run_app
from tests.e2e.conftest import go_to, wait_idle, wait_model_loaded
from tests.e2e.test_chat_browser import STREAMING_LONGER_THAN, WATCH_ANSWER, messages, send

pytestmark = pytest.mark.browser
GREEDY = GenerationOptions(max_new_tokens=64, temperature=0)


def _last_answer(data) -> tuple[list[dict], dict]:
    conv = json.loads(next((data / "conversations").glob("*.json")).read_text(encoding="utf-8"))
    turns = conv["turns"]
    prompt = ([{"role": "system", "content": conv["system_prompt"]}] if conv["system_prompt"].strip() else []) + [
        {"role": t["role"], "content": t["content"]} for t in turns[:-1]]
    return prompt, turns[-1]


def test_chatglm3_chat_layout_streaming_and_adapter_switch(tmp_path, browser):
    fixture = require_fixture()
    data = tmp_path / "data"
    settings = Settings(data_dir=data, model=str(fixture / "model"), load_on_start=False, embedding_model="hash",
                        device="cpu", dtype="float32")
    rt = create_runtime(settings)  # in-process twin: imports the tutorial adapter and computes the expected answers
    engine = rt.models.load(settings.model)
    rt.adapters.import_folder(fixture / "tutorial-lora", engine_fingerprint(engine), "huanhuan", base_info(engine))
    engine.load_adapter("huanhuan", rt.adapters.path("huanhuan"))
    with run_app(data, model=str(fixture / "model"), LIANDAN_DEVICE="cpu", LIANDAN_DTYPE="float32",
                 LIANDAN_MAX_NEW_TOKENS="64") as app:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            wait_model_loaded(page, app)
            go_to(page, "对话")
            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_text("⚙️ 生成参数").click()
            sidebar.get_by_role("slider").nth(1).press("Home")  # temperature 0: greedy, comparable in process
            wait_idle(page)
            page.evaluate(WATCH_ANSWER)
            send(page, "你好")
            messages(page, "assistant").last.get_by_text("token/秒").wait_for(timeout=120_000)
            prompt, answer = _last_answer(data)
            # Same answer as the native engine on ChatGLM3's layout [gMASK]sop<|user|>\n你好<|assistant|>
            assert engine.encode(prompt)[:3] == [401, 403, 406]
            assert answer["content"] == engine.chat(prompt, GREEDY), answer
            assert len(page.evaluate("window.__answerLengths")) >= 2, "the answer did not stream"

            go_to(page, "对话")
            sidebar.get_by_test_id("stSelectbox").filter(has_text="适配器").click()
            page.get_by_role("option", name="🧩 huanhuan").click()
            wait_idle(page)
            sidebar.get_by_text("⚙️ 生成参数").click()
            sidebar.get_by_role("slider").nth(1).press("Home")
            wait_idle(page)
            send(page, "Hello, who are you?")
            messages(page, "assistant").last.get_by_text("🧩 huanhuan").wait_for(timeout=120_000)
            messages(page, "assistant").last.get_by_text("token/秒").wait_for(timeout=120_000)
            prompt, answer = _last_answer(data)
            assert answer["variant"] == "huanhuan"
            assert answer["content"] == engine.chat(prompt, GREEDY, adapter="huanhuan")

            # Stop: max new tokens to the slider's top; the context (2048) bounds the answer below it.
            sidebar.get_by_text("⚙️ 生成参数").click()
            sidebar.get_by_role("slider").first.press("End")
            wait_idle(page)
            send(page, "讲一个很长很长的故事。")
            page.wait_for_function(STREAMING_LONGER_THAN, arg=20, timeout=120_000)
            page.get_by_role("button", name="⏹ 停止").click()
            wait_idle(page)
            page.reload()
            messages(page, "assistant").last.get_by_text("（已停止）").wait_for(timeout=60_000)
            stats = messages(page, "assistant").last.get_by_text("token/秒").inner_text()
            assert int(stats.split()[0]) < 1900, f"the answer ran to its end despite Stop: {stats}"
        finally:
            page.close()
