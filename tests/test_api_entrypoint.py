"""`make run`'s own command serves the Streamlit UI and the API on one port, in one process."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.api_helpers import free_port
from tests.conftest import REPO


def make_run_command() -> list[str]:
    """The recipe `make run` runs by default (its `run-transformers` step), with $(VENV) expanded."""
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^run: setup run-\$\(ENGINE\)$", makefile, re.MULTILINE) and "ENGINE ?= transformers" in makefile
    recipe = re.search(r"^run-transformers:.*\n\t(.+)$", makefile, re.MULTILINE).group(1)
    venv = re.search(r"^VENV\s*:?=\s*(\S+)", makefile, re.MULTILINE).group(1)
    command = shlex.split(recipe.replace("$(VENV)", venv))
    if not os.path.exists(REPO / command[0]):  # CI may run with another interpreter's streamlit
        command[0] = os.path.join(os.path.dirname(sys.executable), os.path.basename(command[0]))
    return command


@contextmanager
def running(command: list[str], tmp_path, url: str, **settings: str) -> Iterator[None]:
    """Run `command` on the echo engine until `url`/api/health says ok; stop its process group after."""
    env = {**os.environ, "LIANDAN_ENGINE": "echo", "LIANDAN_DATA_DIR": str(tmp_path / "data"), **settings}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(f"{url}/api/health", timeout=2).json().get("status") == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not come up within 90 s"
            time.sleep(0.5)
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def test_make_run_serves_the_ui_and_the_api_on_the_same_port(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = make_run_command() + ["--server.port", str(port), "--server.address", "127.0.0.1"]
    origin = "http://localhost:3000"  # a browser front-end on another port (LIANDAN_API_CORS_ORIGINS)
    with running(command, tmp_path, base, LIANDAN_API_CORS_ORIGINS=f'["{origin}"]'):
        page = httpx.get(base, timeout=10)
        assert page.status_code == 200 and '<div id="root">' in page.text  # Streamlit's page
        assert httpx.get(f"{base}/_stcore/health", timeout=5).text == "ok"
        reply = httpx.post(f"{base}/api/chat", json={"prompt": "你好", "history": []}, timeout=10).json()
        assert reply["response"] == "echo: 你好"
        models = httpx.get(f"{base}/v1/models", timeout=5).json()
        assert models["data"][0]["id"] == "base"
        preflight = httpx.options(f"{base}/v1/chat/completions", timeout=5, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == origin


def test_headless_serve_answers_the_tutorials_curl(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-m", "core", "serve", "--host", "127.0.0.1", "--port", str(port)], tmp_path, base):
        # The tutorial's command, verbatim but for the port.
        curl = f"""curl -X POST "{base}" -H 'Content-Type: application/json' -d '{{"prompt": "你好", "history": []}}'"""
        if shutil.which("curl"):
            reply = json.loads(subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30).stdout)
        else:
            reply = httpx.post(base, json={"prompt": "你好", "history": []}, timeout=10).json()
        assert reply["response"] == "echo: 你好" and reply["status"] == 200
        assert httpx.get(base).status_code == 307  # a browser on the root lands on the docs
        assert httpx.get(f"{base}/_stcore/health").status_code == 404  # no UI here


def test_serve_refuses_a_bad_port():
    done = subprocess.run([sys.executable, "-m", "core", "serve", "--port", "70000"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "LIANDAN_ENGINE": "echo"})
    assert done.returncode == 2 and "not a port" in done.stderr


@pytest.mark.browser
@pytest.mark.parametrize("password", ["pw", None], ids=["gate", "open"])
def test_first_visit_to_a_deep_page_goes_through_home_py(tmp_path, password):
    """In the st.App mode, a fresh server's first session opening /system still runs Home.py (gate, sidebar)."""
    from tests.e2e.app_server import find_chromium, launch_chromium, run_app

    if find_chromium() is None:  # as in tests/e2e: CI must not go green without the browser
        (pytest.fail if os.environ.get("CI", "").lower() in ("1", "true", "yes") else pytest.skip)("no Chromium found")
    from playwright.sync_api import expect, sync_playwright

    env = {"LIANDAN_ENGINE": "echo", **({"LIANDAN_PASSWORD": password} if password else {})}
    with run_app(tmp_path / "data", **env) as app, sync_playwright() as pw:
        browser = launch_chromium(pw, find_chromium())
        try:
            page = browser.new_page()
            page.goto(f"{app.url}/system")
            if password:
                expect(page.get_by_text("请输入密码")).to_be_visible(timeout=30_000)
                expect(page.get_by_text("HTTP API")).to_have_count(0)
            else:
                expect(page.get_by_text("HTTP API")).to_be_visible(timeout=30_000)
                expect(page.get_by_text(f'curl -X POST "{app.url}/api/chat"')).to_have_count(1)
                expect(page.get_by_text("语言 / Language")).to_be_visible()  # Home.py's sidebar ran
        finally:
            browser.close()
