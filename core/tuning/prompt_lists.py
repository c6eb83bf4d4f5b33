"""Prompt lists for comparisons: typed lines, or an uploaded .txt / .jsonl / .json file.

Users bring what they have (a list of questions, the Alpaca-style records they trained on,
chat transcripts), so a record's prompt is found under the usual field names.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import InputError

MAX_PROMPT_CHARS = 8000
PROMPT_KEYS = ("prompt", "question", "instruction", "query", "input", "content", "text")


def parse_prompts(text: str, filename: str = "", limit: int = 100) -> list[str]:
    """Prompts from typed text or an uploaded file.

    Typed text and `.txt`: one prompt per non-empty line. `.jsonl`: one JSON value per line,
    either a string or an object with a prompt-like field (prompt, question, instruction
    [+ input], ...) or `messages` (its last user message). `.json`: a list of the same.
    """
    suffix = Path(filename).suffix.lower()
    if suffix == ".jsonl":
        prompts = [_prompt_of(_json_line(line, n), n) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{filename} is not valid JSON ({exc.msg}, line {exc.lineno}).",
                zh=f"{filename} 不是有效的 JSON（{exc.msg}，第 {exc.lineno} 行）。",
            ) from exc
        except RecursionError:  # '[' * 100000: Python's decoder recurses per level
            raise _too_deep(filename) from None
        if not isinstance(data, list):
            raise InputError(
                f"{filename} must hold a JSON list of prompts.", "Or upload a .txt file with one prompt per line.",
                zh=f"{filename} 必须是由提示词组成的 JSON 列表。",
                zh_hint="或者上传每行一条提示词的 .txt 文件。",
            )
        prompts = [_prompt_of(item, n) for n, item in enumerate(data, 1)]
    else:
        prompts = [line.strip() for line in text.splitlines() if line.strip()]
    prompts = [p.strip() for p in prompts if p.strip()]
    if not prompts:
        raise InputError(
            "There is no prompt.", "Type at least one prompt, one per line, or upload a .txt/.jsonl file.",
            zh="没有提示词。",
            zh_hint="请至少输入一条提示词（每行一条），或上传 .txt/.jsonl 文件。",
        )
    if len(prompts) > limit:
        raise InputError(
            f"{len(prompts)} prompts is more than the {limit} one run accepts.", "Split them into several runs.",
            zh=f"{len(prompts)} 条提示词超过了单次运行的上限 {limit} 条。",
            zh_hint="请分成几次运行。",
        )
    too_long = next((n for n, p in enumerate(prompts, 1) if len(p) > MAX_PROMPT_CHARS), None)
    if too_long:
        raise InputError(
            f"Prompt {too_long} is longer than {MAX_PROMPT_CHARS} characters.", "Shorten it.",
            zh=f"第 {too_long} 条提示词超过了 {MAX_PROMPT_CHARS} 个字符。",
            zh_hint="请缩短它。",
        )
    return prompts


def _too_deep(where: str) -> InputError:
    return InputError(
        f"{where} is nested too deeply to read.", "A prompt list holds strings or flat objects.",
        zh=f"{where} 嵌套层数过深，无法读取。",
        zh_hint="提示词列表应由字符串或扁平对象组成。",
    )


def _json_line(line: str, n: int):
    try:
        return json.loads(line)
    except RecursionError:
        raise _too_deep(f"Line {n}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"Line {n} is not valid JSON ({exc.msg}).", "Each line of a .jsonl file must be one JSON value.",
            zh=f"第 {n} 行不是有效的 JSON（{exc.msg}）。",
            zh_hint=".jsonl 文件的每一行必须是一个 JSON 值。",
        ) from exc


def _prompt_of(item, n: int) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        if isinstance(item.get("messages"), list):
            users = [m.get("content", "") for m in item["messages"] if isinstance(m, dict) and m.get("role") == "user"]
            if users:
                return str(users[-1])
        for key in PROMPT_KEYS:
            if isinstance(item.get(key), str) and item[key].strip():
                # Alpaca-style records put the question in `instruction` and extra context in `input`.
                extra = item.get("input") if key == "instruction" and isinstance(item.get("input"), str) else ""
                return f"{item[key]}\n{extra}".strip()
    raise InputError(
        f"Record {n} has no prompt.", f"Give each record one of the fields {', '.join(PROMPT_KEYS)}, or 'messages'.",
        zh=f"第 {n} 条记录没有提示词。",
        zh_hint=f"请为每条记录提供字段 {', '.join(PROMPT_KEYS)} 之一，或 'messages'。",
    )
