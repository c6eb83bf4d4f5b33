"""One path policy for every reader of files that users (or their programs) put in a folder.

Why it exists: a folder handed to Liandan (a cloned repository, a server folder under
LIANDAN_KB_ROOTS, a kernel's work folder) may hold links planted by whoever wrote it. Followed
blindly, `env.md -> /proc/self/environ` puts the app's password and API key into a knowledge
base that chat and `/v1/chat/completions` can retrieve. The rules, in one place:

- A link found under a root is followed only when its target stays inside that root (files and
  folders alike); a link out is refused with a reason, never read.
- Liandan's data folder is never an input: a root inside it is refused, a root that contains it
  skips it (and links into it are refused), except for explicitly allowed folders inside it (a
  knowledge base's own uploads).
- Opening re-walks the checked path from the root one component at a time with `O_NOFOLLOW`
  (`openat`), so a component swapped for a link between the check and the read is refused instead
  of followed, and only regular files are read (a FIFO would block forever, a device never ends).
- A name component longer than 255 bytes (Linux's NAME_MAX) gets that reason, not `OSError`.

The messages are bilingual `UserError`s, so callers show them per file without translating.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UserError

NAME_MAX = 255  # bytes per path component on Linux filesystems
MAX_WALK_DEPTH = 64  # folder levels below a root; deeper is a trap (or a loop), not a document tree


class PathRefused(UserError):
    """This path must not be read (a link out of its folder, the data folder, a bad name...)."""


def name_too_long(name: str) -> PathRefused | None:
    """The refusal for a name with a component over NAME_MAX bytes, else None."""
    for part in name.replace("\\", "/").split("/"):
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > NAME_MAX:
            short = part[:40] + "…"
            return PathRefused("errors.paths.name_too_long_bytes", short=short, size=size, name_max=NAME_MAX)
    return None


def link_out(path: Path, target: str) -> PathRefused:
    return PathRefused("errors.paths.refused_link_outside_folder", name=path.name, target=target)


def data_folder(path: Path) -> PathRefused:
    return PathRefused("errors.paths.refused_inside_liandan_s", path=path)


def hidden_target(path: Path) -> PathRefused:
    return PathRefused("errors.paths.refused_link_hidden_skipped", name=path.name)


def not_regular(path: Path) -> PathRefused:
    return PathRefused("errors.paths.refused_regular_file_device", name=path.name)


def changed_while_reading(path: Path) -> PathRefused:
    return PathRefused("errors.paths.refused_changed_into_link", name=path.name)


def too_deep(path: Path) -> PathRefused:
    return PathRefused("errors.paths.skipped_nested_deeper_folder", path=path, max_walk_depth=MAX_WALK_DEPTH)


def unreadable(path: Path, exc: OSError) -> PathRefused:
    if exc.errno == errno.ENAMETOOLONG:
        refusal = name_too_long(str(path))
        if refusal is not None:
            return refusal
        return PathRefused("errors.paths.path_too_long_operating", name=path.name)
    reason = exc.strerror or str(exc)
    return PathRefused("errors.paths.read_file", reason=reason)


def inside(path: str | Path, root: str | Path) -> bool:
    """Lexical containment of two already-resolved paths (no I/O)."""
    path, root = os.fspath(path), os.fspath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def _real(path: str | Path) -> str:
    return os.path.realpath(os.fspath(path))


Keep = Callable[[str], bool]  # a walker's name filter: keep this folder / file name?


def _any(name: str) -> bool:
    return True


@dataclass(frozen=True)
class Found:
    """A file a walk found: `path` as found (under the root, maybe a link) and what reading it
    means, or `refused` with the reason it is not read."""

    path: Path
    refused: PathRefused | None = None


@dataclass(frozen=True)
class PathPolicy:
    """What may be read. `forbidden` folders (the data folder) are never inputs; `allowed` are
    exceptions inside them (a knowledge base's own uploads). Paths are resolved once, here."""

    forbidden: tuple[Path, ...] = ()
    allowed: tuple[Path, ...] = ()
    _forbidden: tuple[str, ...] = field(init=False, repr=False, default=())
    _allowed: tuple[str, ...] = field(init=False, repr=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_forbidden", tuple(_real(p) for p in self.forbidden))
        object.__setattr__(self, "_allowed", tuple(_real(p) for p in self.allowed))

    # --- checks -------------------------------------------------------------------
    def is_forbidden(self, real: str) -> bool:
        """`real` (a resolved path) lies in a forbidden folder and in no allowed one."""
        return any(inside(real, f) for f in self._forbidden) and not any(inside(real, a) for a in self._allowed)

    def root(self, path: Path) -> Path:
        """An explicitly named input (a CLI argument, an allowed server folder, an upload),
        resolved: the user named it, so a link they typed is followed, but never into the
        data folder. Raises PathRefused."""
        refusal = name_too_long(str(path))
        if refusal is not None:
            raise refusal
        real = _real(Path(path).expanduser())
        if self.is_forbidden(real):
            raise data_folder(Path(real))
        return Path(real)

    def check(self, path: Path, root: Path, keep_dir: Keep = _any, keep_file: Keep = _any, is_dir: bool = False) -> tuple[str, PathRefused | None]:
        """(the resolved target, the reason it may not be read or None) for `path` found under
        `root`. The walker's name filters apply to a link's target too, so a link cannot reach
        what the walk itself skips (`.git/config`, `.env`)."""
        refusal = name_too_long(str(path))
        if refusal is not None:
            return "", refusal
        real = _real(path)
        root_real = _real(root)
        if not inside(real, root_real):
            return real, link_out(path, real)
        if self.is_forbidden(real):
            return real, data_folder(Path(real))
        if real != os.path.abspath(path) and real != root_real:
            parts = Path(os.path.relpath(real, root_real)).parts
            folders, name = (parts, None) if is_dir else (parts[:-1], parts[-1])
            if not all(keep_dir(part) for part in folders) or (name is not None and not keep_file(name)):
                return real, hidden_target(path)
        return real, None

    # --- reading ------------------------------------------------------------------
    def open_fd(self, path: Path, root: Path, keep_dir: Keep = _any, keep_file: Keep = _any) -> int:
        """A read-only descriptor of `path` (found under `root`), or PathRefused. The checked
        target is opened component by component from the root with O_NOFOLLOW."""
        real, refusal = self.check(path, root, keep_dir, keep_file)
        if refusal is not None:
            raise refusal
        root_real = _real(root)
        parts = Path(os.path.relpath(real, root_real)).parts if real != root_real else ()
        flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            if not parts:  # the root itself is the file (an explicitly named file)
                fd = os.open(real, flags | os.O_NONBLOCK)
            else:
                fd = os.open(root_real, os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY)
                for part in parts[:-1]:
                    try:
                        nxt = os.open(part, flags | os.O_DIRECTORY, dir_fd=fd)
                    finally:
                        os.close(fd)
                    fd = nxt
                try:
                    nxt = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=fd)
                finally:
                    os.close(fd)
                fd = nxt
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise changed_while_reading(path) from exc
            raise unreadable(path, exc) from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise not_regular(path)
        os.set_blocking(fd, True)
        return fd

    def read_bytes(self, path: Path, root: Path, limit: int, keep_dir: Keep = _any, keep_file: Keep = _any) -> bytes:
        """At most `limit` + 1 bytes of `path` (so a caller sees that it is over `limit`)."""
        fd = self.open_fd(path, root, keep_dir, keep_file)
        with os.fdopen(fd, "rb") as handle:
            return handle.read(limit + 1)

    # --- walking ------------------------------------------------------------------
    def walk(self, root: Path, keep_dir: Keep = _any, keep_file: Keep = _any) -> Iterator[Found]:
        """Files under `root` in sorted order, each to read or with the reason it is not. A link to
        a file inside the root is read (as its own name); a link out of the root or into the data
        folder is refused, for files and folders alike; a link to a folder inside the root is not
        descended (the walk reaches that folder by its own path, so nothing is found twice and no
        link loop can trap it); the data folder, where the root contains it, is named as skipped.
        Names failing `keep_dir` / `keep_file` are left out silently (hidden files, unsupported types)."""
        stack: list[tuple[Path, int]] = [(Path(root), 0)]
        while stack:
            folder, depth = stack.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as exc:
                yield Found(folder, unreadable(folder, exc))
                continue
            subfolders: list[Path] = []
            for entry in entries:
                path = Path(entry.path)
                try:
                    is_link = entry.is_symlink()
                    is_dir = entry.is_dir(follow_symlinks=is_link)
                except OSError as exc:
                    yield Found(path, unreadable(path, exc))
                    continue
                if is_dir:
                    if not keep_dir(entry.name):
                        continue
                    refusal = self.check(path, root, keep_dir, keep_file, is_dir=True)[1]
                    if refusal is not None:
                        yield Found(path, refusal)
                    elif is_link:
                        continue
                    elif depth + 1 > MAX_WALK_DEPTH:
                        yield Found(path, too_deep(path))
                    else:
                        subfolders.append(path)
                elif keep_file(entry.name):
                    yield Found(path, self.check(path, root, keep_dir, keep_file)[1] if is_link else None)
            stack.extend((p, depth + 1) for p in reversed(subfolders))
