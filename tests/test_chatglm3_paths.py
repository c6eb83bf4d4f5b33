"""ChatGLM3 (the real checkpoint format, run natively) through every engine path: chat, stream,
stop, the tutorial API (`POST /` with ChatGLM3's history) and /v1, knowledge-base answers, the
code interpreter's observation role, and the Fine-tune page's import of the tutorial adapter."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from core.api.app import create_app
from core.config import Settings
from core.interpreter.kernel import pool_from_settings
from core.interpreter.loop import CHATGLM_PROMPT, CodeLoop, LoopConfig
from core.models.options import GenerationOptions
from core.runtime import create_runtime
from tests.api_helpers import serve
from tests.chatglm3_fixture import chatglm3_dir, reference  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_torch_thread")
GREEDY = GenerationOptions(temperature=0, max_new_tokens=12)


@pytest.fixture(scope="module")
def rt(chatglm3_dir, tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("glm-paths") / "data", model=str(chatglm3_dir / "model"),
                        load_on_start=False, embedding_model="hash", device="cpu", dtype="float32")
    runtime = create_runtime(settings)
    runtime.models.load(settings.model)
    return runtime


def test_chat_stream_and_stop(rt):
    engine = rt.models.engine
    messages = [{"role": "user", "content": "你好"}]
    whole = engine.chat(messages, GREEDY)
    gen = engine.stream(messages, GREEDY)
    assert "".join(gen) == whole and whole
    stopped = engine.stream(messages, GenerationOptions(temperature=0, max_new_tokens=2000))
    first = next(iter(stopped))
    stopped.stop()
    rest = "".join(stopped)
    assert stopped.finished.wait(10) and stopped.stats.completion_tokens < 2000, (first, rest)
    assert engine.chat(messages, GREEDY) == whole  # the engine is free and unchanged after Stop


def test_tutorial_root_route_with_chatglm3_history_and_v1(rt):
    engine = rt.models.engine
    case = reference()["cases"][1]  # a multi-turn history with an assistant turn carrying `metadata`
    assert engine.count_tokens(case["history"] + [{"role": "user", "content": case["query"]}]) == len(case["input_ids"])
    with serve(create_app(rt, tutorial_root=True)) as url:
        body = {"prompt": case["query"], "history": case["history"], "max_length": len(case["input_ids"]) + 12,
                "top_p": 0.7, "temperature": 0}
        reply = httpx.post(url + "/", json=body, timeout=60).json()
        v1 = httpx.post(f"{url}/v1/chat/completions", timeout=60, json={
            "model": "base", "temperature": 0, "max_tokens": 12,
            "messages": case["history"] + [{"role": "user", "content": case["query"]}]}).json()
    expected = engine.chat(case["history"] + [{"role": "user", "content": case["query"]}],
                           GenerationOptions(temperature=0, top_p=0.7, max_new_tokens=12))
    assert reply["status"] == 200 and reply["response"] == expected
    assert reply["history"][:2] == case["history"]
    assert reply["history"][-1] == {"role": "assistant", "metadata": "", "content": expected}
    assert v1["choices"][0]["message"]["content"] == engine.chat(
        case["history"] + [{"role": "user", "content": case["query"]}], GenerationOptions(temperature=0, max_new_tokens=12))


def test_knowledge_base_answer_puts_the_passage_in_chatglm3s_prompt(rt, tmp_path):
    from core.kb import rag

    (tmp_path / "furnace.md").write_text("炼丹炉的火候由三味真火控制。", encoding="utf-8")
    rt.kb.create("alchemy")
    rt.kb.index("alchemy", [tmp_path / "furnace.md"])
    engine = rt.models.engine
    turn = rag.prepare(rt.kb, "alchemy", "炼丹炉的火候由什么控制？", [], "zh", k=3, threshold=0.0,
                       fits=rag.engine_fits(engine, 12))
    assert turn.grounded and turn.citations[0]["source"] == "furnace.md"
    ids = engine.encode(turn.messages)
    assert ids[:3] == [401, 403, engine.tokenizer.get_command(f"<|{turn.messages[0]['role']}|>")]
    assert "三味真火" in engine.tokenizer.decode(ids)
    answer = rag.rag_chain(rt.kb, "alchemy", engine, options=GREEDY).invoke("炼丹炉的火候由什么控制？")
    assert isinstance(answer, str) and answer


def test_code_interpreter_uses_the_native_observation_role(rt, tmp_path):
    engine = rt.models.engine
    pool = pool_from_settings(Settings(data_dir=tmp_path / "home", interpreter_cell_timeout_s=5))
    try:
        loop = CodeLoop(engine, pool.get("glm"), LoopConfig(max_rounds=1))
        assert loop.family == "chatglm"
        state = loop.begin([{"role": "user", "content": "算一下 6*7"}])
        assert state.messages[0] == {"role": "system", "content": CHATGLM_PROMPT}
        loop.accept(state, "interpreter\n```python\nprint(6*7)\n```")
        assert state.messages[-1]["metadata"] == "interpreter"
        loop.execute(state)
        assert state.messages[-1] == {"role": "observation", "content": "42"}
        ids = engine.encode(state.messages)
        tok = engine.tokenizer
        assert ids == tok.chat_ids("42", state.messages[:-1], role="observation")
        # (the fixture's tiny sentencepiece model normalises newlines to spaces; the real one keeps them)
        assert "".join(tok.decode(ids).split()).endswith("<|assistant|>interpreter```pythonprint(6*7)```<|observation|>42<|assistant|>")
        "".join(loop.stream(state, GREEDY))  # the model answers after the observation
        assert len(state.steps) == 2 and state.steps[-1].result is None
    finally:
        pool.close()


def test_fine_tune_page_imports_the_tutorial_zip_and_offers_the_tutorial_download(rt, chatglm3_dir):
    from tests.conftest import app_test, installed

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for file in (chatglm3_dir / "tutorial-lora").iterdir():
            zf.write(file, f"checkpoint-100/{file.name}")
    with installed(rt):
        at = app_test("pages/fine_tune.py").run()
        at.file_uploader(key="ft-adapter-zip").set_value(("huanhuan-lora.zip", buffer.getvalue(), "application/zip")).run()
        assert not at.exception
        assert any("Imported adapter 'huanhuan-lora'" in s.value for s in at.success), [e.value for e in at.error]
        assert rt.adapters.get("huanhuan-lora").extra["converted_from"] == "chatglm"
        at.run()
        labels = [b.label for b in at.get("download_button")]
        assert "Download for the tutorial (PEFT)" in labels, labels
