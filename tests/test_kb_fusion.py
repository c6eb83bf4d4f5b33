"""Fusion rules (core.kb.fusion), per-base search settings and calibration (core.kb.calibrate), on a real
Chroma index with the hash embedder chosen by settings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import UserError
from core.kb import calibrate, fusion
from core.kb.eval import QA
from core.kb.manager import KnowledgeBaseManager
from tests.test_kb_store import kb_settings

DOCS = {
    "熊猫.md": "# 大熊猫\n大熊猫生活在四川的竹林里，主要吃竹子。大熊猫是中国的国宝。",
    "企鹅.md": "# 企鹅\n企鹅生活在南极，擅长游泳，不会飞。帝企鹅是体型最大的企鹅。",
    "lora.md": "# LoRA\nLoRA fine-tuning adds low-rank adapter matrices to a frozen model, so training needs little memory.",
    "chroma.txt": "Chroma is a vector database. It stores embeddings and finds the nearest neighbours of a query vector.",
    "显存.md": "# 显存\n量化把权重从 16 位降到 4 位，7B 模型推理大约需要 6GB 显存。",
    "部署.md": "# 部署\n用 vLLM 部署模型可以提高吞吐量，PagedAttention 管理 KV 缓存。",
}
QAS = [
    QA("大熊猫吃什么", "zoo/熊猫.md"), QA("南极的企鹅会飞吗", "zoo/企鹅.md"), QA("low-rank adapter memory", "zoo/lora.md"),
    QA("vector database nearest neighbours", "zoo/chroma.txt"), QA("7B 模型需要多少显存", "zoo/显存.md"),
    QA("vLLM 部署 吞吐量", "zoo/部署.md"),
]


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


def test_dense_relevance_is_relative_to_the_query_median() -> None:
    flat = np.full(100, 0.8, dtype=np.float32)  # e5-like: everything ~0.8, nothing stands out
    assert fusion.dense_relevance(flat).max() == 0.0
    peaked = flat.copy()
    peaked[7] = 0.9
    rel = fusion.dense_relevance(peaked)
    assert rel.argmax() == 7 and rel[7] == pytest.approx(0.5) and rel.min() == 0.0


def test_rrf_puts_what_both_signals_like_first() -> None:
    dense = np.linspace(0.5, 0.1, 10).astype(np.float32)  # item 0 first ... item 9 last
    lexical = dense[::-1].copy()  # item 9 first ... item 0 last
    dense[5], lexical[5] = 0.45, 0.45  # item 5: second in both
    order = fusion.rrf_order(dense, lexical)
    assert order[0] == 5 and set(order[1:3]) == {0, 9}


def test_query_language_is_by_script() -> None:
    assert fusion.query_language("How much GPU memory?") == "en"
    assert fusion.query_language("LoRA 需要多少显存") == "zh"
    assert fusion.language_weight("How much?", 0.3, 0.8) == 0.8
    assert fusion.language_weight("多少", 0.3, 0.8) == 0.3


@pytest.mark.parametrize("rule", fusion.FUSIONS)
def test_every_rule_finds_the_file_and_keeps_0_to_1_scores(kbs, rule) -> None:
    kb = kbs.get("zoo")
    kb.config.fusion = rule
    kbs.forget_searcher("zoo")
    assert kbs.searcher("zoo").fusion_rule == rule
    hits = kbs.search("zoo", "大熊猫吃竹子", 4)
    assert hits[0].source == "zoo/熊猫.md"
    assert all(0.0 < h.score <= 1.0 for h in hits)


def test_calibration_never_ends_worse_and_saving_changes_the_base(kbs, tmp_path) -> None:
    result = calibrate.calibrate(kbs, "zoo", QAS)
    assert result.n == len(QAS)
    assert result.after_scores.mrr >= result.before_scores.mrr
    assert [r["measure"] for r in result.table()] == ["hit@1", "hit@5", "MRR", "kept", "turned_away"]
    assert kbs.get("zoo").config.threshold is None  # not saved unless asked
    saved = calibrate.calibrate(kbs, "zoo", QAS, apply=True)
    config = json.loads((kbs.get("zoo").folder / "kb.json").read_text(encoding="utf-8"))
    assert config["threshold"] == saved.after.threshold and config["fusion"] == saved.after.fusion
    assert kbs.threshold("zoo") == saved.after.threshold
    reopened = KnowledgeBaseManager(kb_settings(tmp_path))  # a restarted app keeps the calibration
    assert reopened.searcher("zoo").dense_weight == saved.after.dense_weight
    assert reopened.threshold("zoo") == saved.after.threshold


def test_calibration_refuses_lists_that_do_not_name_this_base(kbs) -> None:
    with pytest.raises(UserError) as err:
        calibrate.calibrate(kbs, "zoo", [QA("大熊猫吃什么", "elsewhere/熊猫.md")] * 6)
    assert "至少需要" in err.value.text("zh") and "at least" in str(err.value)


def test_switching_the_model_empties_the_index_and_reindexes_uploads(kbs, tmp_path) -> None:
    [path] = kbs.save_uploads("zoo", [("panda.md", "# 熊猫\n大熊猫吃竹子，生活在四川。".encode())])
    kbs.index("zoo", [path])
    kb = kbs.get("zoo")
    kb.config.threshold = 0.3
    with pytest.raises(UserError):
        kbs.change_embedding_model("zoo", str(tmp_path / "no-such-model"))
    assert kb.config.embedding_model == "hash" and kb.collection.count() > 0  # a bad model leaves it as it was
    uploads = kbs.change_embedding_model("zoo", "embedded-use")
    assert [p.name for p in uploads] == ["panda.md"]
    assert kb.collection.count() == 0 and kb.manifest.files == {} and kb.config.threshold is None
    assert json.loads((kb.folder / "kb.json").read_text(encoding="utf-8"))["embedding_model"] == "embedded-use"
    kbs.index("zoo", uploads)
    assert kbs.search("zoo", "What does the giant panda eat?", 1)[0].source == "panda.md"
