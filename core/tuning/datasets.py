"""Fine-tuning datasets: read, detect the format, validate line by line, measure, split.

Every record becomes a list of chat messages (optional system, then user/assistant turns),
so training formats it with the model's own chat template — the adapter then answers in
the layout chat uses, instead of a hand-built prompt only the training script knows.
A problem names the line it starts on, because users fix files in a text editor, and is
stored in English (`str()`: CLI, API, logs) and Chinese (`text("zh")`: the UI's default).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import logging
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UserError
from core.tuning.json_errors import json_reason
from core.i18n import Message, msg, verbatim

FORMATS = ("alpaca", "messages", "sharegpt")
EXTENSIONS = (".json", ".jsonl", ".csv")
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system",
                  "chatgpt": "assistant", "bot": "assistant", "model": "assistant"}
MAX_PROBLEMS = 20
MAX_DEPTH = 64  # records nest 4 levels deep at most; deeper input is hostile or broken
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    line: int
    message: Message

    def as_message(self) -> Message:
        return msg("errors.datasets.line", line=self.line, message=self.message)

    def text(self, lang: str) -> str:
        """'第 N 行：…' for "zh", else 'line N: …'."""
        return self.as_message().render(lang)

    def __str__(self) -> str:
        return self.text("en")


class RecordError(ValueError):
    """What is wrong with one record, as a `Message`, like UserError.

    A ValueError so `to_messages` callers that only want English keep working (`str()`).
    """

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message

    def problem(self, line: int) -> Problem:
        return Problem(line, self.message)


@dataclass
class Dataset:
    name: str
    format: str  # alpaca | messages | sharegpt
    records: list[list[dict]]  # each record: messages ending with an assistant turn
    lines: list[int]  # the line each record starts on
    problems: list[Problem] = field(default_factory=list)
    sha256: str = ""
    size_bytes: int = 0

    @property
    def problem_count(self) -> str:
        """'3', or '20+' when reading stopped at MAX_PROBLEMS."""
        return f"{len(self.problems)}{'+' if len(self.problems) >= MAX_PROBLEMS else ''}"

    def require_valid(self) -> None:
        if self.problems:
            shown = functools.reduce(  # "a; b; c", or "a；b；c" in Chinese
                lambda a, b: msg("errors.datasets.problems_joined", first=a, second=b),
                [p.as_message() for p in self.problems[:5]])
            extra = len(self.problems) - 5
            more = msg("errors.datasets.more_problems", extra=extra) if extra > 0 else verbatim("")
            raise UserError(
                "errors.datasets.problem_s", name=self.name, problem_count=self.problem_count, shown=shown, more=more,
            )
        if not self.records:
            raise UserError("errors.datasets.holds_records", name=self.name)

    def preview(self, limit: int = 20) -> list[dict]:
        """Rows for a table: the first user prompt and last answer of each record."""
        rows = []
        for line, messages in zip(self.lines[:limit], self.records[:limit]):
            system = next((m["content"] for m in messages if m["role"] == "system"), "")
            user = [m["content"] for m in messages if m["role"] == "user"]
            rows.append({"line": line, "system": system, "prompt": user[-1] if user else "",
                         "answer": messages[-1]["content"], "turns": len(user)})
        return rows

    def card_info(self) -> dict:
        return {"name": self.name, "format": self.format, "sha256": self.sha256, "records": len(self.records),
                "bytes": self.size_bytes}


# --- reading -------------------------------------------------------------------------

def _json_items(text: str) -> Iterator[tuple[int, object]]:
    """(line, item) for a JSON array, tracking where each element starts."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            raise _Fatal(Problem(text.count("\n") + 1, msg("errors.datasets.json_array_closed")))
        if text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            err_line = text.count("\n", 0, exc.pos) + 1
            raise _Fatal(Problem(err_line, msg("errors.datasets.invalid_json", reason=json_reason(exc.msg)))) from exc
        except RecursionError:
            end = _value_end(text, pos)  # skip this element alone; the ones after it still load
            if end is None:
                raise _Fatal(_too_deep().problem(line)) from None
            pos = end
            item = _too_deep()
        yield line, item


