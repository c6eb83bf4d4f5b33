"""Records → token ids and labels, formatted exactly as chat will prompt the model.

Each turn is rendered with the model's chat template; only the assistant answers carry
labels (the prompt is masked with -100), and every answer ends with the model's end
marker so the adapter learns to stop.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import UserError
from core.models import chat_format
from core.tuning.datasets import Dataset, Stats, with_system

IGNORE = -100


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.input_ids)


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def encode(tokenizer, model_type: str, messages: list[dict], max_length: int) -> Example:
    """Ids of the whole conversation; labels only on assistant turns; cut at max_length."""
    ids: list[int] = []
    labels: list[int] = []
    rendered = ""
    eos = tokenizer.eos_token_id
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = chat_format.render(tokenizer, messages[:i], model_type, add_generation_prompt=True)
        full = chat_format.render(tokenizer, messages[: i + 1], model_type, add_generation_prompt=False)
        if not prompt.startswith(rendered) or not full.startswith(prompt):
            raise UserError("errors.examples.model_s_chat_template")
        prompt_ids = _ids(tokenizer, prompt[len(rendered):])
        answer_ids = _ids(tokenizer, full[len(prompt):])
        if eos is not None and eos not in answer_ids:
            answer_ids.append(eos)
        ids += prompt_ids + answer_ids
        labels += [IGNORE] * len(prompt_ids) + answer_ids
        rendered = full
    truncated = len(ids) > max_length
    return Example(ids[:max_length], labels[:max_length], truncated)


def encode_all(tokenizer, model_type: str, dataset: Dataset, system_prompt: str, max_length: int) -> list[Example]:
    return [encode(tokenizer, model_type, with_system(m, system_prompt), max_length) for m in dataset.records]


def measure(tokenizer, model_type: str, dataset: Dataset, system_prompt: str, max_length: int) -> Stats:
    """Token lengths before truncation, so the histogram shows what max_length would cut."""
    full = encode_all(tokenizer, model_type, dataset, system_prompt, 10**9)
    lengths = [len(e) for e in full]
    return Stats(
        records=len(full),
        lengths=lengths,
        truncated=sum(n > max_length for n in lengths),
        max_length=max_length,
        answer_tokens=sum(sum(1 for x in e.labels[:max_length] if x != IGNORE) for e in full),
    )
