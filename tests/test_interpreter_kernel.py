"""The sandboxed kernel with real Jupyter kernels: outputs, limits, isolation, sandbox.

Kernel startups cost ~1-2 s each, so one pool and two sessions are shared by the module;
tests that break a kernel on purpose (time limit, memory) leave it usable, which they assert.
"""

from __future__ import annotations

import base64
import time

import pytest

from core.config import Settings
from core.interpreter.kernel import KernelLimits, KernelPool, kernel_env, pool_from_settings, safe_name
from core.interpreter.launcher import landlock_abi
from core.interpreter.results import strip_ansi
from core.interpreter.selfcheck import PROBES, check
from core.errors import UserError

SECRETS = {"LIANDAN_PASSWORD": "pw-123456", "LIANDAN_API_KEY": "key-abcdef", "OPENAI_API_KEY": "sk-test", "MY_SERVICE_TOKEN": "tok-1"}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("liandan-home")
    (home / "conversations").mkdir()
    (home / "conversations" / "private.json").write_text("someone else's chat")
    return home


@pytest.fixture(scope="module")
def pool(home):
    with pytest.MonkeyPatch.context() as env:  # the app process holds secrets (its kernels must not); restored after
        for key, value in SECRETS.items():
            env.setenv(key, value)
        settings = Settings(data_dir=home, interpreter_cell_timeout_s=4, interpreter_memory_mb=768, interpreter_output_chars=500, interpreter_idle_timeout_s=600)
        pool = pool_from_settings(settings)
        try:
            yield pool
        finally:
            pool.close()


@pytest.fixture(scope="module")
def kernel(pool):
    k = pool.get("alice")
    k.start()
    return k


def test_stdout_result_and_error_without_ansi(kernel):
    r = kernel.execute("print('hello'); 6 * 7")
    assert r.status == "ok"
    assert r.outputs == [{"type": "stream", "name": "stdout", "text": "hello\n"}, {"type": "text", "text": "42"}]
    r = kernel.execute("1/0")
    assert r.status == "error"
    err = r.errors()[0]
    assert err["ename"] == "ZeroDivisionError" and "division by zero" in err["traceback"]
    assert "\x1b[" not in err["traceback"] and "ZeroDivisionError: division by zero" in r.observation(2000)


def test_dataframe_becomes_a_table(kernel):
    r = kernel.execute("import pandas as pd\ndf = pd.DataFrame({'x': [1, 2, 3], 'y': ['a', 'b', 'c']})\ndf")
    assert r.status == "ok"
    table = next(o for o in r.outputs if o["type"] == "table")
    assert table["columns"] == ["x", "y"] and table["data"] == [[1, "a"], [2, "b"], [3, "c"]] and table["shape"] == [3, 2]
    assert "x  y" in table["text"]  # the model reads the text form


def test_matplotlib_figure_becomes_a_png(kernel):
    r = kernel.execute("import matplotlib.pyplot as plt\nimport numpy as np\nx = np.linspace(0, 6, 50)\nplt.plot(x, np.sin(x))\nplt.show()")
    assert r.status == "ok", r.text()
    [png] = r.images()
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "[an image (PNG) was shown to the user]" in r.observation(2000)


def test_output_is_capped_with_a_note(kernel):
    r = kernel.execute("print('x' * 5000)")
    assert sum(len(o.get("text", "")) for o in r.outputs) == 500
    assert r.outputs[-1] == {"type": "note", "key": "truncated", "args": {"hidden": 4501}}


def test_infinite_loop_is_stopped_and_the_kernel_stays_usable(kernel):
    kernel.execute("survivor = 'still here'")
    started = time.monotonic()
    r = kernel.execute("while True:\n    pass")
    assert r.status == "timeout"
    assert 3.5 < time.monotonic() - started < 10
    assert {"type": "note", "key": "timeout", "args": {"seconds": 4}} in r.outputs
    assert "ran longer than 4 s" in r.observation(2000)
    after = kernel.execute("print(survivor)")  # interrupted, not restarted: variables survive
    assert after.status == "ok" and after.text() == "still here\n"


