"""Dataset reading and validation: every format, every problem named with its line."""

from __future__ import annotations

import json
import re

import pytest

from core.errors import UserError
from core.tuning import datasets
from core.tuning.examples import IGNORE, encode, measure
from tests.factories import build_tokenizer

CJK = re.compile(r"[\u4e00-\u9fff]")

ALPACA = [
    {"instruction": "娘娘。", "input": "", "output": "你放心，本宫到任何时候都不会自轻自贱。"},
    {"instruction": "Translate", "input": "hello", "output": "你好", "system": "You translate."},
    {"instruction": "And then?", "input": "", "output": "Paris.", "history": [["Capital of France?", "Paris."]]},
]


def test_alpaca_json_array_with_system_input_and_history():
    ds = datasets.parse("d.json", json.dumps(ALPACA, ensure_ascii=False, indent=2).encode())
    assert ds.format == "alpaca" and not ds.problems and len(ds.records) == 3
    assert ds.records[0] == [{"role": "user", "content": "娘娘。"},
                             {"role": "assistant", "content": "你放心，本宫到任何时候都不会自轻自贱。"}]
    assert ds.records[1][0] == {"role": "system", "content": "You translate."}
    assert ds.records[1][1]["content"] == "Translate\nhello"
    assert [m["role"] for m in ds.records[2]] == ["user", "assistant", "user", "assistant"]
    assert ds.lines == [2, 7, 13]  # where each object starts in the indented file
    assert ds.card_info()["records"] == 3 and len(ds.card_info()["sha256"]) == 64


