"""Issue 13 case 4: the app read and wrote through links a kernel planted in its own folder.

The kernel's code owns its folder; the app does not run sandboxed (its environment holds
the password and API key). A cell that only runs `os.symlink('/proc/self/environ', 'env.txt')`
made the Files panel offer the app's environment (and Streamlit serves a download
button's bytes from `/media/...` without any cookie); an upload onto a planted link wrote
outside the kernel folder. These tests plant links with a real kernel and act as the app.
"""

from __future__ import annotations

import os
import time

import pytest

from core.errors import UserError
from tests.conftest import app_test
from tests.security.kernel_helpers import SECRETS, make_pool


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("links-home")
    (home / "conversations").mkdir()
    (home / "conversations" / "private.json").write_text("someone else's chat")
    return home


@pytest.fixture(scope="module")
def pool(home):
    with pytest.MonkeyPatch.context() as env:  # the app process holds secrets (its kernels must not); restored after
        for key, value in SECRETS.items():
            env.setenv(key, value)
        pool = make_pool(home)
        try:
            yield pool
        finally:
            pool.close()


@pytest.fixture(scope="module")
def planted(pool, home):
    """A kernel whose code planted links to the app's environ, a system file, the data folder, a folder and a FIFO."""
    kernel = pool.get("mallory")
    code = f"""
import os
os.symlink('/proc/self/environ', 'env.txt')
os.symlink('/etc/passwd', 'passwd.txt')
os.symlink({str(home / 'conversations' / 'private.json')!r}, 'chat.json')
os.symlink('/etc', 'etc')
os.makedirs('sub', exist_ok=True)
os.symlink('/proc/self', 'sub/self')
os.mkfifo('pipe.txt')
open('real.txt', 'w').write('made by code')
"""
    result = kernel.execute(code)
    assert result.status == "ok", result.text()
    return kernel


def test_links_and_special_files_are_never_listed(planted):
    assert [f.name for f in planted.files()] == ["real.txt"]


@pytest.mark.parametrize("name", ["env.txt", "passwd.txt", "chat.json", "etc/passwd", "sub/self/environ", "pipe.txt", "etc", "../../conversations/private.json"])
def test_links_are_never_read_through(planted, name):
    started = time.monotonic()
    with pytest.raises(UserError) as caught:
        planted.read_file(name)
    assert time.monotonic() - started < 2  # a FIFO must not block the app
    assert "not a file of this session" in str(caught.value) and "不是本会话的文件" in caught.value.text("zh")
    assert planted.read_file("real.txt") == b"made by code"


def test_an_upload_onto_a_planted_link_stays_inside_the_folder(pool, tmp_path):
    kernel = pool.get("mallory-upload")
    outside_new = tmp_path / "created-by-the-app.txt"
    outside_old = tmp_path / "existing.txt"
    outside_old.write_text("keep me")
    result = kernel.execute(f"import os\nos.symlink({str(outside_new)!r}, 'new.csv')\nos.symlink({str(outside_old)!r}, 'old.csv')")
    assert result.status == "ok", result.text()
    kernel.save_upload("new.csv", b"a,b\n1,2\n")
    kernel.save_upload("old.csv", b"x,y\n3,4\n")
    assert not outside_new.exists()
    assert outside_old.read_text() == "keep me"
    assert not (kernel.folder / "new.csv").is_symlink() and (kernel.folder / "new.csv").read_bytes() == b"a,b\n1,2\n"
    assert kernel.read_file("old.csv") == b"x,y\n3,4\n"
    assert not [p for p in kernel.folder.iterdir() if p.name.startswith(".upload-")]  # no temporary left behind


def test_a_private_folder_swapped_for_a_link_is_not_written_through(pool, tmp_path):
    """The kernel may replace its `.liandan` state folder with a link; the app writes there on restart."""
    kernel = pool.get("mallory-state")
    target = tmp_path / "elsewhere"
    target.mkdir()
    result = kernel.execute(f"import os, shutil\nshutil.rmtree('.liandan')\nos.symlink({str(target)!r}, '.liandan')")
    assert result.status == "ok", result.text()
    kernel.restart()
    assert list(target.iterdir()) == []  # nothing written (connection file, sandbox report, folders) out there
    assert not (kernel.folder / ".liandan").is_symlink()
    assert kernel.execute("print('still works')").text() == "still works\n"
    assert kernel.sandbox_report().get("mechanism") in ("landlock", "audit-hook")


def test_a_planted_sandbox_report_link_is_not_read(pool, home):
    kernel = pool.get("mallory-report")
    kernel.start()
    (home / "conversations" / "fake.json").write_text('{"mechanism": "read-through-link"}')
    os.unlink(kernel.folder / ".liandan" / "sandbox.json")
    os.symlink(home / "conversations" / "fake.json", kernel.folder / ".liandan" / "sandbox.json")
    assert kernel.sandbox_report() == {}


# --- the Files panel, as the page draws it ---------------------------------------------------------
@pytest.fixture
def page_runtime(tmp_path):
    from streamlit import config as st_config

    from core.config import Settings
    from core.runtime import create_runtime
    from tests.conftest import installed

    settings = Settings(data_dir=tmp_path / "data", engine="echo", load_on_start=False, interpreter_cell_timeout_s=10)
    rt = create_runtime(settings)
    rt.models.load(settings.model)
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    with installed(rt):
        yield rt
        if "kernels" in rt.__dict__:
            rt.kernels.close()
    st_config.set_option("server.address", before)


def test_the_files_panel_offers_no_link(page_runtime):
    os.environ["LIANDAN_SECRET_PROBE"] = "environ-of-the-app-4242"
    try:
        at = app_test("pages/chat.py", lang="en").run()
        at.radio(key="chat-mode").set_value("code").run()
        at.text_area(key="interp-cell-code").set_value(
            "import os\nos.symlink('/proc/self/environ', 'env.txt')\nopen('report.txt', 'w').write('hi')").run()
        at.button(key="interp-run-cell").click().run()
        assert not at.exception
        at.run()  # the panel is drawn before the cell runs: the next run lists the new files
        labels = [b.label for b in at.get("download_button")]
        assert "⬇ report.txt" in labels and not any("env.txt" in label for label in labels), labels
        kernel = page_runtime.kernels.get(page_runtime.kernels.sessions()[0])
        assert os.path.islink(kernel.folder / "env.txt")  # the link is there; it is just never offered
    finally:
        os.environ.pop("LIANDAN_SECRET_PROBE", None)
