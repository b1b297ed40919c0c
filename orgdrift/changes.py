"""`check --changed-from GIT_REF`: which declarations a change touches.

The spec files are read at GIT_REF with git itself (`git show REF:path`) and loaded like the
working tree's, then each declaration is compared *as a value*, after interpolation and
defaults: a moved, reordered or reformatted entry is no change, while an edit to `defaults` or a
file's `policy` changes every declaration it applies to. A change to the tenant or to the
unmanaged-organization policy puts every organization in scope.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orgdrift.errors import InputError, UsageError
from orgdrift.models import OrgDecl, Spec

_LOCATION_FIELDS = frozenset({"location", "locations", "flag_locations"})


@dataclass(frozen=True, slots=True)
class ChangeScope:
    """What a change since `ref` puts in scope."""

    ref: str
    everything: bool  # the tenant or a spec-wide policy changed, or the old spec is unreadable
    changed: frozenset[str]  # identities (see `identity`) of declarations added or changed
    removed: tuple[str, ...]  # labels of declarations the change removed
    reason: str  # one sentence for reports: why this scope

    def selects(self, decl: OrgDecl) -> bool:
        return self.everything or identity(decl) in self.changed


def identity(decl: OrgDecl) -> str:
    """How a declaration is recognised across revisions: its id, else its name."""
    return f"id:{decl.id}" if decl.id is not None else f"name:{decl.name}"


def declaration_value(decl: OrgDecl) -> str:
    """`decl` as a canonical JSON text without source locations; connections in label order."""
    return json.dumps(_plain(decl), sort_keys=True, ensure_ascii=False, default=str)


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        plain = {
            name: _plain(getattr(value, name))
            for name in value.__dataclass_fields__
            if name not in _LOCATION_FIELDS
        }
        if isinstance(value, OrgDecl) and value.connections is not None:
            plain["connections"] = sorted(plain["connections"], key=json.dumps)
        return plain
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def compare_specs(old: Spec | None, new: Spec, ref: str) -> ChangeScope:
    """The scope of the change from `old` (None: unreadable at `ref`) to `new`."""
    if old is None:
        return _everything(ref, f"the spec could not be read at {ref}")
    tenant = (new.tenant_domain, new.unmanaged_organizations)
    if (old.tenant_domain, old.unmanaged_organizations) != tenant:
        why = f"the tenant or the unmanaged-organization policy changed since {ref}"
        return _everything(ref, why)
    before = {identity(d): declaration_value(d) for d in old.organizations}
    now = {identity(d) for d in new.organizations}
    changed = frozenset(
        identity(d) for d in new.organizations if before.get(identity(d)) != declaration_value(d)
    )
    removed = tuple(sorted(d.label for d in old.organizations if identity(d) not in now))
    total = len(new.organizations)
    reason = (
        f"{len(changed)} of {total} organization{'s' if total != 1 else ''} "
        f"added or changed since {ref}"
    )
    if removed:
        reason += f", {len(removed)} removed"
    return ChangeScope(ref, False, changed, removed, reason)


def _everything(ref: str, why: str) -> ChangeScope:
    return ChangeScope(ref, True, frozenset(), (), f"{why}: every organization is in scope")


# --- git -----------------------------------------------------------------------------------


class _Linked(Exception):
    """A spec path is, or passes through, a symbolic link (now or at the ref)."""


def files_at(ref: str, paths: Sequence[str]) -> list[tuple[str, bytes]]:
    """Each spec file's bytes at `ref` (files that did not exist there are left out), read at
    the path as written, relative to its repository: the same entry git tracks.

    Raises UsageError (exit 2) outside a git repository or for a ref git does not know, and
    _Linked when a spec path is a symbolic link in the working tree or at `ref` (git stores a
    link as its target path: what it points to is another file, so no comparison is safe).
    """
    found: list[tuple[str, bytes]] = []
    for path in paths:
        written = Path(os.path.normpath(Path(path).absolute()))  # no link followed
        outside = (
            f"{path} is not in a git repository, so --changed-from has nothing to compare with"
        )
        shown = _git(written.parent, "rev-parse", "--show-toplevel", what=outside)
        top = Path(shown.decode().rstrip("\n")).resolve()
        unknown = f"--changed-from {ref}: git knows no such commit in {top}"
        _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", what=unknown)
        relative = _relative(written, top)
        entry = _git(top, "ls-tree", "-z", f"{ref}^{{commit}}", "--", relative, what="")
        if not entry:
            continue  # the file is new since `ref`: all of its declarations are added
        mode, _, rest = entry.partition(b" ")
        if mode == b"120000":
            raise _Linked(f"{path} was a symbolic link at {ref}")
        blob = rest.split(b"\t", 1)[0].split()[-1].decode()
        found.append((path, _git(top, "cat-file", "blob", blob, what="")))
    return found


def _relative(written: Path, top: Path) -> str:
    """`written` relative to the repository root `top`, as git names it; _Linked when a part of
    it below the root is a symbolic link (the working tree then shows another file)."""
    for root in (written.parent, *written.parent.parents):
        if root.resolve() == top:
            parts = written.relative_to(root).parts
            for depth in range(1, len(parts) + 1):
                if root.joinpath(*parts[:depth]).is_symlink():
                    raise _Linked(f"{'/'.join(parts[:depth])} is a symbolic link")
            return "/".join(parts)
    raise _Linked(f"{written} is reached through a symbolic link")


def _git(cwd: Path, *args: str, what: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False, timeout=60)
    except FileNotFoundError:
        raise UsageError("--changed-from needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {args[0]} did not answer within 60 s") from None
    if done.returncode != 0:
        raise UsageError(what or f"git {args[0]} failed")
    return done.stdout


def changed_scope(ref: str, paths: Sequence[str], new: Spec, env: Mapping[str, str]) -> ChangeScope:
    from orgdrift.spec import load_spec_sources

    try:
        old: Spec | None = load_spec_sources(files_at(ref, paths), env)
    except _Linked as linked:
        return _everything(ref, f"{linked}, so the change cannot be compared as values")
    except InputError:  # the spec cannot be loaded at `ref`
        old = None
    return compare_specs(old, new, ref)
