"""Adapters as `model`, knowledge bases as `knowledge_base`, and /v1/embeddings, over real HTTP."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import openai
import pytest

from core.api.app import create_app
from core.kb.embeddings import HashEmbedder
from core.models.options import GenerationOptions
from core.runtime import create_runtime
from core.adapters.pool import messages_for
from tests.api_helpers import echo_runtime, serve
from tests.factories import build_lora_adapter

DOC = "炼丹炉的火候由三味真火控制。The furnace temperature is set by the Samadhi fire."


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_adapter_names_are_models_and_answer_like_the_adapter_itself(settings, tiny_model_dir):
    rt = create_runtime(settings)
    engine = rt.models.load(settings.model)
    card = build_lora_adapter(tiny_model_dir, rt.adapters, "persona", seed=3, system_prompt="You are Zhen Huan.")
    with serve(create_app(rt)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
        assert [m.id for m in client.models.list().data] == ["base", "persona"]
        body = dict(messages=ask("Hello 你好"), temperature=0, max_tokens=10)
        base = client.chat.completions.create(model="base", **body).choices[0].message.content
        stream = client.chat.completions.create(model="persona", stream=True, **body)
        tuned = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert httpx.get(f"{url}/api/health").json()["adapters"] == ["persona"]  # loaded on first use
    greedy = GenerationOptions(temperature=0, max_new_tokens=10)
    assert tuned == engine.chat(messages_for(card, ask("Hello 你好")), greedy, adapter="persona")
    assert base == engine.chat(ask("Hello 你好"), greedy)
    assert tuned != base  # the same one model in memory, two behaviours
    rt.adapter_pool.unload("persona")  # raises if the finished request had left it pinned


@pytest.fixture(scope="module")
def kb_server(tmp_path_factory):
    rt = echo_runtime(tmp_path_factory.mktemp("api-kb"))
    folder = tmp_path_factory.mktemp("docs")
    (folder / "furnace.md").write_text(DOC, encoding="utf-8")
    rt.kb.create("alchemy")
    rt.kb.index("alchemy", [folder / "furnace.md"])
    with serve(create_app(rt)) as url:
        yield rt, url


def test_knowledge_base_answers_with_its_sources(kb_server):
    _, url = kb_server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    reply = client.chat.completions.create(model="base", messages=ask("炼丹炉的火候由什么控制？"),
                                           extra_body={"knowledge_base": "alchemy"})
    extra = reply.model_extra
    assert extra["grounded"] is True
    assert extra["sources"][0]["source"] == "furnace.md" and extra["sources"][0]["n"] == 1
    assert 0 < extra["sources"][0]["score"] <= 1
    # The echo engine repeats the prompt it was given: the retrieved passage is in it.
    assert "三味真火" in reply.choices[0].message.content

    stream = client.chat.completions.create(model="base", messages=ask("What is the furnace temperature set by?"),
                                            extra_body={"knowledge_base": "alchemy"}, stream=True)
    chunks = list(stream)
    assert chunks[0].model_extra["sources"][0]["source"] == "furnace.md" and chunks[0].model_extra["grounded"]
    assert "Samadhi" in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_unknown_knowledge_base_is_a_404_listing_the_ones_there_are(kb_server):
    _, url = kb_server
    r = httpx.post(f"{url}/v1/chat/completions", json={"messages": ask("x"), "knowledge_base": "nope"})
    assert r.status_code == 404 and "alchemy" in r.json()["error"]["message"]
    assert r.json()["error"]["param"] == "knowledge_base"


def test_embeddings_come_from_the_knowledge_base_model(kb_server):
    _, url = kb_server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    result = client.embeddings.create(model="alchemy", input=["三味真火", "furnace"], encoding_format="float")
    expected = HashEmbedder().embed_documents(["三味真火", "furnace"])
    assert [d.index for d in result.data] == [0, 1]
    assert np.allclose([d.embedding for d in result.data], expected, atol=1e-6)
    assert result.model == "hash" and result.usage.prompt_tokens > 0
    raw = httpx.post(f"{url}/v1/embeddings", json={"input": "furnace", "encoding_format": "base64"}).json()
    decoded = np.frombuffer(base64.b64decode(raw["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, expected[1], atol=1e-6)
    assert httpx.post(f"{url}/v1/embeddings", json={"input": ["ok", " "]}).status_code == 400
