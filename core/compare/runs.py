"""Comparison runs: the same prompts through 2–4 variants with the same options and seed.

A run is plain data (prompts, variants, answers) saved under the data folder, so it can be
exported as Markdown later and a page refresh loses nothing. The engine serialises
generations, so a run streams one answer at a time; `stream_cells` yields each cell's
chunks as they come so a page can fill side-by-side columns in turn.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import InputError, UserError
from core.models.engine import BASE, Generation
from core.models.options import GenerationOptions
from core.adapters.pool import AdapterPool, is_base
from core.i18n import Message, msg, stored, verbatim

MIN_VARIANTS, MAX_VARIANTS = 2, 4


def check_variants(variants: list[str]) -> list[str]:
    if len(set(variants)) != len(variants):
        raise InputError("errors.compare.same_variant_picked_twice")
    if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        raise InputError(
            msg("errors.compare.pick_variants_compare_picked", min_variants=MIN_VARIANTS, max_variants=MAX_VARIANTS, variants_count=len(variants)),
        )
    return [BASE if is_base(v) else v for v in variants]


@dataclass
class Answer:
    text: str = ""
    tokens: int = 0
    seconds: float = 0.0
    finish_reason: str = ""
    error_message: Message | None = None  # why this cell failed, rendered where it is shown

    @property
    def error(self) -> str:
        """English (the Markdown report, logs)."""
        return str(self.error_message) if self.error_message else ""

    @classmethod
    def from_json(cls, data: dict) -> "Answer":
        """A saved answer; runs from before messages were keys kept English "error" and Chinese "error_zh"."""
        data = dict(data)
        error = stored(data.pop("error_message", None)) or stored(data.pop("error", ""), data.pop("error_zh", ""))
        data.pop("error", None), data.pop("error_zh", None)
        return cls(**data, error_message=error)


@dataclass
class CompareRun:
    id: str
    model: str
    variants: list[str]
    prompts: list[str]
    options: dict
    system_prompts: dict[str, str] = field(default_factory=dict)  # what each variant's card applied
    answers: list[list[Answer]] = field(default_factory=list)  # [prompt][variant]
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    @property
    def complete(self) -> bool:
        return len(self.answers) == len(self.prompts) and all(a.finish_reason for row in self.answers for a in row)


def new_run(pool: AdapterPool, variants: list[str], prompts: list[str], options: GenerationOptions) -> CompareRun:
    variants = check_variants(variants)
    if options.seed is None:  # every variant samples from the same seed, recorded with the run
        options = options.model_copy(update={"seed": random.randrange(2**31)})
    cards = {v: pool.card(v) for v in variants}
    for card in cards.values():
        if card is not None:
            pool.check(card)  # refuse an incompatible adapter before any answer is generated
    return CompareRun(
        id=time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6],
        model=pool.engine().info.name,
        variants=variants,
        prompts=prompts,
        options=options.model_dump(),
        system_prompts={v: c.system_prompt for v, c in cards.items() if c is not None and c.system_prompt},
        answers=[[Answer() for _ in variants] for _ in prompts],
    )


class Cell:
    """One answer being generated: iterate for its text chunks (errors end the stream quietly).

    A failed cell must not abort the other columns; its error is kept on the generation
    and recorded in the run's `Answer`.
    """

    def __init__(self, prompt: int, variant: int, gen: Generation) -> None:
        self.prompt, self.variant, self.gen = prompt, variant, gen
        self.done = False

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self.gen
        except Exception:  # noqa: BLE001 - kept on gen.error, shown in the cell
            pass
        self.done = True


def stream_cells(
    pool: AdapterPool, run: CompareRun, only: Iterable[int] | None = None, order: list[int] | None = None
) -> Iterator[Cell]:
    """Yield each cell of the run in order (prompt by prompt, variant by variant).

    All variants of one prompt are queued together, so other users' requests interleave
    between prompts rather than between columns. The caller iterates a cell to stream it
    (a cell it skips is consumed here); the answer is recorded into `run` when it ends.
    Cells left when the caller stops early are cancelled. `only` limits it to some prompts
    (a blind round generates one prompt per vote); `order` is the order variants are queued
    and streamed in (a blind round streams side A first, whichever variant it is).
    """
    options = GenerationOptions(**run.options)
    with pool.using(*run.variants):  # every variant stays loaded between prompts, not only while it answers
        for p in range(len(run.prompts)) if only is None else only:
            prompt = run.prompts[p]
            gens: dict[int, Generation | None] = {}
            for v in order or range(len(run.variants)):
                try:
                    gens[v] = pool.stream(run.variants[v], [{"role": "user", "content": prompt}], options)
                except UserError as exc:  # e.g. too long for the context: this cell fails, the run goes on
                    gens[v] = None
                    run.answers[p][v] = Answer(finish_reason="error", error_message=exc.as_message())
            try:
                for v, gen in gens.items():
                    if gen is None:
                        continue
                    cell = Cell(p, v, gen)
                    yield cell
                    if not cell.done:
                        for _ in cell:
                            pass
                    run.answers[p][v] = _answer(gen)
            finally:
                for gen in gens.values():
                    if gen is not None and not gen.finished.is_set():
                        gen.stop()


def vote_settings(run: CompareRun, a: str, b: str) -> dict:
    """What a vote on this run keeps of how its answers were made: the options and each side's system prompt."""
    return {"options": dict(run.options), "system_prompts": {v: run.system_prompts.get(v, "") for v in (a, b)}}


