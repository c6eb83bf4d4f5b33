"""The model ↔ code loop: the model writes a Python block, the kernel runs it, the output
goes back as an observation, up to `max_rounds` runs.

It talks to the model only through `Engine.stream` or a `Speak` call (so any backend works) and keeps its
progress in a plain `LoopState`, so a UI can pause it between rounds (ask before running
code) across reruns and resume it later; `CodeLoop.run` drives it in one go.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from core.interpreter.kernel import SandboxedKernel
from core.interpreter.results import ExecResult
from core.models.engine import Engine, Generation
from core.models.options import GenerationOptions

# ChatGLM3 was trained for this: its official code-interpreter system prompt, with the
# upload folder adapted ("/mnt/data" in the demo) and an `observation` role for results.
CHATGLM_PROMPT = (
    "你是一位智能AI助手，你叫ChatGLM，你连接着一台电脑，但请注意不能联网。在使用Python解决任务时，"
    "你可以运行代码并得到结果，如果运行结果有错误，你需要尽可能对代码进行改进。"
    "你可以处理用户上传到电脑上的文件，文件默认存储在当前工作目录。"
)
GENERIC_PROMPT = (
    "You can run Python code on the user's computer (no internet). When a calculation, data analysis or a "
    "chart would help, write exactly one code block:\n```python\n# your code\n```\n"
    "then stop. The code runs in a Jupyter kernel and you receive its output as an observation (text, tables, "
    "errors; images are shown to the user directly). Then explain the result to the user, or fix the code if it "
    "failed. Use matplotlib for charts. Files the user uploaded are in the current folder; save new files there. "
    "If no code is needed, answer directly."
)
CODE_BLOCK = re.compile(r"```[ \t]*(?:python3?|py|ipython)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
# ChatGLM3 writes its metadata line "interpreter" before a code block; it is not part of the text.
CHATGLM_METADATA = re.compile(r"(?m)^interpreter[ \t]*\n(?=```)")


def model_family(engine: Engine) -> str:
    model_type = getattr(engine, "model_type", "") or ""
    return "chatglm" if model_type == "chatglm" or "chatglm" in engine.info.architecture.lower() else "generic"


def extract_code(text: str) -> str | None:
    """The first fenced Python (or unlabelled) block, or None."""
    match = CODE_BLOCK.search(text)
    return match.group(1).strip("\n") if match and match.group(1).strip() else None


def cut_after_code(text: str) -> str:
    """Everything up to the end of the first complete code block (the model should stop there)."""
    match = CODE_BLOCK.search(text)
    return text[: match.end()] if match else text


@dataclass
class LoopConfig:
    max_rounds: int = 5  # code runs per answer; the model may comment once more after the last
    run_budget_s: float = 120.0  # total seconds of code execution per answer
    cell_timeout_s: float = 30.0  # seconds per code block
    observation_chars: int = 2000  # how much output the model reads back


@dataclass
class Step:
    text: str  # what the model wrote this round
    code: str | None = None
    result: dict | None = None  # ExecResult.to_dict() once run
    observation: str = ""  # what the model was told
    skipped: bool = False


@dataclass
class LoopState:
    messages: list[dict]  # the prompt so far: system + history + this answer's rounds
    steps: list[Step] = field(default_factory=list)
    spent_s: float = 0.0
    finished: str = ""  # "" while going on; answered | rounds | budget | skipped

    @property
    def runs(self) -> int:
        return sum(1 for s in self.steps if s.result is not None)

    @property
    def pending_code(self) -> str | None:
        """Code the model wrote that waits to be run (or skipped)."""
        if self.finished or not self.steps:
            return None
        last = self.steps[-1]
        return last.code if last.code and last.result is None and not last.skipped else None


# How a round reaches the model: `AdapterPool.stream(variant, messages, options)` in the app,
# so an adapter's pin and persona apply to each round; the engine itself by default.
Speak = Callable[[str | None, list[dict], GenerationOptions], Generation]


class CodeLoop:
    def __init__(
        self, engine: Engine, kernel: SandboxedKernel, config: LoopConfig | None = None, speak: Speak | None = None,
    ) -> None:
        self.speak: Speak = speak or (lambda variant, messages, options: engine.stream(messages, options, adapter=variant))
        self.kernel = kernel
        self.config = config or LoopConfig()
        self.family = model_family(engine)

    def begin(self, history: list[dict]) -> LoopState:
        prompt = CHATGLM_PROMPT if self.family == "chatglm" else GENERIC_PROMPT
        messages = [dict(m) for m in history]
        if messages and messages[0]["role"] == "system":
            messages[0]["content"] = prompt + "\n\n" + messages[0]["content"]
        else:
            messages.insert(0, {"role": "system", "content": prompt})
        return LoopState(messages=messages)

    # --- one model turn ----------------------------------------------------------------
    def stream(self, state: LoopState, options: GenerationOptions, adapter: str | None = None, on_generation: Callable | None = None) -> Iterator[str]:
        """Yield the model's text for the next round; it is stopped once a code block is complete.

        When the iteration ends, the round is recorded with `accept`.
        """
        gen = self.speak(adapter, state.messages, options)
        if on_generation is not None:
            on_generation(gen)
        shown = ""
        try:
            for chunk in gen:
                text = cut_after_code(gen.text)
                if len(text) > len(shown):
                    yield text[len(shown):]
                    shown = text
                if text != gen.text or CODE_BLOCK.search(text):
                    gen.stop()  # the model should wait for the observation, not imagine it
                    break
        finally:
            if not gen.finished.is_set():
                gen.stop()
        self.accept(state, shown)

    def accept(self, state: LoopState, text: str) -> Step:
        text = CHATGLM_METADATA.sub("", cut_after_code(text))
        code = extract_code(text)
        if code is not None:  # a fence glued to the text ("Sure: ```python") would not render as code
            prefix = text[: CODE_BLOCK.search(text).start()].rstrip()
            text = (prefix + "\n\n" if prefix else "") + f"```python\n{code}\n```"
        step = Step(text=text, code=code)
        state.steps.append(step)
        message = {"role": "assistant", "content": text}
        if code is not None and self.family == "chatglm" and text.startswith("```"):
            message["metadata"] = "interpreter"  # ChatGLM3's own layout for a code turn
        state.messages.append(message)
        if code is None:
            state.finished = "answered"
        elif state.runs >= self.config.max_rounds:
            state.finished = "rounds"  # its last comment asked for more code: not run
        return step

    # --- one code run ------------------------------------------------------------------
    def execute(self, state: LoopState, on_progress: Callable | None = None) -> ExecResult:
        code = state.pending_code
        if code is None:
            raise ValueError("no code is waiting to run")
        step = state.steps[-1]
        left = self.config.run_budget_s - state.spent_s
        if left <= 0:
            result = ExecResult(outputs=[{"type": "note", "key": "budget", "args": {}}], status="skipped")
            state.finished = "budget"
        else:
            result = self.kernel.execute(code, timeout=min(self.config.cell_timeout_s, left), on_progress=on_progress)
            state.spent_s += result.seconds
        step.result = result.to_dict()
        step.observation = result.observation(self.config.observation_chars)
        state.messages.append({"role": "observation", "content": step.observation})
        return result

    def skip(self, state: LoopState) -> None:
        """The user declined to run the code: tell the model nothing ran, and end the answer."""
        if state.pending_code is None:
            return
        state.steps[-1].skipped = True
        state.finished = "skipped"

    # --- all in one -----------------------------------------------------------------------
    def run(
        self,
        history: list[dict],
        options: GenerationOptions | None = None,
        adapter: str | None = None,
        approve: Callable[[str], bool] | None = None,
    ) -> LoopState:
        """Rounds until the model answers without code, the user declines, or a limit is hit."""
        options = options or GenerationOptions()
        state = self.begin(history)
        while not state.finished:
            for _ in self.stream(state, options, adapter):
                pass
            if state.pending_code is None:
                break
            if approve is not None and not approve(state.pending_code):
                self.skip(state)
                break
            self.execute(state)
        return state
