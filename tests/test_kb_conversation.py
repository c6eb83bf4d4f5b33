"""Follow-up rewriting (core.kb.followup), the whole-document option and the retrieval log, through
rag.prepare on a real index (hash embedder by settings) and the echo engine."""

from __future__ import annotations

import json

import pytest

from core.kb import followup, rag, retrieval_log
from core.kb.manager import KnowledgeBaseManager
from tests.test_kb_fusion import DOCS
from tests.test_kb_store import kb_settings

LONG = "# 显存估算\n" + "".join(f"第{i}段：7B 模型在 4 位量化下推理大约需要 6GB 显存，长上下文会多占用 KV 缓存。\n\n" for i in range(30))


@pytest.fixture
def kbs(tmp_path) -> KnowledgeBaseManager:
    manager = KnowledgeBaseManager(kb_settings(tmp_path, kb_chunk_size=200, kb_chunk_overlap=60))
    folder = tmp_path / "zoo"
    folder.mkdir()
    for name, text in {**DOCS, "长文.md": LONG}.items():
        (folder / name).write_text(text, encoding="utf-8")
    manager.create("zoo")
    manager.index("zoo", [folder])
    return manager


def history(question: str) -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": "…"}]


@pytest.mark.parametrize("previous,question,expected", [
    ("Qwen2-7B-Instruct 怎么用 vLLM 部署？", "那它需要多少显存？", "Qwen2-7B-Instruct需要多少显存？"),
    ("天机这个项目是做什么的？", "它用的是哪家的接口？", "天机用的是哪家的接口？"),
    ("What is lamini used for?", "Where does it keep its config?", "Where does lamini keep its config?"),
])
def test_rule_rewrite_puts_the_previous_subject_in(previous, question, expected) -> None:
    assert followup.standalone(question, history(previous)) == (expected, "rule")


def test_standalone_questions_and_first_questions_are_left_alone() -> None:
    assert followup.standalone("大熊猫主要吃什么食物呢，生活在哪里", history("企鹅会飞吗")) == ("大熊猫主要吃什么食物呢，生活在哪里", "as-is")
    assert followup.standalone("它需要多少显存？", []) == ("它需要多少显存？", "as-is")


class BigEcho:
    """A stand-in for a >= 1B chat model (by its info), answering with a fixed rewrite."""

    class info:  # noqa: N801 - mimics ModelInfo's attribute
        parameters = 6_000_000_000

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def chat(self, messages, options=None):
        assert "Standalone question" in messages[-1]["content"]
        return self.reply


def test_a_large_model_rewrites_and_a_bad_rewrite_falls_back_to_the_rule() -> None:
    h = history("大熊猫吃什么？")
    assert followup.standalone("它住在哪里？", h, BigEcho("大熊猫住在哪里？")) == ("大熊猫住在哪里？", "model")
    assert followup.standalone("它住在哪里？", h, BigEcho("")) == ("大熊猫住在哪里？", "rule")
    assert followup.standalone("它住在哪里？", h, BigEcho("x" * 500))[1] == "rule"


def test_follow_up_finds_the_file_the_bare_question_misses_and_is_logged(kbs) -> None:
    bare = kbs.search("zoo", "它住在哪里？", 1)
    assert not bare or bare[0].source != "zoo/企鹅.md"
    turn = rag.prepare(kbs, "zoo", "它住在哪里？", history("企鹅会飞吗？"), "zh", 3, 0.0, origin="test")
    assert turn.grounded and turn.citations[0]["source"] == "zoo/企鹅.md"
    entry = retrieval_log.entries(kbs.get("zoo"))[0]
    assert entry["question"] == "它住在哪里？" and entry["rewrite"] == "rule" and "企鹅" in entry["query"]
    assert entry["used"] and entry["hits"][0]["source"] == "zoo/企鹅.md" and entry["origin"] == "test"
    assert json.loads(retrieval_log.export_qa(kbs.get("zoo"))) == {"question": "它住在哪里？", "source": "zoo/企鹅.md"}


def test_ungrounded_turns_are_logged_but_not_exported(kbs) -> None:
    turn = rag.prepare(kbs, "zoo", "quantum chromodynamics of quarks", [], "en", 3, 0.99)
    assert not turn.grounded
    assert retrieval_log.entries(kbs.get("zoo"))[0]["used"] is False
    assert retrieval_log.export_qa(kbs.get("zoo")) == ""


def test_whole_document_gives_the_file_once_when_it_fits_and_chunks_when_not(kbs) -> None:
    text = rag.document_text(kbs, "zoo", "zoo/长文.md")
    for i in range(30):
        assert text.count(f"第{i}段") == 1  # overlap removed, nothing lost
    assert text.startswith("显存估算") and text.count("显存估算") == 1
    whole = rag.prepare(kbs, "zoo", "长上下文会多占用 KV 缓存", [], "zh", 3, 0.0, whole_document=True)
    assert len(whole.citations) == 1 and whole.citations[0]["text"] == text
    small = rag.prepare(kbs, "zoo", "长上下文会多占用 KV 缓存", [], "zh", 3, 0.0, whole_document=True,
                        fits=lambda messages: sum(len(m["content"]) for m in messages) < 1200)
    assert small.grounded and len(small.citations) >= 1 and small.citations[0]["text"] != text


def test_the_log_is_trimmed(kbs, monkeypatch) -> None:
    monkeypatch.setattr(retrieval_log, "MAX_ENTRIES", 3)
    kb = kbs.get("zoo")
    for i in range(8):
        retrieval_log.record(kb, f"q{i}", f"q{i}", "as-is", [], False)
    assert len(retrieval_log.path_for(kb).read_text(encoding="utf-8").splitlines()) <= 6
    assert retrieval_log.entries(kb)[0]["question"] == "q7"
