"""Start an IPython kernel inside a sandbox; run as a script, so it imports only the stdlib.

The limits are applied in the kernel process itself before ipykernel is imported, so the
code the model writes inherits them and cannot lift them:

1. memory: RLIMIT_DATA (heap and private mappings; unlike RLIMIT_AS it does not count
   the address space libraries reserve but never use) and RLIMIT_FSIZE (largest file it may write);
2. capabilities: all dropped and no_new_privs set, so even a root kernel cannot raise the
   limits again or regain privileges through a setuid program;
3. files (Landlock, Linux >= 5.13, unprivileged): writes only inside the working folder,
   reads anywhere except the app's data folder (other sessions' folders, conversations,
   knowledge bases), no signals to or ptrace of processes outside the sandbox (so no
   reading the app's /proc/<pid>/environ), inherited by every child process;
4. if Landlock is unavailable (old kernel, a seccomp profile that forbids it): a Python
   audit hook that refuses the same file operations and starting processes. That one is
   a speed bump, not a wall: ctypes or a C extension can step around it.

The outcome is written to `<work>/.liandan/sandbox.json` for the app to show.

5. descendants: the launcher forks. The parent stays a small supervisor (stdlib code only,
   never user code) marked as a *child subreaper* (`PR_SET_CHILD_SUBREAPER`, no privilege
   needed, so it works as root and as a plain user): a `setsid` child or a double-forked
   daemon started by the kernel is re-parented to it instead of to init, so it stays in
   the supervisor's process tree. When the kernel ends, the supervisor stops and kills
   every descendant; the app does the same from outside (`end_descendants`) before it
   kills the supervisor on shutdown or restart.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import resource
import signal
import sys
import time
from pathlib import Path

# --- Landlock ABI (include/uapi/linux/landlock.h); syscall numbers are the same on every arch.
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE = 1 << 13, 1 << 14
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE  # the rights a rule on a non-directory may hold
READ = EXECUTE | READ_FILE | READ_DIR
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER = 38, 24, 36


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def landlock_abi() -> int:
    return _libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))


def _readable_outside(protected: Path) -> list[Path]:
    """Everything except `protected`: the siblings of each of its ancestors (Landlock only allows)."""
    keep: list[Path] = []
    chain = [protected, *protected.parents]
    for parent, child in zip(chain[1:], chain[:-1]):
        try:
            siblings = [p for p in parent.iterdir() if p.name != child.name]
        except OSError:
            continue
        # A rule follows symlinks: one pointing at `protected` or above it would open it all up.
        keep += [p for p in siblings if not _overlaps(p.resolve(), protected)]
    return keep


def _overlaps(path: Path, protected: Path) -> bool:
    return path == protected or protected.is_relative_to(path) or path.is_relative_to(protected)


def apply_landlock(work: Path, protected: Path) -> int:
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available")
    handled = FILE_ONLY | READ_DIR | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG
    handled |= MAKE_SOCK | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM
    if abi >= 2:
        handled |= REFER
    if abi < 3:
        handled &= ~TRUNCATE
    attr = _RulesetAttr(handled_access_fs=handled, scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = _check(_libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)), "create ruleset")
    rules = [(p, READ) for p in _readable_outside(protected)] + [(work, handled), (Path("/dev/null"), READ | WRITE_FILE)]
    for path, access in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # vanished or unreadable: it stays forbidden, which is the safe side
        try:
            if not os.path.isdir(path):
                access &= FILE_ONLY
            rule = _PathBeneath(allowed_access=access & handled, parent_fd=fd)
            _check(_libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)), f"rule {path}")
        finally:
            os.close(fd)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_libc.syscall(SYS_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)), "restrict self")
    os.close(ruleset)
    return abi


def drop_capabilities() -> bool:
    """A root kernel could otherwise raise its own rlimits (CAP_SYS_RESOURCE)."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 and ctypes.get_errno() == 22:  # EINVAL: past the last cap
            break
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable for two 32-bit words: all zero
    ok = _libc.capset(header, data) == 0
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return ok


