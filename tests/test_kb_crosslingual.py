"""English questions reach Chinese files through BM25: the CC-CEDICT lookup, grouped BM25, and the
title field (file path + heading path)."""

from __future__ import annotations

import numpy as np
import pytest

from core.kb import crosslingual
from core.kb.manager import KnowledgeBaseManager
from core.kb.retrieval import BM25
from tests.test_kb_store import kb_settings

SAMPLE = [
    "# CC-CEDICT header line\n",
    "模板 模板 [mu2 ban3] /template/(architecture) formwork/\n",
    "危害 危害 [wei1 hai4] /to jeopardize/to harm/harmful effect/damage/\n",
    "損害 损害 [sun3 hai4] /harm/to damage/to impair/\n",
    "害 害 [hai4] /to do harm to/to cause trouble to/harm/\n",
]


def test_parse_keeps_one_word_glosses_of_multi_character_words():
    table = crosslingual.parse_cedict(SAMPLE)
    assert table["template"] == {"模板"}
    assert table["harm"] == {"危害", "损害"}  # 害 is one character: too ambiguous for BM25
    assert table["damage"] == {"危害", "损害"}
    assert "harmful effect" not in table and "architecture" not in table  # phrases and (notes) are dropped
    assert table["formwork"] == {"模板"}
    assert "#" not in "".join(table)


def test_alternatives_keep_only_words_of_the_base_most_frequent_first():
    table = crosslingual.parse_cedict(SAMPLE)
    df = {"危害": 1, "损害": 5}
    groups = crosslingual.alternatives(["harms", "templates", "harms", "模型"], lambda w: df.get(w, 0), table=table)
    assert groups == [["harms", "损害", "危害"], ["templates"], ["模型"]]  # 模板 is not in this base
    assert crosslingual.alternatives(["harm"], lambda w: df.get(w, 0), cap=1, table=table) == [["harm", "损害"]]


def test_shipped_dictionary_is_read_offline_from_the_wheel():
    table = crosslingual.dictionary()
    assert len(table) > 20_000
    assert "模板" in table["template"] and "危害" in table["harm"]


def test_alternatives_in_a_group_do_not_inflate_the_score():
    bm25 = BM25([["损害", "x"], ["损害", "危害"], ["模型", "x"], ["危害", "x"]])  # equal lengths
    grouped = bm25.grouped_scores([["损害", "危害"]])
    assert grouped[1] == pytest.approx(max(grouped[0], grouped[3]))  # both words: the best one counts
    assert grouped[2] == 0.0
    np.testing.assert_allclose(bm25.grouped_scores([["损害"], ["模型"]]), bm25.normalized_scores(["损害", "模型"]))
    # An English word absent from the base does not lower the ceiling its translation is scored on:
    np.testing.assert_allclose(bm25.grouped_scores([["harm", "危害"]]), bm25.normalized_scores(["危害"]))


@pytest.fixture
def kbs(tmp_path) -> KnowledgeBaseManager:
    manager = KnowledgeBaseManager(kb_settings(tmp_path))
    folder = tmp_path / "docs"
    (folder / "Hunyuan3D-2").mkdir(parents=True)
    (folder / "安全.md").write_text("# 风险\n大模型可能带来危害，单纯的技术缓解措施往往不够。", encoding="utf-8")
    (folder / "烹饪.md").write_text("# 做饭\n先把米洗干净，再加水煮二十分钟。", encoding="utf-8")
    (folder / "Hunyuan3D-2" / "部署.md").write_text("# 安装\n先创建虚拟环境，再安装依赖。", encoding="utf-8")
    manager.create("docs")
    manager.index("docs", [folder])
    return manager


def test_english_question_finds_the_chinese_file_by_keywords(kbs):
    hits = kbs.search("docs", "What harms can large models cause?", 3, mode="bm25")
    assert hits and hits[0].source == "docs/安全.md"  # no English word of it is in any file


def test_file_and_folder_names_are_searchable(kbs):
    hits = kbs.search("docs", "Hunyuan3D-2", 3, mode="bm25")
    assert hits and hits[0].source == "docs/Hunyuan3D-2/部署.md"  # the name is only in its path
