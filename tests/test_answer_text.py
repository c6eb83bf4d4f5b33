"""Answer clean-up: headings scaled down, the RAG prompt's echo removed, [n] marks linked."""

from __future__ import annotations

import pytest

from core.answer_text import anchor, link_citations, strip_prompt_echo, tame_headings
from core.kb.rag import DEFAULT_PROMPTS

CONTEXT = "[1] (zoo/熊猫.md)\n# 大熊猫\n大熊猫生活在四川的竹林里，主要吃竹子。\n\n[2] (zoo/penguin.md)\nPenguins live in Antarctica."
QUESTION = "大熊猫吃什么"
ZH = DEFAULT_PROMPTS["zh"]
EN = DEFAULT_PROMPTS["en"]
PROMPT_ZH = ZH.format(context=CONTEXT, question=QUESTION)
PROMPT_EN = EN.format(context=CONTEXT, question="What do pandas eat?")


def test_headings_become_bold_lines_but_code_comments_stay():
    text = "# 大熊猫\n## Habitat ##\nplain # not a heading\n```python\n# a comment\nx = 1\n```\n###### small"
    assert tame_headings(text) == (
        "**大熊猫**\n**Habitat**\nplain # not a heading\n```python\n# a comment\nx = 1\n```\n**small**"
    )
    assert tame_headings("#hashtag and #1") == "#hashtag and #1"  # no space: not a heading


@pytest.mark.parametrize("answer, expected", [
    # the whole prompt echoed, then the answer after its cue
    (PROMPT_ZH + "大熊猫主要吃竹子 [1]。", "大熊猫主要吃竹子 [1]。"),
    ("上下文：\n" + CONTEXT + "\n\n问题：大熊猫吃什么\n有用的回答：大熊猫主要吃竹子。", "大熊猫主要吃竹子。"),
    ("上下文：大熊猫吃竹子。", "大熊猫吃竹子。"),  # a label glued to the answer
    ("有用的回答：\n大熊猫主要吃竹子。", "大熊猫主要吃竹子。"),
    ("回答：大熊猫主要吃竹子。", "大熊猫主要吃竹子。"),
    # the model starts a new round of the template after answering
    ("大熊猫主要吃竹子。\n\n问题：企鹅住在哪里？\n有用的回答：南极。", "大熊猫主要吃竹子。"),
    ("大熊猫主要吃竹子。\n上下文：\n[1] (zoo/熊猫.md)", "大熊猫主要吃竹子。"),
    # clean answers are left alone, also one that quotes the context's first sentence
    ("大熊猫生活在四川的竹林里，主要吃竹子。", "大熊猫生活在四川的竹林里，主要吃竹子。"),
    ("大熊猫主要吃竹子 [1]。\n企鹅生活在南极 [2]。", "大熊猫主要吃竹子 [1]。\n企鹅生活在南极 [2]。"),
    ("", ""),
])
def test_the_chinese_prompt_never_leaks(answer, expected):
    cleaned = strip_prompt_echo(answer, ZH, PROMPT_ZH)
    assert cleaned == expected
    assert "上下文：" not in cleaned and "有用的回答" not in cleaned


def test_the_english_prompt_and_a_custom_template():
    echoed = PROMPT_EN + " Pandas eat bamboo [1]."
    assert strip_prompt_echo(echoed, EN, PROMPT_EN) == "Pandas eat bamboo [1]."
    assert strip_prompt_echo("Context:\n[1] (zoo/熊猫.md)\nAnswer: bamboo", EN, PROMPT_EN) == "bamboo"
    custom = "资料：\n{context}\n请回答：{question}\n答复："
    prompt = custom.format(context=CONTEXT, question=QUESTION)
    assert strip_prompt_echo(prompt + "竹子。", custom, prompt) == "竹子。"
    assert strip_prompt_echo("竹子。\n资料：\n[1] (zoo/熊猫.md)", custom, prompt) == "竹子。"


def test_a_half_streamed_echo_never_shows_the_label():
    for end in range(1, len(PROMPT_ZH)):
        partial = strip_prompt_echo(PROMPT_ZH[:end], ZH, PROMPT_ZH)
        assert "上下文：" not in partial and "有用的回答：" not in partial, (end, partial)


CITES = [{"n": 1, "source": "zoo/熊猫.md", "score": 0.9, "text": "…"}, {"n": 2, "source": 'zoo/"q".md', "score": 0.5, "text": "…"}]


def test_marks_link_to_their_sources_and_nothing_else_changes():
    key = "大熊猫主要吃竹子"
    text = "大熊猫吃竹子[1]，企鹅在南极【2】。[3] 没有这个出处；[x](http://a) 和 `[1]` 与\n```\n[2]\n```"
    linked = link_citations(text, CITES, key)
    assert f'[\\[1\\]](#{anchor(key)} "zoo/熊猫.md")' in linked
    assert f"[\\[2\\]](#{anchor(key)} \"zoo/'q'.md\")" in linked
    assert "[3] 没有这个出处" in linked and "[x](http://a)" in linked and "`[1]`" in linked
    assert linked.endswith("```\n[2]\n```")
    assert link_citations("没有编号的回答。", CITES, key) == "没有编号的回答。"
    assert link_citations("有编号 [1]", [], key) == "有编号 [1]"
    assert anchor("a") != anchor("b")