def test_jsonl_messages_and_sharegpt_and_csv():
    messages = [{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                              {"role": "assistant", "content": "Hello."}]}]
    ds = datasets.parse("m.jsonl", "\n".join(json.dumps(m) for m in messages).encode())
    assert ds.format == "messages" and ds.records[0][0]["role"] == "system"
    share = [{"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}], "system": "S"}]
    ds = datasets.parse("s.json", json.dumps(share).encode())
    assert ds.format == "sharegpt" and ds.records[0] == [
        {"role": "system", "content": "S"}, {"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]
    csv_text = "instruction,input,output\n问题,,回答\nTranslate,hi,你好\n"
    ds = datasets.parse("c.csv", csv_text.encode("gb18030"))
    assert ds.format == "alpaca" and len(ds.records) == 2 and ds.lines == [2, 3]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.jsonl", '{"instruction": "a", "output": "b"}\n{"instruction": "q", "output": ""}\n', "line 2: 'output' is empty"),
        ("bad.jsonl", '{"instruction": "a", "output": "b"}\n\n{"instruction": "a", "output": "b",}\n', "line 3: invalid JSON"),
        ("bad.json", '[\n {"instruction": "a", "output": "b"},\n {"instruction": "", "input": "", "output": "x"}\n]',
         "line 3: 'instruction' and 'input' are both empty"),
        ("bad.json", '[\n {"instruction": "a", "output": "b"},\n {"instruction": "a" "output": "b"}\n]', "line 3: invalid JSON"),
        ("bad.jsonl", '{"messages": [{"role": "user", "content": "hi"}]}\n', "line 1: 'messages' must end with an assistant answer"),
        ("bad.jsonl", '{"messages": [{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}]}\n',
         "line 1: 'messages' item 2 has unknown role 'robot'"),
        ("bad.jsonl", '{"instruction": "a", "output": "b"}\n{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n',
         "line 2: messages record in a alpaca file"),
        ("bad.jsonl", '{"question": "a", "answer": "b"}\n', "line 1: unknown record"),
        ("bad.jsonl", '{"instruction": "a", "output": 3}\n', "line 1: 'output' must be text"),
        ("bad.jsonl", '{"instruction": "a", "output": "b", "history": [["only one"]]}\n', "line 1: 'history' item 1"),
        ("bad.csv", "instruction,input,output\nq,,a\nq2,,\n", "line 3: 'output' is empty"),
        ("bad.csv", "question,answer\nq,a\n", "line 1: the header needs"),
        ("bad.jsonl", '{"messages": []}\n', "line 1: 'messages' must be a non-empty list"),
        ("bad.jsonl", '{"messages": [{"role": "user"}]}\n', "line 1: 'messages' item 1 needs 'role' and 'content'"),
        ("bad.jsonl", '{"messages": [{"role": "user", "content": " "}]}\n', "line 1: 'messages' item 1 is empty"),
        ("bad.jsonl", '{"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "s"}]}\n',
         "line 1: 'messages' item 2: a system message may only come first"),
        ("bad.jsonl", '{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, '
                      '{"role": "assistant", "content": "c"}]}\n', "line 1: 'messages' must alternate"),
        ("bad.jsonl", '{"conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}, '
                      '{"from": "gpt", "value": "c"}]}\n', "line 1: 'conversations' must start with a user turn"),
        ("bad.jsonl", '{"instruction": "a", "output": "b", "history": "none"}\n', "line 1: 'history' must be a list"),
    ],
)
def test_every_problem_names_its_line(name, text, expected):
    ds = datasets.parse(name, text.encode())
    assert any(str(p).startswith(expected) for p in ds.problems), ds.problems
    for p in ds.problems:  # every kind reads in Chinese too, with the same line, and English stays English
        assert p.text("zh").startswith(f"第 {p.line} 行：") and CJK.search(p.message.render("zh")), p
        assert p.text("en") == str(p) and not CJK.search(str(p))
    with pytest.raises(UserError, match="line") as caught:
        ds.require_valid()
    assert "第 " in caught.value.text("zh") and "line " not in caught.value.text("zh")


def test_a_malformed_files_problems_read_in_chinese_with_their_lines():
    array = ('[\n {"instruction": "a", "output": "b"},\n {"instruction": "q", "output": ""},\n'
             ' {"question": "q", "answer": "a"},\n {"instruction": "q", "output": 3},\n'
             ' {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},\n'
             ' {"instruction": "a", "output": "b"},\n')  # never closed: reading stops there
    ds = datasets.parse("bad.json", array.encode())
    assert [p.text("zh") for p in ds.problems] == [
        "第 3 行：'output' 为空",
        "第 4 行：无法识别的记录：应包含 instruction/output、messages 或 conversations",
        "第 5 行：'output' 必须是文本，不能是数字",
        "第 6 行：alpaca 格式的文件中出现了 messages 格式的记录：每个文件只能用一种格式",
        "第 8 行：JSON 数组缺少结尾的 ']'",
    ]
    assert [p.text("en") for p in ds.problems] == [
        "line 3: 'output' is empty",
        "line 4: unknown record: expected instruction/output, messages or conversations",
        "line 5: 'output' must be text, not int",
        "line 6: messages record in a alpaca file: use one format per file",
        "line 8: the JSON array is not closed with ']'",
    ]
    lines = '{"instruction": "a", "output": "b"}\n{"instruction": "a" "output": "b"}\n{"instruction": "q", "output": ""}\n'
    ds = datasets.parse("bad.jsonl", lines.encode())
    assert [p.text("zh") for p in ds.problems] == ["第 2 行：JSON 无效（这里缺少逗号 ','）",
                                                   "第 3 行：'output' 为空"]
    assert [str(p) for p in ds.problems] == ["line 2: invalid JSON (Expecting ',' delimiter)", "line 3: 'output' is empty"]
    with pytest.raises(UserError) as caught:
        ds.require_valid()
    assert caught.value.text("zh") == ("bad.jsonl 有 2 处问题：第 2 行：JSON 无效（这里缺少逗号 ','）；"
                                       "第 3 行：'output' 为空 请修正这些行后重新上传文件。")
    assert str(caught.value).startswith("bad.jsonl has 2 problem(s): line 2: invalid JSON")


def test_more_than_five_problems_are_summed_up_in_both_languages():
    ds = datasets.parse("many.jsonl", b'{"instruction": "q", "output": ""}\n' * 7)
    with pytest.raises(UserError) as caught:
        ds.require_valid()
    assert "（另有 2 处）" in caught.value.text("zh") and "(+2 more)" in str(caught.value)


def test_unsupported_or_empty_files_are_refused_clearly():
    with pytest.raises(UserError, match=".txt"):
        datasets.parse("notes.txt", b"hello")
    with pytest.raises(UserError, match="empty"):
        datasets.parse("e.json", b"   ")
    cut = datasets.parse("cut.json", b'[\n{"instruction": "a", "output": "b"},\n')
    assert [str(p) for p in cut.problems] == ["line 3: the JSON array is not closed with ']'"]


def test_split_is_deterministic_and_disjoint():
    train, val = datasets.split(50, 0.1, seed=3)
    assert len(val) == 5 and not set(train) & set(val) and sorted(train + val) == list(range(50))
    assert datasets.split(50, 0.1, seed=3) == (train, val)
    assert datasets.split(5, 0.0) == ([0, 1, 2, 3, 4], [])


def test_encoding_masks_the_prompt_and_stats_count_truncation():
    tok = build_tokenizer()
    messages = [{"role": "user", "content": "Hello world"}, {"role": "assistant", "content": "Paris."}]
    ex = encode(tok, "llama", datasets.with_system(messages, "You are 甄嬛."), 1000)
    prompt = tok.apply_chat_template(datasets.with_system(messages, "You are 甄嬛.")[:-1], tokenize=False,
                                     add_generation_prompt=True)
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert ex.labels[:n_prompt] == [IGNORE] * n_prompt
    answer = [t for t in ex.labels if t != IGNORE]
    assert tok.decode(answer).startswith("Paris.") and answer[-2:].count(tok.eos_token_id) == 1
    ds = datasets.parse("d.json", json.dumps(ALPACA, ensure_ascii=False).encode())
    stats = measure(tok, "llama", ds, "", 30)
    assert stats.records == 3 and stats.truncated == sum(n > 30 for n in stats.lengths) and stats.truncated >= 1
    assert sum(row["records"] for row in stats.histogram()) == 3