def test_interrupt_button_stops_a_running_cell(kernel):
    import threading

    threading.Timer(1.0, kernel.interrupt).start()  # the UI calls it from another script run
    r = kernel.execute("import time\nfor i in range(100):\n    time.sleep(0.1)", timeout=20)
    assert r.status == "interrupted" and r.errors()[-1]["ename"] == "KeyboardInterrupt" and r.seconds < 5


def test_code_that_ignores_interrupts_gets_a_restart(kernel):
    r = kernel.execute("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)", timeout=1.5)
    assert r.status == "timeout" and any(o.get("key") == "restarted" for o in r.outputs)
    assert kernel.execute("print(1 + 1)").text() == "2\n"


def test_memory_bomb_is_stopped_by_the_cap(kernel):
    r = kernel.execute("chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024 * 1024))")
    assert r.status == "error" and r.errors()[0]["ename"] == "MemoryError"
    r = kernel.execute("del chunks\nimport resource\nresource.setrlimit(resource.RLIMIT_DATA, (-1, -1))")
    assert r.status == "error" and r.errors()[0]["ename"] == "ValueError"  # cannot lift its own cap, even as root
    assert kernel.execute("print('alive')").text() == "alive\n"


def test_a_crashed_kernel_is_reported_and_restarted(kernel):
    kernel.execute("lost = 1")
    r = kernel.execute("import os\nos._exit(3)")
    assert r.status == "died" and r.outputs == [{"type": "note", "key": "died", "args": {}}]
    r = kernel.execute("print('lost' in globals())")
    assert r.status == "ok" and r.text() == "False\n"


def test_secrets_are_not_in_the_kernel_environment(kernel):
    r = kernel.execute(
        "import os\n"
        f"print(sorted(set(os.environ) & {set(SECRETS)!r}))\n"
        f"print([v for v in {list(SECRETS.values())!r} if any(v in x for x in os.environ.values())])\n"
        "print(os.environ['HOME'])"
    )
    assert r.text() == f"[]\n[]\n{kernel.folder}\n"


def test_kernel_env_allow_list_drops_secret_looking_names(tmp_path):
    env = kernel_env({"PATH": "/bin", "LC_ALL": "C", "LC_TOKEN": "x", "AWS_SECRET_ACCESS_KEY": "y", "PYTHONPATH": "/evil", "LANG": "pw"}, tmp_path, secrets=("pw",))
    assert env["PATH"] == "/bin" and env["LC_ALL"] == "C"
    assert not {"LC_TOKEN", "AWS_SECRET_ACCESS_KEY", "PYTHONPATH", "LANG"} & set(env)


def test_writes_outside_the_folder_and_reads_of_the_data_folder_are_blocked(kernel, home, tmp_path):
    outside = tmp_path / "escape.txt"
    assert kernel.execute("open('inside.txt', 'w').write('ok')").status == "ok"
    assert (kernel.folder / "inside.txt").read_text() == "ok"
    for code in (
        f"open({str(outside)!r}, 'w')",
        f"import os; os.remove({str(home / 'conversations' / 'private.json')!r})",
        f"open({str(home / 'conversations' / 'private.json')!r}).read()",
        "import os; open(f'/proc/{os.getppid()}/environ', 'rb').read()",  # the app's own secrets
        f"import subprocess; subprocess.run(['touch', {str(outside)!r}], check=True)",
    ):
        r = kernel.execute(code)
        assert r.status == "error", code
        assert r.errors()[0]["ename"] in ("PermissionError", "CalledProcessError"), (code, r.text())
    assert not outside.exists()
    assert (home / "conversations" / "private.json").read_text() == "someone else's chat"
    assert kernel.execute("import numpy; print(numpy.__name__)").text() == "numpy\n"  # libraries stay readable


