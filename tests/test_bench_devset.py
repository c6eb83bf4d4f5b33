"""The retrieval dev set keeps its own rules: evidence verbatim in the one file named, questions
paraphrased (no 8+ character run shared with the evidence) where they say so, enough English questions
about Chinese files, all five repositories, and a split fixed by hash (bench/devset.py)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import pytest

from bench import devset

CORPUS_PARENT = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
ROWS = devset.load()


def test_shared_run_counts_the_longest_common_substring() -> None:
    assert devset.longest_shared_run("abcdefgh", "xxabcdefghyy") == 8
    assert devset.longest_shared_run("ABCD", "abcd") == 4  # case-insensitive
    assert devset.longest_shared_run("模型量化能省显存", "量化可以减少显存") == 2


def test_size_languages_and_repositories() -> None:
    assert len(ROWS) >= 150
    english_about_chinese = [r for r in ROWS if r["lang"] == "en" and r["doc_lang"] == "zh"]
    assert len(english_about_chinese) >= len(ROWS) / 3
    repos = Counter(r["source"].split("/")[1] for r in ROWS)
    assert set(repos) == {"hugging-llm", "llm-universe", "so-large-lm", "prompt-engineering-for-developers", "self-llm"}
    assert min(repos.values()) >= 10
    assert len({r["question"] for r in ROWS}) == len(ROWS)


def test_paraphrase_flag_is_the_rule_and_about_three_quarters_hold() -> None:
    for r in ROWS:
        shared = devset.longest_shared_run(r["question"], r["evidence"])
        assert r["paraphrased"] == (shared < devset.MIN_SHARED), r["question"]
    assert sum(r["paraphrased"] for r in ROWS) / len(ROWS) >= 0.7


def test_split_is_the_hash_and_both_halves_have_both_languages() -> None:
    for r in ROWS:
        assert r["split"] == devset.split_of(r["question"])
    for split in ("dev", "heldout"):
        part = [r for r in ROWS if r["split"] == split]
        assert len(part) >= 60 and {"zh", "en"} <= {r["lang"] for r in part}


def test_new_questions_are_not_the_old_set() -> None:
    old = {r["question"] for r in devset.load(devset.OLD)}
    assert not old & {r["question"] for r in ROWS}


@pytest.mark.skipif(not CORPUS_PARENT.exists(), reason="../shared/corpus is absent")
def test_evidence_is_verbatim_in_the_named_file_and_in_no_other_content() -> None:
    texts = {p.relative_to(CORPUS_PARENT).as_posix(): p.read_text(encoding="utf-8", errors="replace")
             for p in (CORPUS_PARENT / "datawhale").rglob("*") if p.is_file() and p.suffix in (".md", ".txt")}
    digest = {k: hashlib.md5(v.encode()).hexdigest() for k, v in texts.items()}
    squashed = {k: re.sub(r"\s+", "", v).lower() for k, v in texts.items()}  # near-copies differ in spaces
    for r in ROWS:
        assert r["source"] in texts, r["source"]
        assert r["evidence"] in texts[r["source"]], r["question"]
        span = re.sub(r"\s+", "", r["evidence"]).lower()
        twins = {digest[k] for k, v in squashed.items() if span in v} - {digest[r["source"]]}
        assert not twins, f"evidence also in other files: {r['question']}"
