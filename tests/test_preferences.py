"""Votes and Chat ratings → preference pairs and SFT records: storage, export, the pairs file format."""

from __future__ import annotations

import json

import pytest

from core.errors import InputError, UserError
from core.tuning import pairs, preferences
from core.compare import recompare
from core.adapters.store import AdapterCard
from core.tuning.datasets import parse as parse_sft
from core.compare.feedback import Feedback, FeedbackStore
from core.compare.votes import Vote, VoteStore

SETTINGS = {"options": {"temperature": 0.7, "seed": 3}, "system_prompts": {"base": "", "huan": "你是甄嬛"}}


def vote(choice: str, i: int = 0, **kw) -> Vote:
    return Vote(**({"a": "base", "b": "huan", "choice": choice, "prompt": f"你是谁？{i}", "answer_a": f"我是模型 {i}",
                    "answer_b": f"臣妾甄嬛 {i}", "run_id": "r1", "model": "m", "settings": SETTINGS} | kw))


def saver(folder):
    def save(name: str, data: bytes):
        path = folder / f"{len(list(folder.iterdir()))}-{name}"
        path.write_bytes(data)
        return path
    folder.mkdir(exist_ok=True)
    return save


def test_votes_keep_their_settings_and_chinese_text_across_a_restart(tmp_path):
    store = VoteStore(tmp_path / "votes.jsonl")
    store.add(vote("B"))
    again = VoteStore(tmp_path / "votes.jsonl").all()
    assert again == [vote("B", time=again[0].time)]
    assert "臣妾甄嬛" in (tmp_path / "votes.jsonl").read_text(encoding="utf-8")  # readable, not \\u-escaped
    assert again[0].settings["system_prompts"]["huan"] == "你是甄嬛"


def test_old_votes_without_settings_still_read(tmp_path):
    (tmp_path / "votes.jsonl").write_text(json.dumps({"a": "base", "b": "x", "choice": "A", "prompt": "p"}) + "\n")
    assert VoteStore(tmp_path / "votes.jsonl").all()[0].settings == {}


def test_only_decisive_votes_with_two_different_answers_become_pairs():
    votes = [vote("A", 1), vote("B", 2), vote("tie", 3), vote("both_bad", 4),
             vote("A", 5, answer_b="我是模型 5"), vote("B", 6, answer_a="")]
    assert preferences.pairs_from_votes(votes) == [
        {"prompt": "你是谁？1", "chosen": "我是模型 1", "rejected": "臣妾甄嬛 1"},
        {"prompt": "你是谁？2", "chosen": "臣妾甄嬛 2", "rejected": "我是模型 2"},
    ]


def test_pairs_jsonl_round_trips_and_is_what_trl_reads():
    items = [{"prompt": "你是谁？", "chosen": "臣妾甄嬛。\n多谢皇上", "rejected": "I am a model \"quoted\""}]
    data = pairs.to_jsonl(items)
    assert "臣妾" in data.decode("utf-8") and data.endswith(b"\n")
    assert [json.loads(line) for line in data.decode().splitlines()] == items  # one object a line, three keys
    parsed = pairs.parse("p.jsonl", data)
    assert parsed.pairs == items and not parsed.problems and parsed.lines == [1]
    assert parsed.card_info()["sha256"] == pairs.parse("p.jsonl", data).sha256


def test_malformed_rows_are_reported_by_line_and_never_trained_on():
    data = "\n".join([
        json.dumps({"prompt": "好", "chosen": "甲", "rejected": "乙"}, ensure_ascii=False),
        "{broken",
        json.dumps(["not", "an", "object"]),
        json.dumps({"prompt": "p", "chosen": "c"}),
        json.dumps({"prompt": "p", "chosen": 1, "rejected": "r"}),
        json.dumps({"prompt": " ", "chosen": "c", "rejected": "r"}),
        json.dumps({"prompt": "p", "chosen": "same", "rejected": "same "}),
        "",
    ]).encode("utf-8")
    parsed = pairs.parse("bad.jsonl", data)
    assert len(parsed.pairs) == 1
    assert [(line, m.key) for line, m in parsed.problems] == [
        (2, "pref.row_not_json"), (3, "pref.row_not_object"), (4, "pref.row_missing"), (5, "pref.row_not_text"),
        (6, "pref.row_empty"), (7, "pref.row_same")]
    with pytest.raises(UserError) as refused:
        parsed.require_valid()
    assert "6 unusable line(s)" in str(refused.value) and "line 2" in str(refused.value)
    assert "第 2 行" in refused.value.text("zh")
    with pytest.raises(UserError, match="not UTF-8"):
        pairs.parse("x.jsonl", b"\xff\xfe\x00bad")
    with pytest.raises(UserError, match="no preference pairs"):
        pairs.parse("empty.jsonl", b"\n\n").require_valid()