def run_all(pool: AdapterPool, run: CompareRun) -> CompareRun:
    """Generate every cell without a UI (CLI, tests)."""
    for _ in stream_cells(pool, run):
        pass
    return run


def _error_message(error: BaseException) -> Message:
    return error.as_message() if isinstance(error, UserError) else verbatim(str(error))


def _answer(gen: Generation) -> Answer:
    s = gen.stats
    failed = gen.error is not None and s.finish_reason != "cancelled"
    return Answer(
        text=gen.text, tokens=s.completion_tokens, seconds=round(s.seconds, 2), finish_reason=s.finish_reason,
        error_message=_error_message(gen.error) if failed else None,
    )


class RunStore:
    """Comparison runs as JSON files under the data folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, run_id: str) -> Path:
        if not run_id.replace("-", "").isalnum():
            raise UserError("errors.compare.invalid_run_id")
        return self.folder / f"{run_id}.json"

    def save(self, run: CompareRun) -> None:
        tmp = self._path(run.id).with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(run), ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(self._path(run.id))

    def get(self, run_id: str) -> CompareRun:
        path = self._path(run_id)
        if not path.exists():
            raise UserError("errors.compare.comparison_run_longer_exists")
        data = json.loads(path.read_text(encoding="utf-8"))
        data["answers"] = [[Answer.from_json(a) for a in row] for row in data.get("answers", [])]
        return CompareRun(**data)

    def list(self) -> list[str]:
        return sorted((p.stem for p in self.folder.glob("*.json")), reverse=True)


def to_markdown(run: CompareRun) -> str:
    """A readable report of a run: settings, then every prompt with each variant's answer."""
    opts = run.options
    sampling = "greedy" if opts.get("temperature") == 0 else (
        f"temperature {opts.get('temperature')}, top-p {opts.get('top_p')}, top-k {opts.get('top_k')}"
    )
    lines = [
        f"# Comparison {run.id}",
        "",
        f"- Model: {run.model}",
        f"- Date: {run.created}",
        f"- Variants: {', '.join(run.variants)}",
        f"- Sampling: {sampling}; max new tokens {opts.get('max_new_tokens')}; "
        f"repetition penalty {opts.get('repetition_penalty')}; seed {opts.get('seed')}",
    ]
    for variant, prompt in run.system_prompts.items():
        lines.append(f"- System prompt of {variant}: {prompt}")
    for p, prompt in enumerate(run.prompts):
        lines += ["", f"## {p + 1}. {prompt}", ""]
        for v, variant in enumerate(run.variants):
            a = run.answers[p][v] if p < len(run.answers) else Answer()
            lines += [f"### {variant}", ""]
            lines.append(a.text.strip() or ("_(error: " + a.error + ")_" if a.error else "_(no answer)_"))
            if a.finish_reason:
                lines += ["", f"<sub>{a.tokens} tokens · {a.seconds:.1f} s · {a.finish_reason}</sub>"]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
