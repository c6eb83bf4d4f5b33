"""Eight browser tabs chatting at once on one app (the embedded SmolLM2, in-process batching):
every answer streams while the others are still streaming, and Stop in one tab ends only that one."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import MODEL_CACHE
from tests.e2e.app_server import run_app
from tests.e2e.conftest import go_to, wait_idle, wait_model_loaded

pytestmark = [pytest.mark.browser, pytest.mark.smollm]
TABS = 8
MAX_TOKENS = 24  # long enough to watch the answers overlap, short enough for a loaded CPU

# The last answer of a tab: its text length, whether it is still streaming (the " ▌" cursor is
# drawn only while chunks arrive), whether it was saved (its stats caption) and stopped.
ANSWER_STATE = """() => {
  const answers = [...document.querySelectorAll('[data-testid="stChatMessage"]')]
    .filter(m => m.querySelector('[data-testid="stChatMessageAvatarAssistant"]'));
  const last = answers[answers.length - 1];
  if (!last) return {n: 0, streaming: false, done: false, stopped: false, text: ''};
  const text = [...last.querySelectorAll('[data-testid="stMarkdownContainer"]')]
    .filter(el => !el.closest('button')).map(el => el.innerText).join('');
  const all = last.innerText;
  return {n: text.replace('▌', '').trim().length, streaming: text.includes('▌'), done: all.includes('token/秒'),
          stopped: all.includes('（已停止）'), text: all};
}"""


def saved_turns(data_dir) -> list[list[dict]]:
    """Every stored conversation's turns (those with any), as the app wrote them."""
    files = (data_dir / "conversations").glob("*.json")
    return [turns for f in files if (turns := json.loads(f.read_text(encoding="utf-8")).get("turns"))]


def states(pages) -> list[dict]:
    return [p.evaluate(ANSWER_STATE) for p in pages]


def poll_until(pages, condition, timeout_s: float, seen: list) -> list[dict]:
    """Sample every tab until `condition(sample)` holds; every sample is appended to `seen`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sample = states(pages)
        seen.append(sample)
        if condition(sample):
            return sample
        time.sleep(0.25)  # leave the CPU to the app: eight tabs are sampled per round
    raise AssertionError(f"not reached in {timeout_s:.0f} s; last sample: {seen[-1] if seen else None}")


# Eight sessions on two shared cores: minutes, not seconds, when the machine is busy.
@pytest.mark.timeout(1800)
def test_eight_tabs_stream_together_and_one_stops_alone(tmp_path, browser):
    with run_app(tmp_path / "data", model="embedded", model_cache=MODEL_CACHE,
                 LIANDAN_MAX_NEW_TOKENS=str(MAX_TOKENS), LIANDAN_MAX_BATCH=str(TABS)) as app:
        context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="zh-CN")
        context.set_default_timeout(60_000)
        pages = [context.new_page() for _ in range(TABS)]
        try:
            wait_model_loaded(pages[0], app)
            for page in pages:  # eight tabs of one browser, each in its own new conversation
                if page is not pages[0]:
                    page.goto(app.url)
                    page.get_by_test_id("stSidebarNav").wait_for()
                    wait_idle(page)
                go_to(page, "对话")
                page.get_by_test_id("stSidebar").get_by_role("button", name="➕ 新会话").click()
                wait_idle(page)
            for i, page in enumerate(pages):
                box = page.get_by_test_id("stChatInputTextArea")
                box.fill(f"Write a long story about dragon number {i} who learns to cook.")
                box.press("Enter")

            seen: list[list[dict]] = []
            together = poll_until(pages, lambda s: all(t["streaming"] and t["n"] > 0 for t in s), 600, seen)
            # All eight keep growing while none has finished: they share the decode steps.
            later = poll_until(pages, lambda s: all(t["streaming"] and t["n"] > a["n"] for t, a in zip(s, together))
                               or any(t["done"] for t in s), 600, seen)
            assert all(t["streaming"] and t["n"] > a["n"] for t, a in zip(later, together)), (
                f"a tab finished before every tab's text grew: {together} → {later}")

            pages[0].get_by_role("button", name="⏹ 停止").click()
            after_stop = poll_until(pages, lambda s: not s[0]["streaming"], 120, seen)
            still = [t["streaming"] for t in after_stop[1:]]
            assert any(still), f"the other tabs were not streaming any more when tab 0 stopped: {after_stop}"

            final = poll_until(pages[1:], lambda s: all(t["done"] for t in s), 900, seen)
            assert not any(t["stopped"] for t in final), f"Stop in tab 0 stopped another tab: {final}"
            counts = [int(t["text"].split(" 个 token")[0].split()[-1]) for t in final]
            # The stopped answer is saved by the interrupted run; a reload would open the newest conversation
            # (another tab's), so read tab 0's as the app stored it.
            [stopped] = [turns for turns in saved_turns(app.data_dir) if "dragon number 0 " in turns[0]["content"]]
            assert stopped[-1]["role"] == "assistant" and stopped[-1]["meta"]["stopped"], stopped
            tokens = stopped[-1]["meta"]["stats"]["completion_tokens"]
            assert tokens < min(counts), f"tab 0 ran on despite Stop: {tokens} tokens vs {counts}"
        finally:
            context.close()
