"""The code interpreter in a real Chromium: one code cell runs in the sandboxed kernel and its plot appears."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import go_to, wait_idle, wait_model_loaded

pytestmark = pytest.mark.browser

PLOT = "import matplotlib.pyplot as plt\nimport numpy as np\nx = np.linspace(0, 6, 60)\nplt.plot(x, np.sin(x))\nplt.show()\nprint('peak', round(float(np.sin(x).max()), 2))"


def test_a_code_cell_runs_and_shows_its_plot(liandan_app, page):
    wait_model_loaded(page, liandan_app)  # not racing the model load for the CPU
    go_to(page, "对话")
    page.get_by_test_id("stSidebar").get_by_text("代码解释器").click()
    wait_idle(page)
    page.get_by_text("🐍 自己运行 Python").click()
    page.get_by_label("代码（与模型共用同一个内核）").fill(PLOT)
    page.get_by_role("button", name="▶ 运行").click()
    image = page.locator("img[src*='/media/']")  # st.image serves its bytes from /media/
    image.wait_for(timeout=60_000)
    assert image.evaluate("img => img.complete && img.naturalWidth > 100")
    assert "peak 1.0" in page.locator("body").inner_text()
    wait_idle(page)
    assert "运行完成" in page.locator("body").inner_text()
