"""Probe a real kernel for the sandbox's promises on this machine (`python -m core sandbox-check`).

Deployments differ (kernel version, container seccomp profile), so an admin can see what
actually holds here before opening the code interpreter to others.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.interpreter.kernel import KernelPool

PROBES = {
    "write outside its folder is refused": "open({outside!r}, 'w')",
    "the data folder is unreadable": "import os; os.listdir({home!r})",
    # The app's pid, not the kernel's parent: that is the launcher's supervisor now.
    "the app's environment is unreadable": "open('/proc/{app_pid}/environ', 'rb').read()",
    "the memory cap holds": "bytearray({too_much})",
    "the memory cap cannot be lifted": "import resource; resource.setrlimit(resource.RLIMIT_DATA, (-1, -1))",
}


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str


def check(pool: KernelPool) -> tuple[dict, list[Finding]]:
    """(the kernel's sandbox report, one finding per promise); the probe session is removed after."""
    session = f"selfcheck-{uuid.uuid4().hex[:8]}"
    kernel = pool.get(session)
    values = {"app_pid": os.getpid(), "outside": str(pool.protect.parent / f"{session}.txt"), "home": str(pool.protect), "too_much": (pool.limits.memory_mb + 64) * 1024 * 1024}
    try:
        kernel.start()
        report = kernel.sandbox_report()
        findings = []
        for name, code in PROBES.items():
            result = kernel.execute(code.format(**values), timeout=20)
            errors = result.errors()
            detail = f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else (result.text().strip() or "no error")
            findings.append(Finding(name, bool(errors), detail[:160]))
        result = kernel.execute("import os; print(sorted(k for k in os.environ if k.startswith('LIANDAN_')))")
        findings.append(Finding("no LIANDAN_* variables inside", result.text().strip() == "[]", result.text().strip()))
        return report, findings
    finally:
        Path(values["outside"]).unlink(missing_ok=True)  # only there if the first probe failed
        pool.discard(session, delete_files=True)
