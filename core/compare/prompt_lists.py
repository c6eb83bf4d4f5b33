"""Prompt lists for comparisons: typed lines, or an uploaded .txt / .jsonl / .json file.

Users bring what they have (a list of questions, the Alpaca-style records they trained on,
chat transcripts), so a record's prompt is found under the usual field names.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import InputError
from core.i18n import msg

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
                msg("errors.prompt_lists.valid_json_line", filename=filename, msg=exc.msg, lineno=exc.lineno),
            ) from exc
        except RecursionError:  # '[' * 100000: Python's decoder recurses per level
            raise _too_deep(filename) from None
        if not isinstance(data, list):
            raise InputError("errors.prompt_lists.must_hold_json_list", filename=filename)
        prompts = [_prompt_of(item, n) for n, item in enumerate(data, 1)]
    else:
        prompts = [line.strip() for line in text.splitlines() if line.strip()]
    prompts = [p.strip() for p in prompts if p.strip()]
    if not prompts:
        raise InputError("errors.prompt_lists.there_prompt")
    if len(prompts) > limit:
        raise InputError("errors.prompt_lists.prompts_more_one_run", prompts_count=len(prompts), limit=limit)
    too_long = next((n for n, p in enumerate(prompts, 1) if len(p) > MAX_PROMPT_CHARS), None)
    if too_long:
        raise InputError(
            "errors.prompt_lists.prompt_longer_characters", too_long=too_long, max_prompt_chars=MAX_PROMPT_CHARS,
        )
    return prompts


def _too_deep(where: str) -> InputError:
    return InputError("errors.prompt_lists.nested_too_deeply_read", where=where)


def _json_line(line: str, n: int):
    try:
        return json.loads(line)
    except RecursionError:
        raise _too_deep(f"Line {n}") from None
    except json.JSONDecodeError as exc:
        raise InputError("errors.prompt_lists.line_valid_json", n=n, msg=exc.msg) from exc


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
        msg("errors.prompt_lists.record_prompt", n=n),
        msg("errors.prompt_lists.record_prompt.hint", prompt_keys=', '.join(PROMPT_KEYS)),
    )
