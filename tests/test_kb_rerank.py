"""The reranker stage, on a tiny cross-encoder built here (random weights: this proves the plumbing and
the ordering rule, not quality; real rerankers are unmeasured offline, see core.kb.rerank)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import UserError
from core.kb import rerank
from core.kb.manager import KnowledgeBaseManager
from tests.test_kb_fusion import DOCS
from tests.test_kb_store import kb_settings


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> Path:
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-reranker")
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(list(DOCS.values()) * 3, trainers.WordPieceTrainer(
        vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                      sep_token="[SEP]", mask_token="[MASK]").save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(str(folder))
    return folder


@pytest.fixture
def kbs(tmp_path, tiny_cross_encoder) -> KnowledgeBaseManager:
    manager = KnowledgeBaseManager(kb_settings(tmp_path, kb_reranker=str(tiny_cross_encoder), kb_rerank_depth=6))
    folder = tmp_path / "zoo"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    manager.create("zoo")
    manager.index("zoo", [folder])
    return manager


def test_reranker_reorders_by_its_own_scores_and_keeps_the_0_to_1_relevance(kbs, tiny_cross_encoder) -> None:
    searcher = kbs.searcher("zoo")
    assert searcher.reranker is not None
    query = "大熊猫吃什么"
    plain = searcher.search(query, 6, rerank=False)
    reranked = kbs.search("zoo", query, 6)
    assert all(h.rerank is None for h in plain)
    expected = rerank.get_reranker(str(tiny_cross_encoder), kbs.settings.models_dir).scores(query, [h.text for h in plain])
    by_model = [h.id for _, h in sorted(zip(expected, plain), key=lambda p: -p[0])]
    assert [h.id for h in reranked] == by_model
    assert [h.rerank for h in reranked] == sorted(expected, reverse=True)
    assert all(0.0 < h.score <= 1.0 and 0.0 <= h.rerank <= 1.0 for h in reranked)
    assert {h.id for h in reranked} == {h.id for h in plain}  # re-ordered, nothing added or lost


def test_no_reranker_configured_means_off(tmp_path) -> None:
    assert rerank.get_reranker("", tmp_path) is None
    assert KnowledgeBaseManager(kb_settings(tmp_path)).settings.kb_reranker == ""


def test_a_folder_that_is_not_a_model_fails_clearly(tmp_path) -> None:
    with pytest.raises(UserError) as err:
        rerank.get_reranker(str(tmp_path), tmp_path)
    assert "cross-encoder" in str(err.value) and "重排序" in err.value.text("zh")