def install_audit_hook(work: Path, protected: Path) -> None:
    """Fallback without Landlock: refuse writes outside `work`, reads inside `protected`, new processes."""
    work_s, protected_s = str(work), str(protected)

    def inside(path: str, root: str) -> bool:
        return path == root or path.startswith(root + os.sep)

    def hook(event: str, args: tuple) -> None:
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.realpath(os.fsdecode(args[0]))
            mode, flags = args[1] if len(args) > 1 else "r", args[2] if len(args) > 2 else 0
            writes = any(c in str(mode or "") for c in "wax+") or bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if writes and not inside(path, work_s) and path != "/dev/null":
                raise PermissionError(f"Writing outside the working folder is not allowed: {path}")
            if inside(path, protected_s) and not inside(path, work_s):
                raise PermissionError(f"Reading the app's data folder is not allowed: {path}")
            other_process = re.match(r"/proc/(\d+)/", path)
            if other_process and int(other_process.group(1)) != os.getpid():
                raise PermissionError(f"Reading other processes is not allowed: {path}")
        elif event in ("os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if inside(path, protected_s) and not inside(path, work_s):
                raise PermissionError(f"Reading the app's data folder is not allowed: {path}")
        elif event in {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.truncate", "os.chmod", "os.chown", "shutil.rmtree", "shutil.move"}:
            for arg in args:
                if isinstance(arg, (str, bytes, os.PathLike)) and not inside(os.path.realpath(os.fsdecode(arg)), work_s):
                    raise PermissionError(f"Changing files outside the working folder is not allowed: {os.fsdecode(arg)}")
        elif event in {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "pty.spawn"}:
            raise PermissionError("Starting programs is disabled in this sandbox (Landlock is unavailable).")

    sys.addaudithook(hook)


def descendants(root: int) -> list[tuple[int, str]]:
    """(pid, state letter) of every process below `root`, read from /proc (threads excluded)."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue  # exited meanwhile
        fields = raw[raw.rindex(b")") + 2:].split()  # the name may hold spaces and ')'
        children.setdefault(int(fields[1]), []).append((int(entry), fields[0].decode()))
    found, pending = [], [root]
    while pending:
        for pid, state in children.get(pending.pop(), []):
            found.append((pid, state))
            pending.append(pid)
    return found


def end_descendants(root: int, rounds: int = 100) -> int:
    """Stop, then kill, every live process below `root`, until none is left; returns how many.

    SIGSTOP first so nothing forks while the tree is walked; processes orphaned meanwhile are
    re-parented to the nearest subreaper (the supervisor), so the next round finds them.
    """
    killed = 0
    for _ in range(rounds):
        alive = [pid for pid, state in descendants(root) if state not in ("Z", "X")]
        if not alive:
            break
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in alive:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass  # gone already
        killed += len(alive)
        time.sleep(0.01)
    return killed


def supervise(child: int) -> None:
    """The parent's whole life: reap orphans, and when the kernel ends, end everything below."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts go to the process group: they are the kernel's

    def stop(signum, frame) -> None:
        end_descendants(os.getpid())
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    code = 0
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            end_descendants(os.getpid())
    os._exit(code if code >= 0 else 128 - code)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--protect", type=Path, required=True, help="Folder the kernel may not read (the data home).")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--file-mb", type=int, required=True)
    parser.add_argument("--sandbox", choices=["auto", "audit"], default="auto")
    args, kernel_args = parser.parse_known_args()
    work, protected = args.work.resolve(), args.protect.resolve()
    os.chdir(work)

    capabilities_dropped = drop_capabilities()  # the supervisor needs none either
    subreaper = _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    child = os.fork() if subreaper else 0
    if child:
        supervise(child)  # never returns
    signal.signal(signal.SIGINT, signal.default_int_handler)

    memory = args.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    file_size = args.file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    report: dict = {"memory_mb": args.memory_mb, "file_mb": args.file_mb, "capabilities_dropped": capabilities_dropped,
                    "subreaper": subreaper}
    if args.sandbox == "auto":
        try:
            report.update(mechanism="landlock", abi=apply_landlock(work, protected))
        except OSError as exc:
            report.update(landlock_error=str(exc))
    if "mechanism" not in report:
        report.update(mechanism="audit-hook")
    # O_NOFOLLOW: in the audit-hook mode nothing but this stops a link planted in the folder.
    fd = os.open(work / ".liandan" / "sandbox.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(report))
    if report["mechanism"] == "audit-hook":
        install_audit_hook(work, protected)

    sys.argv = ["ipykernel_launcher", *kernel_args]
    sys.path = [p for p in sys.path if p and Path(p).resolve() != Path(__file__).resolve().parent]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
