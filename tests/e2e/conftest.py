"""Real-browser tests: the real app in a subprocess, driven by Debian's Chromium through Playwright.

Writing a new end-to-end test (knowledge base, compare, interpreter...):

    import pytest
    from tests.e2e.conftest import go_to, wait_idle, wait_model_loaded

    pytestmark = pytest.mark.browser   # every test in tests/e2e gets it anyway

    def test_something(liandan_app, page):
        wait_model_loaded(page, liandan_app)        # opens Home; or open_page(page, liandan_app)
        go_to(page, "知识库")                        # click a sidebar page link by its title
        page.get_by_test_id("stChatInputTextArea").fill("...")
        page.get_by_role("button", name="...").click()
        wait_idle(page)                              # let the rerun a click starts finish
        ...

Fixtures:
- `liandan_app` (session): one `streamlit run Home.py` on a free port with its own data folder
  (`liandan_app.data_dir`), the embedded SmolLM2 (linked from the converted test cache, so
  no second conversion), hash embeddings, `LIANDAN_MAX_NEW_TOKENS=64`. Tests share it: use
  unique texts and never assume an empty app (test order is not fixed).
  `liandan_app.url`, `.log_tail()`; its log is attached to the report of a failing test.
- `browser` (module): Chromium launched by Playwright with `executable_path` (never
  `playwright install`, which downloads a browser).
- `page` (function): a fresh browser context (a new Streamlit session, default language 中文).
- For a differently configured app (password, another model, a fresh data folder) use
  `tests.e2e.app_server.run_app(tmp_dir, model=..., LIANDAN_PASSWORD=...)` as a context manager
  (`fresh_app` in test_chat_browser.py does that with the tiny model, ~7 s).
On failure the report gets the app's log and a full-page screenshot path.
Streamlit test ids worth knowing: stChatMessage (+ stChatMessageAvatarUser/Assistant),
stChatInputTextArea, stSidebar, stSidebarNavLink, stMarkdownContainer, stAlertContentSuccess.

Without a Chromium the tests skip with a message (and `make test` says so at the end); in CI
(`CI=true`) a missing browser fails them instead, so CI can never go green without running them.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import MODEL_CACHE
from tests.e2e.app_server import find_chromium, launch_chromium, run_app

E2E_DIR = os.path.dirname(__file__)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NO_BROWSER = (
    "no Chromium found (install Debian's `chromium`: apt-get install chromium, "
    "or point LIANDAN_CHROMIUM at one)"
)
_skipped: list[str] = []


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if str(item.fspath).startswith(E2E_DIR):
            item.add_marker(pytest.mark.browser)
            # One retry (pytest-rerunfailures): on 2 cores a browser test's waits race the app now and then
            # (seen: a Stop saved after the reload; a form field refilled by a rerun). A second failure fails.
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    """Decide before any fixture starts the app: skip (or, in CI, fail) without a browser."""
    if item.get_closest_marker("browser") is None:
        return
    problem = None
    if find_chromium() is None:
        problem = NO_BROWSER
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the `playwright` package is not installed (pip install -r requirements-dev.txt)"
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"browser test cannot run in CI: {problem}", pytrace=False)
    _skipped.append(item.nodeid)
    pytest.skip(f"browser test skipped: {problem}")


def pytest_unconfigure(config) -> None:
    """The very last line of the run (after pytest's own summary), so `make test` cannot hide it."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if _skipped and reporter is not None:
        reporter.write_sep("!", f"{len(_skipped)} BROWSER TESTS SKIPPED: {NO_BROWSER}", yellow=True, bold=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    app, page = funcargs.get("liandan_app") or funcargs.get("own_app"), funcargs.get("page")
    if report.failed and app is not None:
        report.sections.append(("liandan app log (last lines)", app.log_tail()))
    if report.failed and app is not None and page is not None:
        shot = app.data_dir.parent / f"{item.name}-{report.when}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            report.sections.append(("browser screenshot", str(shot)))
        except Exception as exc:  # the browser may be what failed; the report matters more
            report.sections.append(("browser screenshot", f"not taken: {exc}"))


@pytest.fixture(scope="session")
def liandan_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    (root / "server").mkdir()  # the server folders the Knowledge Base page may index (server_root)
    roots = json.dumps([str(root / "server")])
    with run_app(root / "data", model="embedded", model_cache=MODEL_CACHE, LIANDAN_MAX_NEW_TOKENS="64", LIANDAN_KB_ROOTS=roots) as app:
        yield app


@pytest.fixture
def own_app(tmp_path):
    """An app of the test's own, on an empty data folder, set up like `liandan_app`: for flows
    that count what is stored (votes, bases, adapters), which the shared app collects from
    every earlier test."""
    with run_app(tmp_path / "data", model="embedded", model_cache=MODEL_CACHE, LIANDAN_MAX_NEW_TOKENS="64") as app:
        yield app


def server_root(app) -> Path:
    """The one folder `liandan_app` lets the Knowledge Base page index (LIANDAN_KB_ROOTS)."""
    return app.data_dir.parent / "server"


# Module scope: Playwright's sync API keeps an event loop running in this thread while it
# is open, so a session-long one would break any later test that opens its own.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = launch_chromium(pw, find_chromium())
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


def open_page(page, app, path: str = "") -> None:
    """Load a page of the app by URL path ("" = Home, "chat"...) and wait for its sidebar."""
    page.goto(f"{app.url}/{path}")
    page.get_by_test_id("stSidebarNav").wait_for(timeout=60_000)
    wait_idle(page)


# Streamlit marks its root with the script state; "notRunning" for a while means the rerun
# that a click or a chat message started has finished drawing.
_IDLE = """([since, quiet]) => {
  const state = document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state');
  const now = performance.now();
  if (state !== 'notRunning') { window.__busyAt = now; return false; }
  return now - Math.max(window.__busyAt || 0, since) > quiet;
}"""


def wait_idle(page, timeout_ms: int = 120_000, quiet_ms: int = 500) -> None:
    """Wait until the app has not been running a script for `quiet_ms` (after a click, a send...)."""
    since = page.evaluate("performance.now()")
    page.wait_for_function(_IDLE, arg=[since, quiet_ms], timeout=timeout_ms, polling=50)


def go_to(page, title: str) -> None:
    """Click the sidebar link of a page by its (current-language) title, as a user does."""
    page.get_by_test_id("stSidebar").get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
    page.get_by_test_id("stSidebarNavLink").filter(has_text=title).and_(page.locator("[aria-current=page]")).wait_for()
    wait_idle(page)


def unique(name: str) -> str:
    """`name` plus a short random suffix: a base or folder of this attempt's own. The shared app keeps
    what an earlier test, or this test's failed first attempt, created (the retry would meet "exists")."""
    return f"{name}-{uuid.uuid4().hex[:4]}"


def choose(page, combobox, option: str) -> None:
    """Select `option` in a Streamlit selectbox as a user with many options does: type to filter, click it.

    Clicking the open list alone fails once the shared app holds enough bases or adapters: the list is
    virtualised, so an option below its fold is not in the page at all."""
    from playwright.sync_api import expect  # here: without playwright the browser tests skip, not fail to import

    if combobox.input_value() == option:
        return
    combobox.click()
    combobox.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)
    expect(combobox).to_have_value(option)


def open_expander(page, title: str, root=None):
    """Open the innermost expander titled `title` in the main area (or in `root`) and return it;
    a no-op when it is already open (a click would close it)."""
    scope = root if root is not None else page.get_by_test_id("stMain")
    box = scope.get_by_test_id("stExpander").filter(has=page.locator("summary", has_text=title)).last
    if box.locator("details").first.get_attribute("open") is None:
        box.locator("summary").filter(has_text=title).last.click()
        wait_idle(page)
    return box


def wait_model_loaded(page, app, path: str = "", timeout_s: float = 180) -> None:
    """Wait until the sidebar says 🧠 "模型：…/Model: …" (the shared model is ready).

    The sidebar is drawn on each script run, so while the model loads this reloads the page
    (a new session: language back to 中文) until the loaded state shows.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout_s
    loaded = page.get_by_test_id("stSidebar").get_by_test_id("stAlertContentSuccess")
    while True:
        try:
            loaded.first.wait_for(timeout=2_000)
            wait_idle(page)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise AssertionError(f"the model did not load within {timeout_s:.0f} s:\n{app.log_tail()}") from None
        open_page(page, app, path)
