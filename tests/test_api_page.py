"""The System page's API section: the examples it shows really work when pasted."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess

import pytest

from core.api import snippets
from core.api.app import create_app
from tests.api_helpers import echo_runtime, serve
from tests.conftest import app_test


def test_base_url_is_the_browsers_origin():
    assert snippets.base_url("https://u1-abc.autodl.com:8443/system?x=1", 6006) == "https://u1-abc.autodl.com:8443"
    assert snippets.base_url(None, 6006) == "http://127.0.0.1:6006"


def test_pasted_examples_answer_from_a_running_server(tmp_path):
    with serve(create_app(echo_runtime(tmp_path))) as url:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(snippets.python_example(url, key_required=False), {})
        assert out.getvalue() == "echo: 你好"
        if shutil.which("curl"):
            reply = subprocess.run(["bash", "-c", snippets.curl_example(url, key_required=False)],
                                   capture_output=True, text=True, timeout=30).stdout
            assert json.loads(reply)["response"] == "echo: 你好"


def test_examples_with_a_key_read_it_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LIANDAN_API_KEY", "k-123")
    with serve(create_app(echo_runtime(tmp_path, api_key="k-123"))) as url:
        code = snippets.python_example(url, key_required=True)
        assert "k-123" not in code
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, {})
        assert out.getvalue() == "echo: 你好"
        assert 'Bearer $LIANDAN_API_KEY' in snippets.curl_example(url, key_required=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_system_page_shows_the_api_address_and_examples(app_runtime, lang):
    at = app_test("pages/system.py", lang).run()
    assert not at.exception
    code = "\n".join(block.value for block in at.code)
    assert "/api/chat" in code and "/v1" in code and "chat.completions.create" in code
    assert any("HTTP API" in h.value for h in at.subheader)
