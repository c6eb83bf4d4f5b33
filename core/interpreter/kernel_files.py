"""The app's own reads and writes inside a kernel's folder, never through a link.

The kernel's code owns its folder: it can plant `env.txt -> /proc/self/environ`, a link
to the data folder, a FIFO, or swap a sub-folder for a link between two of the app's
calls. The app runs unsandboxed (its environment holds the password and API key, it can
read the data folder), so everything it does in a kernel folder goes through here:

- listing walks with `os.scandir` and `lstat`, never descends into a linked folder and
  offers only regular files;
- reading opens each path component relative to the previous one with `O_NOFOLLOW`
  (`openat`), so no component, the last included, may be a link, and checks `fstat` on
  the open descriptor (a FIFO or device is refused without blocking, `O_NONBLOCK`);
- writing creates a new file with `O_CREAT | O_EXCL | O_NOFOLLOW` next to the target and
  renames it over the name, which replaces a planted link instead of writing through it.

This is the kernel-side counterpart of the knowledge base's path policy; the two may be
unified later, but this one knows about the kernel's private `.liandan` state.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from pathlib import Path

from core.errors import UserError
from core.i18n import msg

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_SCANNED = 20_000  # entries looked at per listing: a cell that makes a million files must not stall every page run


def _not_a_file(relative: str) -> UserError:
    return UserError("errors.kernel_files.file_session", relative=relative)


def _parts(relative: str) -> list[str]:
    parts = [p for p in relative.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise _not_a_file(relative)
    return parts


def _open_dir(root: Path, parts: list[str], relative: str) -> int:
    """A descriptor of `root/parts...`, refusing a link anywhere below `root` (root itself is the app's)."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts:
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:  # ELOOP (a link), ENOTDIR, ENOENT
                raise _not_a_file(relative) from exc
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def list_files(root: Path, skip_hidden: bool = True) -> list[tuple[str, os.stat_result]]:
    """(relative posix path, lstat) of each regular file under `root`; links are neither listed nor entered."""
    found: list[tuple[str, os.stat_result]] = []
    pending = [""]
    scanned = 0
    while pending and scanned < MAX_SCANNED:
        rel_dir = pending.pop()
        try:
            with os.scandir(root / rel_dir if rel_dir else root) as entries:
                for entry in entries:
                    scanned += 1
                    if scanned > MAX_SCANNED:
                        break
                    if skip_hidden and entry.name.startswith("."):
                        continue
                    rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue  # vanished meanwhile
                    if stat.S_ISDIR(info.st_mode):
                        pending.append(rel)
                    elif stat.S_ISREG(info.st_mode):
                        found.append((rel, info))
        except OSError:
            continue  # a folder swapped for something else between the listing and now
    return found


def read_file(root: Path, relative: str, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file below `root`, opened without following any link."""
    parts = _parts(relative)
    dir_fd = _open_dir(root, parts[:-1], relative)
    try:
        try:
            fd = os.open(parts[-1], _READ_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise _not_a_file(relative) from exc
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _not_a_file(relative)
        if max_bytes is not None and info.st_size > max_bytes:
            raise UserError(
                msg("errors.kernel_files.too_large_download_mb", relative=relative, st_size=info.st_size / 1e6),
                msg("errors.kernel_files.too_large_download_mb.hint", max_bytes=max_bytes / 1e6),
            )
        data = handle.read(max_bytes + 1 if max_bytes is not None else -1)
        if max_bytes is not None and len(data) > max_bytes:  # grew after the fstat
            raise _not_a_file(relative)
        return data


def write_file(root: Path, name: str, data: bytes) -> Path:
    """Write `root/name` (a plain name) as a new regular file; a link already there is replaced, not followed."""
    if not name or "/" in name or name in (".", ".."):
        raise _not_a_file(name)
    dir_fd = os.open(root, _DIR_FLAGS)
    try:
        tmp = f".upload-{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)  # rename replaces a link, never follows it
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
            raise
    except IsADirectoryError as exc:
        raise UserError("errors.kernel_files.folder_kernel_s_working", name=name) from exc
    finally:
        os.close(dir_fd)
    return root / name


def real_dir(path: Path) -> None:
    """Make `path` a real directory: a link or file planted in its place is removed first (never followed)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        path.mkdir(parents=True)
        return
    if stat.S_ISDIR(info.st_mode):
        return
    os.unlink(path)  # a link (to anywhere) or a file: remove the name itself
    path.mkdir()


def remove_if_not_regular(path: Path) -> None:
    """Unlink `path` unless it is a regular file (a planted link, FIFO...), so the next writer creates it."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path, ignore_errors=True)  # never follows the links inside
        else:
            os.unlink(path)