def test_two_sessions_do_not_see_each_other(pool, kernel):
    kernel.execute("secret_var = 41\nopen('alice.txt', 'w').write('a')")
    bob = pool.get("bob")
    r = bob.execute("print('secret_var' in globals())")
    assert r.text() == "False\n"
    r = bob.execute(f"import os\nprint(os.path.exists('alice.txt'))\nopen({str(kernel.folder / 'alice.txt')!r}).read()")
    assert r.outputs[0]["text"] == "False\n" and r.errors()[0]["ename"] == "PermissionError"
    assert bob.folder != kernel.folder and bob.folder.parent == kernel.folder.parent
    assert [p.name for p in kernel.files()][:1] == ["alice.txt"] and "alice.txt" not in [p.name for p in bob.files()]


def test_upload_download_and_idle_reaping(pool):
    bob = pool.get("bob")
    bob.save_upload("../../data.csv", b"a,b\n1,2\n")
    assert (bob.folder / "data.csv").exists()
    assert bob.execute("import pandas as pd; print(pd.read_csv('data.csv').a.sum())").text() == "1\n"
    bob.execute("open('out.txt', 'w').write('made by code')")
    assert bob.read_file("out.txt") == b"made by code"
    with pytest.raises(UserError):
        bob.read_file("../alice/alice.txt")
    with pytest.raises(UserError):
        safe_name(".hidden")
    assert pool.reap(now=time.monotonic() + 10) == []  # not idle yet
    assert sorted(pool.reap(now=time.monotonic() + 601)) == ["alice", "bob"]
    assert not bob.alive
    assert bob.execute("print('back')").text() == "back\n"  # restarts lazily, files kept
    assert (bob.folder / "out.txt").exists()


def test_the_reaper_thread_stops_idle_kernels(home):
    pool = KernelPool(home / "kernels", home, KernelLimits(), idle_timeout_s=1)
    try:
        k = pool.get("sleepy")
        k.start()
        deadline = time.monotonic() + 10
        while k.alive and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not k.alive
    finally:
        pool.close()


def test_sandbox_report_names_the_mechanism(kernel):
    report = kernel.sandbox_report()
    assert report["mechanism"] in ("landlock", "audit-hook") and report["capabilities_dropped"] is True
    assert report["memory_mb"] == 768


def test_audit_hook_fallback_blocks_writes_and_processes(home, tmp_path):
    pool = KernelPool(home / "kernels", home, KernelLimits(cell_timeout_s=10, sandbox="audit"), idle_timeout_s=60)
    try:
        k = pool.get("fallback")
        assert k.execute("print(1)").text() == "1\n"
        assert k.sandbox_report()["mechanism"] == "audit-hook"
        for code in (
            f"open({str(tmp_path / 'x')!r}, 'w')",
            "import os; os.system('true')",
            f"open({str(home / 'conversations' / 'private.json')!r}).read()",
            f"import os; os.listdir({str(home / 'conversations')!r})",
            "open('/proc/1/status').read()",  # other processes (the app's environ) are off limits
        ):
            r = k.execute(code)
            assert r.errors() and r.errors()[0]["ename"] == "PermissionError", (code, r.text())
        assert k.execute("open('fine.txt', 'w').write('x')").status == "ok"
    finally:
        pool.close()


def test_selfcheck_passes_here(pool):
    report, findings = check(pool)
    assert report["mechanism"] == ("landlock" if landlock_abi() >= 1 else "audit-hook"), report
    assert [(f.name, f.ok) for f in findings] == [(name, True) for name in PROBES] + [("no LIANDAN_* variables inside", True)]
    assert not any(s.startswith("selfcheck") for s in pool.sessions())


def test_strip_ansi():
    assert strip_ansi("\x1b[0;31mZeroDivisionError\x1b[0m: x") == "ZeroDivisionError: x"
