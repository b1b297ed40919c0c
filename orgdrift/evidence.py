"""Evidence that binds a run's verdict to its inputs: one canonical JSON and its digest, the
live state's digest, the spec files' commit, the CI run, the exceptions applied.

Canonical JSON is RFC 8785 (JSON Canonicalization Scheme, https://www.rfc-editor.org/rfc/rfc8785):
object keys sorted by UTF-16 code units, no whitespace, numbers in their ECMAScript form. The
live state's digest is the sha256 of the canonical JSON of its snapshot document
(`snapshot.snapshot_document`): the same for a state read from the tenant and for the snapshot
file written from that read and read back with `check --live`, whatever the file's indentation.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import astuple, dataclass, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import rfc8785

from orgdrift.errors import Location
from orgdrift.models import LiveState, Report, SnapshotFile, SpecFile
from orgdrift.snapshot import snapshot_document


def canonical_json(value: Any) -> bytes:
    """`value` as RFC 8785 canonical JSON (UTF-8). An integer past 2**53 (the reads allow 30
    digits) is canonicalized as the IEEE 754 double it stands for, as RFC 8785 section 3.2.2.3
    has every number, and as an ECMAScript verifier reading the same JSON text gets it."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.IntegerDomainError:
        return rfc8785.dumps(_doubles(value))


def _doubles(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _doubles(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_doubles(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53 - 1:
        return float(value)
    return value


def live_state_sha256(state: LiveState) -> str:
    """The digest of a live state: sha256 of its snapshot document's canonical JSON."""
    return hashlib.sha256(canonical_json(snapshot_document(state))).hexdigest()


def written_snapshot(report: Report, path: str, text: str) -> Report:
    """`report` recording the snapshot file it wrote (`text`, UTF-8, at `path`)."""
    snapshot = SnapshotFile(path, hashlib.sha256(text.encode("utf-8")).hexdigest(), "written")
    snapshots = (*report.evidence.snapshots, snapshot)
    return replace(report, evidence=replace(report.evidence, snapshots=snapshots))


def ci_run_url(env: Mapping[str, str]) -> str | None:
    """The CI run's URL from the variables GitHub Actions and GitLab CI set, else None.

    GitHub: https://docs.github.com/actions/reference/variables-reference (GITHUB_SERVER_URL,
    GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT); GitLab: CI_JOB_URL,
    https://docs.gitlab.com/ci/variables/predefined_variables/."""
    server, repo, run = (
        env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repo and run:
        attempt = env.get("GITHUB_RUN_ATTEMPT", "")
        tail = f"/attempts/{attempt}" if attempt else ""
        return f"{server.rstrip('/')}/{repo}/actions/runs/{run}{tail}"
    return env.get("CI_JOB_URL") or None


def with_commits(files: tuple[SpecFile, ...]) -> tuple[SpecFile, ...]:
    """The spec files with the commit of the repository holding each (one `git` per folder)."""
    commit = cache(_git_commit)
    return tuple(replace(spec, commit=commit(Path(spec.path).resolve().parent)) for spec in files)


def _git_commit(folder: Path) -> str | None:
    """The commit checked out in the git repository that holds `folder`; None outside one (or
    without git)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD"],
            cwd=folder,
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.decode("ascii", "replace").strip()
    return commit if done.returncode == 0 and commit else None


@dataclass(frozen=True, slots=True)
class AppliedException:
    """An exception of the spec that accepted findings in this run."""

    id: str  # where it is declared, `file:line`: unique within a spec
    reason: str
    owner: str | None
    expires: date
    source: Location
    findings: int  # how many findings it accepted


def exceptions_applied(report: Report) -> tuple[AppliedException, ...]:
    """The exceptions that accepted at least one finding, in declaration order."""
    counts = Counter(f.accepted for f in report.findings if f.accepted is not None)
    return tuple(
        AppliedException(str(a.source), a.reason, a.owner, a.expires, a.source, count)
        for a, count in sorted(counts.items(), key=lambda item: astuple(item[0].source))
    )
