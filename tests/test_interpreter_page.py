"""AppTest of the Chat page's code interpreter mode, on the echo engine (LIANDAN_ENGINE=echo).

The echo engine repeats the user's message, so a message holding a code block makes the
"model" write exactly that code; its second turn echoes the observation (no code), which
ends the loop: the rounds are known in advance.
"""

from __future__ import annotations

import pytest
from streamlit import config as st_config

from core.config import Settings
from core.conversations import ConversationStore
from tests.conftest import app_test

PLOT = "```python\nimport matplotlib.pyplot as plt\nplt.plot([0, 1, 2], [0, 1, 4])\nplt.show()\nprint(6 * 7)\n```"


@pytest.fixture
def echo_runtime(tmp_path):
    from core.runtime import create_runtime
    from tests.conftest import installed

    settings = Settings(data_dir=tmp_path / "data", engine="echo", load_on_start=False, interpreter_cell_timeout_s=10)
    rt = create_runtime(settings)
    rt.models.load(settings.model)
    with installed(rt):
        yield rt
        if "kernels" in rt.__dict__:
            rt.kernels.close()


def _address(value: str):
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", value)
    yield
    st_config.set_option("server.address", before)


@pytest.fixture
def local_only():
    yield from _address("127.0.0.1")


@pytest.fixture
def public_address():
    yield from _address("0.0.0.0")


def code_mode(lang: str = "en"):
    at = app_test("pages/chat.py", lang=lang).run()
    at.radio(key="chat-mode").set_value("code").run()
    assert not at.exception
    return at


def turns(rt):
    return ConversationStore(rt.settings.conversations_dir).list()[0].turns


def test_mode_is_off_on_a_public_address_without_password(echo_runtime, public_address):
    at = code_mode()
    assert any("code interpreter is off" in w.value for w in at.sidebar.warning)
    at.chat_input[0].set_value(PLOT).run()
    assert not at.exception
    assert any("code interpreter is off" in e.value for e in at.error)
    assert "kernels" not in echo_runtime.__dict__  # nothing was started
    zh = code_mode("zh")
    assert any("代码解释器已关闭" in w.value for w in zh.sidebar.warning)


def test_code_runs_and_its_plot_and_output_show_under_it(echo_runtime, local_only):
    at = code_mode()
    assert at.toggle(key="interp-ask").value is False  # localhost only: run without asking
    at.chat_input[0].set_value(PLOT).run()
    assert not at.exception
    saved = turns(echo_runtime)
    assert [t.role for t in saved] == ["user", "assistant", "observation", "assistant"]
    assert saved[1].content == "echo:\n\n" + PLOT  # the fence is put on its own line, so it renders as code
    assert saved[2].content == "[an image (PNG) was shown to the user]\n42"
    assert saved[3].content == "echo: [an image (PNG) was shown to the user]\n42"
    assert len(at.get("image")) == 1  # the history shows the saved plot
    assert any("42" in c.value for c in at.code)
    assert any("Ran in" in c.value for c in at.caption)


def test_ask_before_running_then_run_or_skip(echo_runtime, local_only):
    at = code_mode()
    at.toggle(key="interp-ask").set_value(True).run()
    at.chat_input[0].set_value("```python\nprint('approved')\n```").run()
    assert not at.exception
    assert [t.role for t in turns(echo_runtime)] == ["user", "assistant"]  # waiting, nothing ran
    assert any("wants to run" in i.value for i in at.info)
    at.button(key="interp-approve").click().run()
    assert not at.exception
    saved = turns(echo_runtime)
    assert [t.role for t in saved] == ["user", "assistant", "observation", "assistant"] and saved[2].content == "approved"

    at.chat_input[0].set_value("```python\nopen('skipped.txt', 'w')\n```").run()
    at.button(key="interp-skip").click().run()
    assert not at.exception
    saved = turns(echo_runtime)
    assert [t.role for t in saved][-2:] == ["user", "assistant"] and saved[-1].meta["interp"] == {"skipped": True}
    assert any("was not run" in c.value for c in at.caption)
    kernel = echo_runtime.kernels.get(echo_runtime.kernels.sessions()[0])
    assert not (kernel.folder / "skipped.txt").exists()


def test_own_cell_runs_in_the_same_kernel(echo_runtime, local_only):
    at = code_mode()
    at.text_area(key="interp-cell-code").set_value("import pandas as pd\ntotal = 5\npd.DataFrame({'a': [1, 2]})").run()
    at.button(key="interp-run-cell").click().run()
    assert not at.exception
    assert len(at.dataframe) == 1 and list(at.dataframe[0].value["a"]) == [1, 2]
    at.text_area(key="interp-cell-code").set_value("while True: pass").run()
    at.button(key="interp-run-cell").click().run()
    assert any("10 s limit" in w.value for w in at.warning)
    at.text_area(key="interp-cell-code").set_value("print(total)").run()
    at.button(key="interp-run-cell").click().run()
    assert [c.value for c in at.code] == ["5"]  # the kernel survived the time limit
    at.button(key="interp-restart").click().run()
    assert any("Kernel restarted" in s.value for s in at.success)
    at.button(key="interp-run-cell").click().run()
    assert any(e.value.startswith("NameError") for e in at.error)  # variables are gone after a restart
