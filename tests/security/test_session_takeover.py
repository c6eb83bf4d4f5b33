"""Issue 13 case 5: a Streamlit session id alone was a login, and it leaked.

The kernel's argv held `--work …/kernels/<session id>`, readable by every local process in
`/proc/<pid>/cmdline`; a websocket that presents a session id (the third entry of its
`Sec-WebSocket-Protocol` header, as Streamlit's own reconnect does) is handed that session,
`session_state` and all, so it was logged in without the password.

The first test reads what any local process can read about a running kernel; the second
logs in with one browser, then has a second browser (its own cookies) present the first
one's session id over a real websocket to the real server.
"""

from __future__ import annotations

import os

import pytest

from tests.security.kernel_helpers import SECRETS, make_pool, proc_text

SESSION_ID = "3f2b9c1e-5d4a-4b7e-9a61-0c8d2e7f4a13"  # what a Streamlit session id looks like


def test_nothing_identifying_the_session_or_a_secret_is_readable_from_proc(tmp_path):
    saved = {k: os.environ.get(k) for k in SECRETS}
    os.environ.update(SECRETS)
    pool = make_pool(tmp_path / "home")
    try:
        kernel = pool.get(SESSION_ID)
        kernel.start()
        supervisor = kernel._km.provisioner.pid
        kernel_pid = int(kernel.execute("import os; print(os.getpid())").text())
        for pid in {supervisor, kernel_pid}:  # the supervisor and the kernel: both are visible to `ps`
            cmdline, environ = proc_text(pid, "cmdline"), proc_text(pid, "environ")
            for leaked in (SESSION_ID, *SECRETS.values()):
                assert leaked.encode() not in cmdline, (pid, cmdline)
                assert leaked.encode() not in environ, pid
            for part in SESSION_ID.split("-"):
                assert part.encode() not in cmdline
        assert SESSION_ID not in str(kernel.folder) and len(kernel.folder.name) == 32
        other = pool.get("another-session")
        assert other.folder != kernel.folder and other.folder.parent == kernel.folder.parent
    finally:
        pool.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_login_binding_follows_the_browser_token_not_its_mask():
    """Streamlit re-masks its XSRF cookie on each page load; the token inside stays."""
    from core.auth import login_binding, xsrf_token

    token = bytes(range(16))
    masks = [b"\x01\x02\x03\x04", b"\xaa\xbb\xcc\xdd"]
    cookies = [f"2|{m.hex()}|{bytes(b ^ m[i % 4] for i, b in enumerate(token)).hex()}|1700000000" for m in masks]
    assert xsrf_token(cookies[0]) == xsrf_token(cookies[1]) == token
    assert login_binding(cookies[0], "c1") == login_binding(cookies[1], "c2")
    assert login_binding(cookies[0], "c1") != login_binding("2|01020304|" + "00" * 16 + "|1", "c1")
    for broken in (None, "", "2|zz|00|1", "2|0102|00|1", "garbage|x"):
        assert login_binding(broken, "conn-1") == "connection:conn-1"


# --- over a real websocket to the real server ---------------------------------------------------------
PASSWORD = "sesame-open-1234"

# Wraps the page's WebSocket so the Streamlit stream connection presents a chosen session id,
# exactly where Streamlit's own reconnect puts it (["streamlit", xsrf token, session id]).
PRESENT_SESSION_ID = """
(leaked) => {
  const Original = window.WebSocket;
  function Patched(url, protocols) {
    if (String(url).includes('_stcore/stream')) {
      const list = Array.from(protocols || []);
      while (list.length < 2) list.push(list.length === 0 ? 'streamlit' : 'PLACEHOLDER_AUTH_TOKEN');
      list[2] = leaked;
      return new Original(url, list);
    }
    return new Original(url, protocols);
  }
  Patched.prototype = Original.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Patched[k] = Original[k];
  window.WebSocket = Patched;
}
"""


@pytest.fixture(scope="module")
def chromium():
    from tests.e2e.app_server import find_chromium, launch_chromium

    if find_chromium() is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set LIANDAN_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw, find_chromium())
        yield browser
        browser.close()


def _session_ids(page) -> list[str]:
    """Session ids the server announced to this page (ForwardMsg.new_session.initialize.session_id)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    found: list[str] = []

    def on_socket(ws) -> None:
        def on_frame(payload) -> None:
            if isinstance(payload, (bytes, bytearray)):
                try:
                    msg = ForwardMsg.FromString(bytes(payload))
                except Exception:  # noqa: BLE001 - not every frame is a ForwardMsg we can read
                    return
                if msg.WhichOneof("type") == "new_session" and msg.new_session.initialize.session_id:
                    found.append(msg.new_session.initialize.session_id)

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return found


def _login_form(page):
    return page.locator("input[type=password]")


def _shows_the_app(page) -> bool:
    return page.get_by_test_id("stSidebarNav").count() > 0


@pytest.mark.browser
def test_a_leaked_session_id_from_another_browser_gets_the_password_form(chromium, tmp_path):
    from tests.e2e.app_server import run_app
    from tests.e2e.conftest import wait_idle

    with run_app(tmp_path / "data", LIANDAN_ENGINE="echo", LIANDAN_LOAD_ON_START="false", LIANDAN_PASSWORD=PASSWORD) as app:
        victim_ctx = chromium.new_context(locale="zh-CN")
        victim = victim_ctx.new_page()
        ids = _session_ids(victim)
        victim.goto(app.url)
        _login_form(victim).fill(PASSWORD)
        victim.get_by_role("button", name="进入").click()
        victim.get_by_test_id("stSidebarNav").wait_for(timeout=60_000)
        assert ids, "the server never announced a session id"
        leaked = ids[-1]

        # The attacker: another browser (no cookies of the victim) presenting the victim's id.
        attacker_ctx = chromium.new_context(locale="zh-CN")
        attacker = attacker_ctx.new_page()
        attacker.add_init_script(f"({PRESENT_SESSION_ID})({leaked!r})")
        attacker_ids = _session_ids(attacker)
        attacker.goto(app.url)
        _login_form(attacker).or_(attacker.get_by_test_id("stSidebarNav")).first.wait_for(timeout=60_000)
        wait_idle(attacker)
        assert leaked in attacker_ids, "the server did not resume the presented session (the test attacked nothing)"
        assert not _shows_the_app(attacker), "a leaked session id logged a second browser in without the password"
        assert _login_form(attacker).count() == 1

        # The victim's own browser reconnecting to its session (same cookie) stays logged in.
        again = victim_ctx.new_page()
        again.add_init_script(f"({PRESENT_SESSION_ID})({leaked!r})")
        again_ids = _session_ids(again)
        again.goto(app.url)
        again.get_by_test_id("stSidebarNav").wait_for(timeout=60_000)
        assert leaked in again_ids and _login_form(again).count() == 0
        for ctx in (attacker_ctx, victim_ctx):
            ctx.close()
