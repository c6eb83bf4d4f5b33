"""`python -m core sandbox-check`: what the code interpreter's sandbox enforces on this machine."""

from __future__ import annotations

from core.cli.common import runtime_for
from core.interpreter.selfcheck import check


def register(subparsers) -> None:
    p = subparsers.add_parser("sandbox-check", help="Start a code-interpreter kernel and probe its sandbox.")
    p.set_defaults(func=run)


def run(args) -> int:
    rt = runtime_for()
    try:
        report, findings = check(rt.kernels)
    finally:
        rt.kernels.close()
    print(f"mechanism: {report.get('mechanism', '?')}" + (f" (Landlock ABI {report['abi']})" if "abi" in report else ""))
    if "landlock_error" in report:
        print(f"Landlock unavailable: {report['landlock_error']} (the weaker audit hook is used)")
    print(f"capabilities dropped: {report.get('capabilities_dropped')}; memory cap: {report.get('memory_mb')} MB")
    for f in findings:
        print(f"{'PASS' if f.ok else 'FAIL'}  {f.name}  ({f.detail})")
    return 0 if all(f.ok for f in findings) and report.get("mechanism") == "landlock" else 1
