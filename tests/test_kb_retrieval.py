"""Hybrid retrieval, the 0-1 score, evaluation, RAG pieces and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from core.errors import UserError
from core.kb import eval as kb_eval
from core.kb import rag
from core.kb.manager import KnowledgeBaseManager
from core.kb.retrieval import BM25
from core.models.echo_engine import EchoEngine
from tests.test_kb_store import kb_settings

REPO = Path(__file__).resolve().parent.parent
DOCS = {
    "熊猫.md": "# 大熊猫\n大熊猫生活在四川的竹林里，主要吃竹子。大熊猫是中国的国宝。",
    "企鹅.md": "# 企鹅\n企鹅生活在南极，擅长游泳，不会飞。帝企鹅是体型最大的企鹅。",
    "lora.md": "# LoRA\nLoRA fine-tuning adds low-rank adapter matrices to a frozen model, so training needs little memory.",
    "chroma.txt": "Chroma is a vector database. It stores embeddings and finds the nearest neighbours of a query vector.",
}


@pytest.fixture
def kbs(tmp_path) -> KnowledgeBaseManager:
    manager = KnowledgeBaseManager(kb_settings(tmp_path))
    folder = tmp_path / "zoo"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    manager.create("zoo")
    manager.index("zoo", [folder])
    return manager


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize(
    "query,source",
    [("大熊猫吃什么", "zoo/熊猫.md"), ("南极的企鹅", "zoo/企鹅.md"), ("low-rank adapter training memory", "zoo/lora.md")],
)
def test_right_document_ranks_first_and_scores_are_0_to_1(kbs, mode, query, source):
    hits = kbs.search("zoo", query, 4, mode=mode)
    assert hits[0].source == source
    assert all(0.0 < h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_threshold_filters_and_unrelated_questions_score_low(kbs):
    assert kbs.search("zoo", "大熊猫吃竹子", 4, threshold=0.3)[0].source == "zoo/熊猫.md"
    unrelated = kbs.search("zoo", "quantum chromodynamics of quarks", 4)
    assert all(h.score < 0.3 for h in unrelated)
    assert kbs.search("zoo", "quantum chromodynamics of quarks", 4, threshold=0.3) == []


def test_bm25_normalisation_is_bounded_and_monotone():
    bm25 = BM25([["a", "b"], ["a"], ["c"] * 50, ["a", "a", "a", "b"]])
    scores = bm25.normalized_scores(["a", "b"])
    assert ((scores >= 0) & (scores <= 1)).all()
    assert scores[3] > scores[0] > scores[1] > scores[2] == 0.0
    assert bm25.normalized_scores(["zzz"]).max() == 0.0


def test_search_sees_new_chunks_after_reindex(kbs, tmp_path):
    assert kbs.search("zoo", "koala eucalyptus", 1, threshold=0.3) == []
    (tmp_path / "zoo" / "koala.md").write_text("Koalas eat eucalyptus leaves.", encoding="utf-8")
    kbs.index("zoo", [tmp_path / "zoo"])
    assert kbs.search("zoo", "koala eucalyptus", 1)[0].source == "zoo/koala.md"


def test_evaluation_scores_hits_and_mrr(kbs, tmp_path):
    lines = [
        {"question": "大熊猫吃什么", "source": "zoo/熊猫.md", "note": "ignored"},
        {"question": "企鹅会飞吗", "source": "zoo/企鹅.md"},
        {"question": "what is a vector database", "source": "zoo/missing.md"},
    ]
    items = kb_eval.parse_qa("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n")
    result = kb_eval.evaluate(kbs, "zoo", items)
    assert result.hit1 == pytest.approx(2 / 3) and result.hit5 == pytest.approx(2 / 3)
    assert result.mrr == pytest.approx(2 / 3)
    assert [r["rank"] for r in result.rows] == [1, 1, 0]
    with pytest.raises(UserError, match="Line 2"):
        kb_eval.parse_qa('{"question": "q", "source": "s"}\n{"question": "no source"}')
    assert kb_eval.rank_of(["a", "a", "b", "c"], "c") == 3


def test_rag_prepare_numbers_citations_and_flags_the_fallback(kbs):
    turn = rag.prepare(kbs, "zoo", "大熊猫吃什么", [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], "zh", 2, 0.2)
    assert turn.grounded and turn.citations[0]["n"] == 1 and turn.citations[0]["source"] == "zoo/熊猫.md"
    prompt = turn.messages[-1]["content"]
    assert "[1] (zoo/熊猫.md)" in prompt and "不要试图编造答案" in prompt and prompt.rstrip().endswith("有用的回答：")
    assert [m["role"] for m in turn.messages] == ["user", "assistant", "user"]
    fallback = rag.prepare(kbs, "zoo", "quantum chromodynamics", [], "en", 3, 0.9)
    assert not fallback.grounded and fallback.citations == []
    assert fallback.messages == [{"role": "user", "content": "quantum chromodynamics"}]


def test_weakest_chunks_are_left_out_until_the_prompt_fits(kbs):
    sizes = []

    def fits(messages):
        sizes.append(len(messages[-1]["content"]))
        return len(sizes) >= 3  # the window takes only the best 2 of 4 chunks

    turn = rag.prepare(kbs, "zoo", "大熊猫 企鹅 LoRA Chroma", [], "zh", 4, 0.0, fits=fits)
    assert [c["n"] for c in turn.citations] == [1, 2] and turn.grounded
    assert sizes == sorted(sizes, reverse=True)
    none_fit = rag.prepare(kbs, "zoo", "大熊猫", [], "zh", 4, 0.0, fits=lambda m: False)
    assert not none_fit.grounded
    engine = EchoEngine(context_length=64)
    assert rag.engine_fits(engine, 16)([{"role": "user", "content": "word " * 40}])
    assert not rag.engine_fits(engine, 16)([{"role": "user", "content": "word " * 50}])


def test_custom_prompts_are_validated_and_used(kbs):
    with pytest.raises(UserError, match=r"\{context\} and \{question\}"):
        kbs.set_prompts("zoo", "只有 {question}", "")
    kbs.set_prompts("zoo", "资料：{context}\n请回答：{question}", "")
    turn = rag.prepare(kbs, "zoo", "企鹅", [], "zh", 1, 0.0)
    assert turn.messages[-1]["content"].startswith("资料：[1]")
    assert "Use only the following context" in rag.template_for(kbs.get("zoo").config, "en")


def test_langchain_pieces_stream_through_the_engine(kbs):
    engine = EchoEngine()
    llm = rag.EngineChatModel(engine=engine)
    chunks = [c.content for c in llm.stream([HumanMessage("streamed words here")]) if c.content]
    assert len(chunks) == 4 and "".join(chunks) == "echo: streamed words here"
    docs = rag.KBRetriever(manager=kbs, kb="zoo", k=2).invoke("企鹅生活在哪里")
    assert docs[0].metadata["source"] == "zoo/企鹅.md" and 0 < docs[0].metadata["score"] <= 1
    answer = rag.rag_chain(kbs, "zoo", engine, lang="en", k=1).invoke("Where do penguins live? 企鹅")
    assert answer.startswith("echo: Use only the following context") and "[1] (zoo/企鹅.md)" in answer


def test_cli_index_search_json_and_eval(tmp_path, monkeypatch, capsys):
    from core.cli import main

    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "熊猫.md").write_text(DOCS["熊猫.md"], encoding="utf-8")
    (folder / "lora.md").write_text(DOCS["lora.md"], encoding="utf-8")
    (folder / "broken.md").write_bytes(b"")
    env = {"LIANDAN_DATA_DIR": str(tmp_path / "data"), "LIANDAN_EMBEDDING_MODEL": "hash"}
    index = subprocess.run(
        [sys.executable, "-m", "core", "index", "--kb", "cli", str(folder)],
        cwd=REPO, env={**os.environ, **env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120,
    )
    assert index.returncode == 0, index.stderr
    assert "2 indexed" in index.stdout and "1 failed" in index.stdout and "corpus/broken.md: The file is empty." in index.stdout
    assert "100%" in index.stderr  # the progress bar

    for key, value in env.items():  # the other commands in-process (a CLI start costs seconds)
        monkeypatch.setenv(key, value)
    assert main(["search", "--kb", "cli", "--k", "2", "--json", "大熊猫吃什么"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["source"] == "corpus/sub/熊猫.md" and set(hits[0]) >= {"source", "score", "text"}
    assert all(0 <= h["score"] <= 1 for h in hits) and "竹子" in hits[0]["text"]
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "LoRA adapter memory", "source": "corpus/lora.md"}) + "\n", encoding="utf-8")
    assert main(["eval-retrieval", "--kb", "cli", "--json", str(qa)]) == 0
    assert json.loads(capsys.readouterr().out)["hit@1"] == 1.0
    assert main(["search", "--kb", "nope", "x"]) == 2
    assert "no knowledge base 'nope'" in capsys.readouterr().err
    monkeypatch.setenv("LIANDAN_ENGINE", "echo")
    assert main(["ask", "--kb", "cli", "--lang", "en", "大熊猫吃什么？"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("echo: Use only the following context") and "[1] corpus/sub/熊猫.md" in out
