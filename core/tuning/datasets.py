"""Fine-tuning datasets: read, detect the format, validate line by line, measure, split.

Every record becomes a list of chat messages (optional system, then user/assistant turns),
so training formats it with the model's own chat template — the adapter then answers in
the layout chat uses, instead of a hand-built prompt only the training script knows.
A problem names the line it starts on, because users fix files in a text editor, and is
stored in English (`str()`: CLI, API, logs) and Chinese (`text("zh")`: the UI's default).
"""

from __future__ import annotations

import csv
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
from core.tuning.json_zh import json_error_zh

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
    message: str
    message_zh: str = ""  # the same message in Chinese; empty falls back to English

    def text(self, lang: str) -> str:
        """'第 N 行：…' for "zh", else 'line N: …' (English when no Chinese was given)."""
        if lang == "zh" and self.message_zh:
            return f"第 {self.line} 行：{self.message_zh}"
        return str(self)

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RecordError(ValueError):
    """What is wrong with one record, in English (`str()`) and Chinese (`zh`), like UserError.

    A ValueError so `to_messages` callers that only want English keep working; `zh` is
    required so no raise site can forget the Chinese.
    """

    def __init__(self, message: str, *, zh: str) -> None:
        super().__init__(message)
        self.zh = zh

    def problem(self, line: int) -> Problem:
        return Problem(line, str(self), self.zh)


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
            shown = "; ".join(str(p) for p in self.problems[:5])
            shown_zh = "；".join(p.text("zh") for p in self.problems[:5])
            extra = len(self.problems) - 5
            more, more_zh = (f" (+{extra} more)", f"（另有 {extra} 处）") if extra > 0 else ("", "")
            raise UserError(f"{self.name} has {self.problem_count} problem(s): {shown}{more}",
                            "Fix these lines and upload the file again.",
                            zh=f"{self.name} 有 {self.problem_count} 处问题：{shown_zh}{more_zh}",
                            zh_hint="请修正这些行后重新上传文件。")
        if not self.records:
            raise UserError(
                f"{self.name} holds no records.", "Each record needs a prompt and an answer.",
                zh=f"{self.name} 中没有任何记录。",
                zh_hint="每条记录都需要提示（prompt）和回答（answer）。",
            )

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
            raise _Fatal(Problem(text.count("\n") + 1, "the JSON array is not closed with ']'",
                                 "JSON 数组缺少结尾的 ']'"))
        if text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            err_line = text.count("\n", 0, exc.pos) + 1
            raise _Fatal(Problem(err_line, f"invalid JSON ({exc.msg})", f"JSON 无效（{json_error_zh(exc.msg)}）")) from exc
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
    return _Invalid(f"nested deeper than {MAX_DEPTH} levels", f"嵌套超过 {MAX_DEPTH} 层")


