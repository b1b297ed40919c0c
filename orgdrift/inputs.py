"""Input files, read safely: regular files only, bounded before anything is allocated, and spec
files confined to the tree that holds them.

A spec file and its name come from whoever wrote the pull request, so a spec path is confined:
it must resolve (symlinks followed) to a file inside its tree: the nearest directory above the
path as written that holds a `.git`, else the directory the path names. A symlink that leaves
the tree (to `/etc/passwd`, to a credentials file, into site-packages) is refused without being
opened, and the refusal does not say where it points. Files named by an option (`--live`,
`--baseline`, `--since`, `--state`, the reports of `orgdrift report`) are chosen by whoever wrote
the CI configuration; they may live anywhere, but they too must be regular files within a size
limit. A FIFO, a device or a directory is refused before it is read, so nothing blocks or reads
forever.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_CHUNK = 1024 * 1024


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class RefusedInput(OSError):
    """An input that is not read: its `strerror` says why (callers render OSError the same)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.strerror = reason


def read_input(path: str, limit: int, *, confined: bool = False) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (more is refused).

    `confined`: `path` is untrusted (a spec file), so it must resolve inside its tree.
    Raises OSError (RefusedInput for what is refused here).
    """
    target = confined_path(path) if confined else path
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(target, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
            raise RefusedInput(f"not a regular file ({kind})")
        if info.st_size > limit:
            raise RefusedInput(f"file is larger than {limit} bytes")
        return _read_bounded(fd, limit)
    finally:
        os.close(fd)


def _read_bounded(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:  # the file grew after fstat
            raise RefusedInput(f"file is larger than {limit} bytes")


def tree_of(path: str) -> Path:
    """The tree a spec path belongs to, resolved: the nearest directory above it, as written,
    that holds a `.git`, else the nearest directory above it. A directory reached through a
    symlink that leaves its parent (`auth0 -> /elsewhere`) is no candidate: a link would
    otherwise choose the tree it is checked against."""
    written = Path(os.path.normpath(Path(path).absolute())).parent  # as written: no link followed
    honest = [d for d in (written, *written.parents) if _in_place(d)]
    for directory in honest:
        if (directory / ".git").exists():
            return directory.resolve()
    return honest[0].resolve() if honest else Path(written.anchor)


def _in_place(directory: Path) -> bool:
    """`directory` resolves to somewhere inside its parent (as written) resolved."""
    return directory.resolve().is_relative_to(directory.parent.resolve())


def confined_path(path: str) -> str:
    """`path` resolved, when it stays inside its tree; else RefusedInput."""
    resolved = Path(os.path.realpath(path))
    if not resolved.is_relative_to(tree_of(path)):
        raise RefusedInput("a symbolic link to a file outside the repository (refused)")
    return str(resolved)