def _value_end(text: str, pos: int) -> int | None:
    """Where the JSON array/object starting at `pos` ends, found without recursion (None: never closed)."""
    depth, in_string, escaped = 0, False, False
    for i in range(pos, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _depth(item: object) -> int:
    """How deeply lists/objects nest in `item`, walked without recursion, stopping past MAX_DEPTH."""
    deepest, stack = 0, [(item, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            stack += [(v, level + 1) for v in (value.values() if isinstance(value, dict) else value)]
    return deepest


def _too_deep() -> "_Invalid":
    return _Invalid(msg("errors.datasets.nested_deeper_levels", max_depth=MAX_DEPTH))


def _jsonl_items(text: str) -> Iterator[tuple[int, object]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, _Invalid(msg("errors.datasets.invalid_json", reason=json_reason(exc.msg)))
        except RecursionError:
            yield number, _too_deep()


def _csv_items(text: str) -> Iterator[tuple[int, object]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:  # the header row itself cannot be read
        raise _Fatal(_csv_problem(exc).problem(1)) from None
    if not fieldnames or "output" not in [f.strip() for f in fieldnames]:
        raise _Fatal(Problem(1, msg("errors.datasets.header_needs_columns_instruction")))
    while True:
        before = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv's limit, a NUL byte...: this row only
            yield before + 1, _csv_problem(exc)
            continue
        line = reader.line_num  # the line a multi-line row ends on; CSV rows start on the previous ones
        yield line, {k.strip(): v for k, v in row.items() if k is not None}


def _csv_problem(exc: csv.Error) -> "_Invalid":
    message = str(exc)
    if "field larger than field limit" in message:
        limit = csv.field_size_limit()
        return _Invalid(msg("errors.datasets.field_longer_characters", limit=limit))
    if "NUL" in message:
        return _Invalid(msg("errors.datasets.row_contains_nul_byte"))
    return _Invalid(msg("errors.datasets.csv_row_read", message=message))


class _Invalid:
    """A line that could not even be read as JSON (JSON lines keep going past it)."""

    def __init__(self, message: Message) -> None:
        self.message = message

    def problem(self, line: int) -> Problem:
        return Problem(line, self.message)


class _Fatal(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserError("errors.datasets.file_utf_gbk_text")


# --- normalising -----------------------------------------------------------------------

def detect_format(item: object) -> str | None:
    if not isinstance(item, dict):
        return None
    if "messages" in item:
        return "messages"
    if "conversations" in item:
        return "sharegpt"
    if "output" in item or "instruction" in item:
        return "alpaca"
    return None


# JSON value kinds as a non-programmer reads them (Python's names otherwise).
_KINDS = ("int", "float", "bool", "list", "dict")


def _text(value: object, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        kind = type(value).__name__
        raise RecordError(msg("errors.datasets.must_text", field=key, kind=msg(f"errors.datasets.kind.{kind}") if kind in _KINDS else kind))
    return value


def _alpaca(item: dict) -> list[dict]:
    instruction = _text(item.get("instruction"), "instruction").strip()
    extra = _text(item.get("input"), "input").strip()
    output = _text(item.get("output"), "output").strip()
    if not instruction and not extra:
        raise RecordError(msg("errors.datasets.instruction_input_both_empty"))
    if not output:
        raise RecordError(msg("errors.datasets.output_empty"))
    messages = []
    system = _text(item.get("system"), "system").strip()
    if system:
        messages.append({"role": "system", "content": system})
    history = item.get("history") or []
    if not isinstance(history, list):
        raise RecordError(msg("errors.datasets.history_must_list_question"))
    for i, pair in enumerate(history, start=1):
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise RecordError(msg("errors.datasets.history_item_must_question", i=i))
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    prompt = f"{instruction}\n{extra}" if instruction and extra else instruction or extra
    return messages + [{"role": "user", "content": prompt}, {"role": "assistant", "content": output}]


def _turns(turns: object, key: str, role_key: str, content_key: str, roles: dict[str, str] | None) -> list[dict]:
    if not isinstance(turns, list) or not turns:
        raise RecordError(msg("errors.datasets.must_non_empty_list", field=key))
    messages = []
    for i, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict) or role_key not in turn or content_key not in turn:
            raise RecordError(
                msg("errors.datasets.item_needs", field=key, i=i, role_key=role_key, content_key=content_key),
            )
        raw_role = str(turn[role_key]).strip().lower()
        role = roles.get(raw_role) if roles is not None else (raw_role if raw_role in ("system", "user", "assistant") else None)
        if role is None:
            raise RecordError(msg("errors.datasets.item_unknown_role", field=key, i=i, turn=turn[role_key]))
        content = _text(turn[content_key], content_key)
        if not content.strip():
            raise RecordError(msg("errors.datasets.item_empty", field=key, i=i))
        if role == "system" and messages:
            raise RecordError(msg("errors.datasets.item_system_message_may", field=key, i=i))
        messages.append({"role": role, "content": content})
    chat = [m["role"] for m in messages if m["role"] != "system"]
    if not chat or chat[-1] != "assistant":
        raise RecordError(msg("errors.datasets.must_end_assistant_answer", field=key))
    if any(a == b for a, b in zip(chat, chat[1:])):
        raise RecordError(msg("errors.datasets.must_alternate_user_assistant", field=key))
    if chat[0] != "user":
        raise RecordError(msg("errors.datasets.must_start_user_turn", field=key))
    return messages


def to_messages(item: object, fmt: str) -> list[dict]:
    """One record in `fmt` as chat messages; RecordError (a ValueError) says what is wrong with it."""
    if not isinstance(item, dict):
        raise RecordError(msg("errors.datasets.record_must_object"))
    if fmt == "alpaca":
        return _alpaca(item)
    if fmt == "messages":
        return _turns(item.get("messages"), "messages", "role", "content", None)
    messages = _turns(item.get("conversations"), "conversations", "from", "value", SHAREGPT_ROLES)
    system = _text(item.get("system"), "system").strip()
    if system and messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": system})
    return messages


def parse(name: str, data: bytes) -> Dataset:
    """Read a dataset file's bytes; problems are collected (first MAX_PROBLEMS), not raised."""
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise UserError("errors.datasets.json_jsonl_csv_file", name=name)
    text = _decode(data)
    if not text.strip():
        raise UserError("errors.datasets.empty", name=name)
    if suffix == ".json" and text.lstrip().startswith("{"):
        suffix = ".jsonl"  # one object per line saved as .json is common
    items = {".json": _json_items, ".jsonl": _jsonl_items, ".csv": _csv_items}[suffix](text)
    dataset = Dataset(name=Path(name).name, format="", records=[], lines=[],
                      sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
    try:
        for line, item in items:
            if len(dataset.problems) >= MAX_PROBLEMS:
                break
            if isinstance(item, _Invalid):
                dataset.problems.append(Problem(line, item.message))
                continue
            if _depth(item) > MAX_DEPTH:
                dataset.problems.append(_too_deep().problem(line))
                continue
            fmt = detect_format(item)
            if fmt is None:
                dataset.problems.append(Problem(
                    line,
                    msg("errors.datasets.unknown_record_expected_instruction"),
                ))
                continue
            if not dataset.format:
                dataset.format = fmt
            elif fmt != dataset.format:
                dataset.problems.append(Problem(
                    line,
                    msg("errors.datasets.record_file_use_one", fmt=fmt, format=dataset.format),
                ))
                continue
            try:
                dataset.records.append(to_messages(item, fmt))
                dataset.lines.append(line)
            except RecordError as exc:
                dataset.problems.append(exc.problem(line))
            except Exception as exc:  # noqa: BLE001 - one record must never stop the others
                log.exception("dataset %s, line %d", name, line)
                dataset.problems.append(Problem(
                    line,
                    msg("errors.datasets.record_read", error_type=type(exc).__name__),
                ))
    except _Fatal as fatal:
        dataset.problems.append(fatal.problem)
    except ValueError as exc:  # no '[' in a .json file
        raise UserError("errors.datasets.json_array_json_lines", name=name) from exc
    return dataset


def too_large(name: str, size: int, max_bytes: int) -> UserError:
    return UserError(
        msg("errors.datasets.too_large_mb", name=name, size=size / 1e6),
        msg("errors.datasets.too_large_mb.hint", max_bytes=max_bytes / 1e6),
    )


def load(path: Path, max_bytes: int | None = None) -> Dataset:
    """Parse a dataset file; past `max_bytes` it is refused from its size alone, before anything is read."""
    if max_bytes is not None:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise too_large(path.name, size, max_bytes)
    return parse(path.name, path.read_bytes())


# --- measuring and splitting -----------------------------------------------------------

@dataclass
class Stats:
    records: int
    lengths: list[int]  # tokens per formatted record
    truncated: int  # records longer than max_length
    max_length: int
    answer_tokens: int  # tokens the loss is computed on

    @property
    def mean(self) -> float:
        return sum(self.lengths) / len(self.lengths) if self.lengths else 0.0

    def histogram(self, bins: int = 20) -> list[dict]:
        """Rows {tokens, records} over equal-width bins, ready for a bar chart."""
        if not self.lengths:
            return []
        top = max(self.lengths)
        width = max(1, -(-top // bins))
        counts = [0] * (top // width + 1)
        for n in self.lengths:
            counts[n // width] += 1
        return [{"tokens": f"{i * width}-{(i + 1) * width - 1}", "from": i * width, "records": c} for i, c in enumerate(counts)]


def split(n: int, val_fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Train and validation indices; validation gets at least one record when asked for."""
    indices = list(range(n))
    if val_fraction <= 0 or n < 2:
        return indices, []
    random.Random(seed).shuffle(indices)
    n_val = min(n - 1, max(1, round(n * val_fraction)))
    return sorted(indices[n_val:]), sorted(indices[:n_val])


def with_system(messages: list[dict], system_prompt: str) -> list[dict]:
    """The persona applies to records that bring no system message of their own."""
    if system_prompt.strip() and (not messages or messages[0]["role"] != "system"):
        return [{"role": "system", "content": system_prompt.strip()}] + messages
    return messages