def _jsonl_items(text: str) -> Iterator[tuple[int, object]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, _Invalid(f"invalid JSON ({exc.msg})", f"JSON 无效（{json_error_zh(exc.msg)}）")
        except RecursionError:
            yield number, _too_deep()


def _csv_items(text: str) -> Iterator[tuple[int, object]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:  # the header row itself cannot be read
        raise _Fatal(_csv_problem(exc).problem(1)) from None
    if not fieldnames or "output" not in [f.strip() for f in fieldnames]:
        raise _Fatal(Problem(1, "the header needs the columns instruction, input (optional) and output",
                             "表头需要这几列：instruction、input（可选）和 output"))
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
        return _Invalid(f"a field is longer than {limit:,} characters", f"有字段超过 {limit:,} 个字符")
    if "NUL" in message:
        return _Invalid("the row contains a NUL byte (is this a binary file?)", "该行包含 NUL 字节（是否为二进制文件？）")
    return _Invalid(f"this CSV row cannot be read ({message})", f"无法读取这一 CSV 行（{message}）")


class _Invalid:
    """A line that could not even be read as JSON (JSON lines keep going past it)."""

    def __init__(self, message: str, message_zh: str) -> None:
        self.message = message
        self.message_zh = message_zh

    def problem(self, line: int) -> Problem:
        return Problem(line, self.message, self.message_zh)


class _Fatal(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserError(
        "The file is not UTF-8 or GBK text.", "Save it as UTF-8 and upload again.",
        zh="该文件不是 UTF-8 或 GBK 编码的文本。",
        zh_hint="请另存为 UTF-8 后重新上传。",
    )


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
_KIND_ZH = {"int": "数字", "float": "数字", "bool": "布尔值（true/false）", "list": "列表", "dict": "对象"}


def _text(value: object, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        kind = type(value).__name__
        raise RecordError(f"'{key}' must be text, not {kind}",
                          zh=f"'{key}' 必须是文本，不能是{_KIND_ZH.get(kind, kind)}")
    return value


def _alpaca(item: dict) -> list[dict]:
    instruction = _text(item.get("instruction"), "instruction").strip()
    extra = _text(item.get("input"), "input").strip()
    output = _text(item.get("output"), "output").strip()
    if not instruction and not extra:
        raise RecordError("'instruction' and 'input' are both empty", zh="'instruction' 和 'input' 都为空")
    if not output:
        raise RecordError("'output' is empty", zh="'output' 为空")
    messages = []
    system = _text(item.get("system"), "system").strip()
    if system:
        messages.append({"role": "system", "content": system})
    history = item.get("history") or []
    if not isinstance(history, list):
        raise RecordError("'history' must be a list of [question, answer] pairs",
                          zh="'history' 必须是由 [问题, 回答] 组成的列表")
    for i, pair in enumerate(history, start=1):
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise RecordError(f"'history' item {i} must be a [question, answer] pair of texts",
                              zh=f"'history' 的第 {i} 项必须是一对文本 [问题, 回答]")
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    prompt = f"{instruction}\n{extra}" if instruction and extra else instruction or extra
    return messages + [{"role": "user", "content": prompt}, {"role": "assistant", "content": output}]


def _turns(turns: object, key: str, role_key: str, content_key: str, roles: dict[str, str] | None) -> list[dict]:
    if not isinstance(turns, list) or not turns:
        raise RecordError(f"'{key}' must be a non-empty list", zh=f"'{key}' 必须是非空列表")
    messages = []
    for i, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict) or role_key not in turn or content_key not in turn:
            raise RecordError(f"'{key}' item {i} needs '{role_key}' and '{content_key}'",
                              zh=f"'{key}' 的第 {i} 项需要 '{role_key}' 和 '{content_key}'")
        raw_role = str(turn[role_key]).strip().lower()
        role = roles.get(raw_role) if roles is not None else (raw_role if raw_role in ("system", "user", "assistant") else None)
        if role is None:
            raise RecordError(f"'{key}' item {i} has unknown role '{turn[role_key]}'",
                              zh=f"'{key}' 的第 {i} 项的角色 '{turn[role_key]}' 无法识别")
        content = _text(turn[content_key], content_key)
        if not content.strip():
            raise RecordError(f"'{key}' item {i} is empty", zh=f"'{key}' 的第 {i} 项为空")
        if role == "system" and messages:
            raise RecordError(f"'{key}' item {i}: a system message may only come first",
                              zh=f"'{key}' 的第 {i} 项：系统消息只能放在最前面")
        messages.append({"role": role, "content": content})
    chat = [m["role"] for m in messages if m["role"] != "system"]
    if not chat or chat[-1] != "assistant":
        raise RecordError(f"'{key}' must end with an assistant answer", zh=f"'{key}' 必须以助手（assistant）的回答结尾")
    if any(a == b for a, b in zip(chat, chat[1:])):
        raise RecordError(f"'{key}' must alternate user and assistant turns",
                          zh=f"'{key}' 中用户（user）和助手（assistant）的发言必须交替出现")
    if chat[0] != "user":
        raise RecordError(f"'{key}' must start with a user turn", zh=f"'{key}' 必须以用户（user）的发言开头")
    return messages


def to_messages(item: object, fmt: str) -> list[dict]:
    """One record in `fmt` as chat messages; RecordError (a ValueError) says what is wrong with it."""
    if not isinstance(item, dict):
        raise RecordError("a record must be an object {...}", zh="每条记录必须是一个对象 {...}")
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
        raise UserError(
            f"'{name}' is not a .json, .jsonl or .csv file.", "Upload one of those formats.",
            zh=f"“{name}”不是 .json、.jsonl 或 .csv 文件。",
            zh_hint="请上传这几种格式之一。",
        )
    text = _decode(data)
    if not text.strip():
        raise UserError(f"{name} is empty.", zh=f"{name} 是空的。")
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
                dataset.problems.append(Problem(line, item.message, item.message_zh))
                continue
            if _depth(item) > MAX_DEPTH:
                dataset.problems.append(_too_deep().problem(line))
                continue
            fmt = detect_format(item)
            if fmt is None:
                dataset.problems.append(Problem(
                    line, "unknown record: expected instruction/output, messages or conversations",
                    "无法识别的记录：应包含 instruction/output、messages 或 conversations"))
                continue
            if not dataset.format:
                dataset.format = fmt
            elif fmt != dataset.format:
                dataset.problems.append(Problem(
                    line, f"{fmt} record in a {dataset.format} file: use one format per file",
                    f"{dataset.format} 格式的文件中出现了 {fmt} 格式的记录：每个文件只能用一种格式"))
                continue
            try:
                dataset.records.append(to_messages(item, fmt))
                dataset.lines.append(line)
            except RecordError as exc:
                dataset.problems.append(exc.problem(line))
            except Exception as exc:  # noqa: BLE001 - one record must never stop the others
                log.exception("dataset %s, line %d", name, line)
                dataset.problems.append(Problem(line, f"this record cannot be read ({type(exc).__name__})",
                                                f"无法读取这条记录（{type(exc).__name__}）"))
    except _Fatal as fatal:
        dataset.problems.append(fatal.problem)
    except ValueError as exc:  # no '[' in a .json file
        raise UserError(
            f"{name} is not a JSON array or JSON lines.", "Check the file starts with '[' or '{'.",
            zh=f"{name} 既不是 JSON 数组，也不是 JSON Lines。",
            zh_hint="请检查文件是否以 '[' 或 '{' 开头。",
        ) from exc
    return dataset


def too_large(name: str, size: int, max_bytes: int) -> UserError:
    return UserError(
        f"{name} is too large ({size / 1e6:.0f} MB).", f"Use a file of at most {max_bytes / 1e6:.0f} MB.",
        zh=f"{name} 过大（{size / 1e6:.0f} MB）。",
        zh_hint=f"请使用不超过 {max_bytes / 1e6:.0f} MB 的文件。",
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
