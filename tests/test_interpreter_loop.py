"""The model ↔ code loop with a scripted engine (exact rounds and observations) and SmolLM2."""

from __future__ import annotations

import pytest

from core.config import Settings
from core.interpreter.kernel import pool_from_settings
from core.interpreter.loop import CHATGLM_PROMPT, GENERIC_PROMPT, CodeLoop, LoopConfig, cut_after_code, extract_code
from core.models.engine import Engine, Generation, ModelInfo
from core.models.options import GenerationOptions


class ScriptedEngine(Engine):
    """Answers with the next reply of its script, word by word, and records every prompt it got."""

    def __init__(self, replies: list[str], model_type: str = "llama") -> None:
        super().__init__()
        self.replies = list(replies)
        self.prompts: list[list[dict]] = []
        self.model_type = model_type
        self.info = ModelInfo(name="scripted", source="test", kind="fake", parameters=0, dtype="-", device="cpu",
                              context_length=8192, load_seconds=0.0, architecture="Scripted")

    def count_tokens(self, messages: list[dict], adapter: str | None = None) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages)

    def _generate(self, messages: list[dict], options: GenerationOptions, adapter: str | None, gen: Generation) -> None:
        self.prompts.append([dict(m) for m in messages])
        for i, piece in enumerate(self.replies.pop(0).split(" ")):
            if gen.cancel.is_set():
                break
            gen.push(piece if i == 0 else " " + piece)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    pool = pool_from_settings(Settings(data_dir=tmp_path_factory.mktemp("loop-home"), interpreter_cell_timeout_s=3))
    yield pool.get("loop")
    pool.close()


def block(code: str) -> str:
    return f"```python\n{code}\n```"


def test_extract_and_cut():
    text = "Let me compute.\n```python\nprint(1)\n```\nThe answer is 1 (imagined)."
    assert extract_code(text) == "print(1)"
    assert cut_after_code(text) == "Let me compute.\n```python\nprint(1)\n```"
    assert extract_code("```bash\nls\n```") is None and extract_code("no code") is None
    assert extract_code("```\nx = 2\n```") == "x = 2"


def test_two_rounds_then_an_answer(kernel):
    engine = ScriptedEngine([
        "I will compute it. " + block("x = 6 * 7\nprint(x)") + " and then I imagine the output",
        "Now the square: " + block("print(x ** 2)"),
        "x is 42 and its square is 1764.",
    ])
    state = CodeLoop(engine, kernel, LoopConfig(max_rounds=5)).run([{"role": "user", "content": "compute"}])
    assert state.finished == "answered" and state.runs == 2 and len(engine.prompts) == 3
    assert [s.code for s in state.steps] == ["x = 6 * 7\nprint(x)", "print(x ** 2)", None]
    assert [s.observation for s in state.steps] == ["42", "1764", ""]
    assert state.steps[0].text == "I will compute it.\n\n" + block("x = 6 * 7\nprint(x)")  # stopped at the block's end
    assert engine.prompts[0][0] == {"role": "system", "content": GENERIC_PROMPT}
    assert [m["role"] for m in engine.prompts[2]] == ["system", "user", "assistant", "observation", "assistant", "observation"]
    assert engine.prompts[2][-1] == {"role": "observation", "content": "1764"}


def test_round_limit_leaves_the_last_code_unrun(kernel):
    engine = ScriptedEngine([block(f"print({i})") for i in range(4)])
    state = CodeLoop(engine, kernel, LoopConfig(max_rounds=2)).run([{"role": "user", "content": "loop forever"}])
    assert state.finished == "rounds" and state.runs == 2 and len(engine.prompts) == 3
    assert [s.observation for s in state.steps] == ["0", "1", ""] and state.steps[2].result is None


def test_errors_and_timeouts_become_observations_and_the_budget_ends_the_run(kernel):
    engine = ScriptedEngine([block("1/0"), block("while True: pass"), block("print('never')"), "unused"])
    state = CodeLoop(engine, kernel, LoopConfig(max_rounds=5, run_budget_s=2.5, cell_timeout_s=3)).run([{"role": "user", "content": "go"}])
    first, second, third = state.steps
    assert first.result["status"] == "error" and first.observation.endswith("ZeroDivisionError: division by zero")
    assert second.result["status"] == "timeout" and second.observation.startswith("[Execution stopped: it ran longer than 2 s")
    assert third.result["status"] == "skipped" and third.observation == "[Not run: the time budget for code in this answer is used up.]"
    assert state.finished == "budget" and len(engine.prompts) == 3
    assert kernel.execute("print('usable')").text() == "usable\n"


def test_declined_code_is_not_run(kernel):
    engine = ScriptedEngine([block("open('declined.txt', 'w')")])
    asked = []
    state = CodeLoop(engine, kernel).run([{"role": "user", "content": "write"}], approve=lambda code: asked.append(code) or False)
    assert asked == ["open('declined.txt', 'w')"] and state.finished == "skipped" and state.steps[0].skipped
    assert not (kernel.folder / "declined.txt").exists()


def test_chatglm_gets_its_own_prompt_and_observation_role(kernel):
    engine = ScriptedEngine(["interpreter\n" + block("print('hi')"), "done"], model_type="chatglm")
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say hi"}]
    state = CodeLoop(engine, kernel).run(history)
    assert engine.prompts[0][0]["content"] == CHATGLM_PROMPT + "\n\nBe brief."
    assert state.steps[0].text == block("print('hi')")  # ChatGLM3's metadata line is not shown
    assert engine.prompts[1][-1] == {"role": "observation", "content": "hi"}


@pytest.mark.smollm
def test_smollm_end_to_end_completes(smol_engine, kernel):
    options = GenerationOptions(max_new_tokens=60, temperature=0.0)
    state = CodeLoop(smol_engine, kernel, LoopConfig(max_rounds=1)).run(
        [{"role": "user", "content": "Plot y = sin(x) for x from 0 to 6 with matplotlib."}], options
    )
    assert state.finished in ("answered", "rounds", "budget")
    assert 1 <= len(state.steps) <= 2 and state.steps[0].text
    if state.steps[0].code is not None:  # whatever it wrote ran, and the model saw the outcome
        assert state.steps[0].result is not None and state.steps[0].observation
