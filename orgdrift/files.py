"""Output files: every target checked before the first request, then written whole or not at all.

A regular file is written to a temporary file beside it and renamed over it, with the mode the
umask gives a new file (an existing file keeps its mode). A non-regular target (`/dev/stdout`, a
pipe) is written through, never replaced. `-` means stdout; the CLI writes that itself.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from orgdrift.errors import UsageError

STDOUT = "-"


def check_targets(targets: Sequence[str], inputs: Sequence[str]) -> None:
    """Refuse (exit 2) a target that is an input, is named twice, or cannot be written."""
    inputs_seen = {_identity(path) for path in inputs if path and path != STDOUT}
    seen: dict[object, str] = {}
    for path in targets:
        key = STDOUT if path == STDOUT else _identity(path)
        if key in inputs_seen:
            raise UsageError(f"{path} is an input of this run; refusing to overwrite it")
        if key in seen:
            raise UsageError(f"{path} is named as an output twice (also as {seen[key]})")
        seen[key] = path
        if path != STDOUT:
            _check_writable(path)


def _identity(path: str) -> object:
    """The same for two spellings of one file: its inode when it exists, else its real path."""
    try:
        info = Path(path).stat()
    except OSError:
        return os.path.realpath(path)
    return (info.st_dev, info.st_ino)


def _check_writable(path: str) -> None:
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise UsageError(f"cannot write {path}: permission denied")
        if not stat.S_ISREG(target.stat().st_mode):
            return  # written through
    directory = target.parent
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: directory {directory} is not writable")


def write_atomic(path: str, text: str) -> None:
    """Write `text` to `path`: replace a regular file atomically, write through anything else."""
    target = Path(os.path.realpath(path))  # a symlink stays a symlink to the new file
    try:
        info: os.stat_result | None = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_through(path, target, text)
        return
    mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        Path(tmp).replace(target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        raise


def _write_through(path: str, target: Path, text: str) -> None:
    try:
        with target.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def repo_paths(files: Iterable[str], env: Mapping[str, str]) -> dict[str, str]:
    """Each file as given -> its path relative to the repository root (POSIX), for SARIF and
    annotations. The root is $GITHUB_WORKSPACE in GitHub Actions, else the nearest directory
    with a `.git`, else the working directory. A file outside the root keeps its absolute path.
    Paths are taken as named, never resolved: a spec that is a symlink is shown where it is.
    """
    cwd = Path.cwd().resolve()
    workspace = env.get("GITHUB_WORKSPACE")
    if workspace:
        root = Path(workspace).resolve()
    else:
        root = next((d for d in (cwd, *cwd.parents) if (d / ".git").exists()), cwd)
    paths = {}
    for file in set(files):
        if not file:
            continue
        absolute = Path(os.path.normpath(cwd / file))  # as named: a symlink's target is not shown
        try:
            paths[file] = absolute.relative_to(root).as_posix()
        except ValueError:
            paths[file] = absolute.as_posix()
    return paths