def answer(rating: str, text: str, question: str = "今天天气如何？", turn: int = 1, conv: str = "c1") -> Feedback:
    return Feedback(rating=rating, messages=[{"role": "system", "content": "你是甄嬛"}, {"role": "user", "content": question}],
                    answer=text, variant="huan", conversation=conv, turn=turn, settings={"tokens": 5})


def test_a_changed_rating_counts_once_as_decided_last(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.jsonl")
    store.add(answer("up", "晴"))
    store.add(answer("down", "晴"))
    store.add(answer("up", "雨", conv="c2"))
    (tmp_path / "feedback.jsonl").open("a").write('{"rating": "up", "messages": [], "answer"')  # torn last line
    assert [(f.conversation, f.rating) for f in store.all()] == [("c1", "down"), ("c2", "up")]
    assert store.rating_of("c1", 1, "晴") == "down" and store.rating_of("c1", 1, "雪") is None
    with pytest.raises(InputError):
        answer("meh", "晴")
    with pytest.raises(InputError):
        Feedback(rating="up", messages=[], answer="晴")


def test_ratings_make_pairs_for_the_same_question_and_sft_records_for_good_answers(tmp_path):
    ratings = [answer("up", "臣妾以为晴好", conv="c1"), answer("down", "不知道", conv="c2"),
               answer("up", "雨", question="别的问题", conv="c3")]
    assert preferences.pairs_from_feedback(ratings) == [
        {"prompt": "今天天气如何？", "chosen": "臣妾以为晴好", "rejected": "不知道"}]
    records = preferences.sft_records(ratings)
    assert len(records) == 2 and records[0]["messages"][-1] == {"role": "assistant", "content": "臣妾以为晴好"}
    # The SFT file reads back through the Fine-tune dataset parser as `messages` records.
    result = preferences.export(saver(tmp_path / "ds"), [], ratings)
    dataset = parse_sft(result.sft_path.name, result.sft_path.read_bytes())
    assert dataset.format == "messages" and not dataset.problems and len(dataset.records) == 2
    assert dataset.records[0][0] == {"role": "system", "content": "你是甄嬛"}


def test_export_holds_out_prompts_and_names_the_vote_set(tmp_path):
    votes = [vote("B", i) for i in range(10)] + [vote("B", 0)]  # one repeated vote: one pair
    result = preferences.export(saver(tmp_path / "ds"), votes, [])
    assert result.pairs == 8 and len(result.heldout) == 2 and result.sft == 0 and result.sft_path is None
    trained = pairs.parse(result.pairs_path.name, result.pairs_path.read_bytes())
    assert not set(trained.prompts()) & set(result.heldout)
    assert trained.sha256 == result.sha256
    assert preferences.read_heldout(result.pairs_path) == result.heldout
    again = preferences.export(saver(tmp_path / "ds2"), list(reversed(votes)), [])
    assert again.heldout == sorted(again.heldout, key=lambda p: [x.prompt for x in reversed(votes)].index(p))
    assert set(again.heldout) == set(result.heldout)  # by hash, not by order
    few = preferences.export(saver(tmp_path / "ds3"), [vote("A", 1), vote("A", 2)], [])
    assert few.pairs == 2 and few.heldout == []
    assert preferences.exported(tmp_path / "ds") == [result.pairs_path]


def test_the_re_compare_verdict_needs_its_interval_clear_of_a_coin_flip():
    card = AdapterCard(name="huan-dpo", base_model="m", base_fingerprint="f",
                       extra={"method": "dpo", "parent": "huan", "train_prompts": ["a", "b", "c"], "heldout_prompts": ["d", "a"]})
    assert recompare.contestants(card) == ("huan-dpo", "huan")
    assert recompare.prompts(card, 20) == (["a", "b", "c"], ["d"])
    assert recompare.prompts(card, 2) == (["a"], ["d"])
    with pytest.raises(UserError, match="not trained on preferences"):
        recompare.contestants(AdapterCard(name="x", base_model="m", base_fingerprint="f"))
    won = [Vote(a="huan-dpo", b="huan", choice="A", prompt="d" if i < 4 else "a") for i in range(12)]
    verdict = recompare.verdict(won + [Vote(a="huan", b="huan-dpo", choice="tie", prompt="a")], "huan-dpo", "huan", ["d"])
    assert (verdict.wins, verdict.losses, verdict.ties, verdict.held, verdict.seen) == (12, 0, 1, (4, 4), (8, 8))
    assert verdict.outcome == "won" and verdict.interval[0] > 0.5
    even = [Vote(a="huan-dpo", b="huan", choice="A" if i % 2 else "B", prompt="a") for i in range(10)]
    assert recompare.verdict(even, "huan-dpo", "huan").outcome == "unsure"
    lost = [Vote(a="huan", b="huan-dpo", choice="A", prompt="a") for _ in range(10)]
    assert recompare.verdict(lost, "huan-dpo", "huan").outcome == "lost"
    assert recompare.verdict([], "huan-dpo", "huan").outcome == "none"
