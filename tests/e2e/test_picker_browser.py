"""The System page's model picker in a real Chromium: a user who knows no model id picks
Qwen2.5-0.5B-Instruct from the list, downloads it from a ModelScope hub (a local one on
127.0.0.1 serving a tiny model under that id, reached by the real modelscope client through
LIANDAN_MODELSCOPE_ENDPOINT), sees the job finish, and the model is the one loaded."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.conftest import go_to, wait_idle, wait_model_loaded
from tests.e2e.test_kb_browser import expect
from tests.modelscope_server import FakeModelScope

pytestmark = pytest.mark.browser


def test_pick_download_and_load_a_model_without_typing_an_id(tiny_model_dir, tmp_path, browser):
    from tests.e2e.app_server import run_app

    repo = tmp_path / "hub" / "qwen-0.5b"
    shutil.copytree(tiny_model_dir, repo)
    with FakeModelScope({"Qwen/Qwen2.5-0.5B-Instruct": repo}, delay=0.005) as hub, run_app(
        tmp_path / "data", model=str(tiny_model_dir), LIANDAN_MODELSCOPE_ENDPOINT=hub.endpoint,
    ) as app:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            # A model is loaded first, as for most users switching: it also means the app has imported
            # transformers' loading code before the job needs it (on this busy 2-core machine a first
            # import of it inside the job thread, with the page polling, took minutes).
            wait_model_loaded(page, app)
            go_to(page, "系统")
            page.get_by_text("选择模型（不需要知道模型 ID）").wait_for(timeout=30_000)
            table = page.get_by_test_id("stTable").filter(has_text="下载大小")
            expect(table).to_contain_text("未下载", timeout=60_000)
            expect(table).to_contain_text("GiB")
            option = page.get_by_role("option", name="Qwen2.5-0.5B-Instruct · Qwen/Qwen2.5-0.5B-Instruct")
            for _ in range(5):  # a rerun that lands just after the click closes the list: open it again
                wait_idle(page)
                page.get_by_role("combobox", name="要使用的模型").click()
                try:
                    option.wait_for(timeout=5_000)
                    break
                except Exception:
                    continue
            option.click()
            wait_idle(page)
            page.get_by_role("button", name="从 ModelScope 下载并加载").click()
            page.get_by_text("⬇ Qwen/Qwen2.5-0.5B-Instruct").first.wait_for(timeout=30_000)
            try:
                page.get_by_text("已完成").first.wait_for(timeout=180_000)  # loading on a busy shared CPU
            except Exception:
                page.screenshot(path=str(tmp_path / "picker.png"), full_page=True)
                jobs = [p.read_text() for p in (tmp_path / "data" / "jobs").glob("*.json")]
                raise AssertionError(f"the download job did not finish: {jobs}\n{app.log_tail()}") from None
            wait_idle(page)
            loaded = page.get_by_test_id("stTable").filter(has_text="上下文长度")
            expect(loaded).to_contain_text("Qwen/Qwen2.5-0.5B-Instruct", timeout=30_000)
            expect(table).to_contain_text("已下载")
            assert any("FilePath=model.safetensors" in r for r in hub.requests)
            assert "Traceback" not in page.content()
        finally:
            page.close()
