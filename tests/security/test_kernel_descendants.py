"""Issue 13 case 6: a `setsid` child (or a double-forked daemon) outlived the kernel's shutdown.

jupyter_client stops a kernel by killing its process group; `setsid` leaves the group, and a
double fork re-parents the daemon to init, out of every tree. The launcher's supervisor is a
child subreaper (no privilege needed), so these tests start such processes from a cell and
check that none is left after shutdown, restart, or the kernel dying on its own: as the
current user, and (when the tests run as root) again as an unprivileged user via `setpriv`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from core.interpreter.launcher import landlock_abi
from tests.security.kernel_helpers import make_pool, processes_with

REPO = Path(__file__).resolve().parents[2]

# Three ways out of the process group / tree, each tagged by a unique sleep length.
ESCAPES = """
import subprocess, sys
subprocess.Popen(['setsid', 'sleep', '{t1}'])
subprocess.Popen(['sh', '-c', '(setsid sleep {t2} &) ; exit 0']).wait()
subprocess.Popen([sys.executable, '-c', 'import os, time\\nif os.fork(): os._exit(0)\\nos.setsid()\\nif os.fork(): os._exit(0)\\ntime.sleep({t3})']).wait()
print('started')
"""


def _escape(kernel) -> list[str]:
    tag = f"{uuid.uuid4().int % 10**6:06d}"
    markers = [f"1000.{tag}1", f"1000.{tag}2", f"1000.{tag}3"]
    result = kernel.execute(ESCAPES.format(t1=markers[0], t2=markers[1], t3=markers[2]), timeout=20)
    assert result.text() == "started\n", result.text()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(processes_with(m) for m in markers):
        time.sleep(0.1)
    assert all(processes_with(m) for m in markers), "the escapes did not start"
    return markers


def _survivors(markers: list[str], wait_s: float = 5.0) -> list[str]:
    deadline = time.monotonic() + wait_s
    while True:
        left = [m for m in markers if processes_with(m)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def scenario(home: Path) -> dict[str, list[str]]:
    """Escapes after shutdown, restart and a kernel that dies by itself; {case: surviving markers}."""
    pool = make_pool(home)
    found = {}
    try:
        kernel = pool.get("escaper")
        markers = _escape(kernel)
        kernel.shutdown()
        found["shutdown"] = _survivors(markers)

        markers = _escape(kernel)
        kernel.restart()
        found["restart"] = _survivors(markers)
        assert kernel.execute("print(1)").text() == "1\n"

        markers = _escape(kernel)
        died = kernel.execute("import os; os._exit(1)", timeout=20)
        found["died"] = _survivors(markers) if died.status == "died" else [f"status {died.status}"]

        markers = _escape(kernel)
        pool.close()
        found["pool closed"] = _survivors(markers)
    finally:
        pool.close()
    return found


def test_no_descendant_outlives_the_kernel(tmp_path):
    assert scenario(tmp_path / "home") == {"shutdown": [], "restart": [], "died": [], "pool closed": []}


def test_a_plain_cell_child_still_ends_with_the_kernel(tmp_path):
    pool = make_pool(tmp_path / "home")
    try:
        kernel = pool.get("plain")
        marker = f"1000.{uuid.uuid4().int % 10**6:06d}9"
        kernel.execute(f"import subprocess; subprocess.Popen(['sleep', '{marker}'])")
        assert processes_with(marker)
        kernel.shutdown()
        assert _survivors([marker]) == []
    finally:
        pool.close()


@pytest.mark.skipif(landlock_abi() < 6, reason="Landlock signal scoping needs ABI 6 (Linux 6.12)")
def test_the_kernel_cannot_kill_its_supervisor_to_orphan_its_children(tmp_path):
    """Killing the subreaper would re-parent the kernel's processes to init, out of reach."""
    pool = make_pool(tmp_path / "home")
    try:
        kernel = pool.get("regicide")
        kernel.start()
        supervisor = kernel._km.provisioner.pid
        result = kernel.execute(f"import os, signal\nos.kill({supervisor}, signal.SIGKILL)")
        assert result.errors() and result.errors()[0]["ename"] == "PermissionError", result.text()
        assert kernel.alive and kernel.execute("print('fine')").text() == "fine\n"
    finally:
        pool.close()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv to switch to an unprivileged user")
def test_no_descendant_outlives_the_kernel_as_a_plain_user():
    scratch = Path(tempfile.mkdtemp(prefix="liandan-plain-user-"))  # pytest's tmp_path is root-only (0700)
    try:
        os.chmod(scratch, 0o755)
        home = scratch / "home"
        home.mkdir()
        os.chown(home, 65534, 65534)
        _run_as_nobody(home)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _python_for_nobody(scratch: Path, env: dict) -> str | None:
    """An interpreter the unprivileged user can run with this venv's packages, or None.

    The shared venv's interpreter may live under /root (0700); then a no-pip venv made from a
    system Python of the same version, with a .pth pointing at our site-packages, serves.
    """
    probe = "import subprocess, sys; import core, ipykernel; subprocess.run([sys.executable, '-c', 'import ipykernel'], check=True)"
    if subprocess.run([*AS_NOBODY, sys.executable, "-c", probe], cwd=REPO, capture_output=True, env=env).returncode == 0:
        return sys.executable
    system = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/bin:/usr/local/bin")
    if system is None:
        return None
    venv = scratch / "venv"
    if subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], capture_output=True).returncode != 0:
        return None
    site = next((venv / "lib").glob("python*/site-packages"))
    ours = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "liandan-under-test.pth").write_text("\n".join(ours) + "\n")
    python = str(venv / "bin" / "python")
    if subprocess.run([*AS_NOBODY, python, "-c", probe], cwd=REPO, capture_output=True, env=env).returncode != 0:
        return None
    return python


def _run_as_nobody(home: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "HF_HUB_OFFLINE": "1"}
    python = _python_for_nobody(home.parent, env)
    if python is None:
        pytest.skip("no Python interpreter with this venv's packages is runnable by an unprivileged user here")
    done = subprocess.run([*AS_NOBODY, python, "-m", "tests.security.test_kernel_descendants", str(home)],
                          cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"uid": 65534, "found": {"shutdown": [], "restart": [], "died": [], "pool closed": []}}


if __name__ == "__main__":  # run by the plain-user test above, as that user
    print(json.dumps({"uid": os.geteuid(), "found": scenario(Path(sys.argv[1]))}))
