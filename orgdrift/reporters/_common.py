"""Helpers shared by the reporters: stable ordering, counts, the summary sentence, JSON values.

Pure functions over `Report`; no I/O.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from orgdrift.errors import Location, Problem
from orgdrift.models import (
    Basis,
    Finding,
    OrgResult,
    OrgStatus,
    Report,
    Severity,
    SpecFile,
    Status,
)
from orgdrift.plan import Plan

TOOL_NAME = "orgdrift"


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How to render: the CLI decides colour (TTY, NO_COLOR, --color) and verbosity, and where
    the repository root is: `paths` maps a file as given to its path relative to that root."""

    color: bool = False
    verbose: bool = False
    paths: Mapping[str, str] = field(default_factory=dict)
    plan: Plan | None = None  # the requests that would fix the findings (Markdown, HTML)

    def repo_path(self, file: str) -> str:
        """`file` relative to the repository root (as given when it is outside the root)."""
        return self.paths.get(file, file)


# --- ordering --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _file_ranks(spec_files: tuple[SpecFile, ...]) -> Mapping[str, int]:
    return MappingProxyType({spec.path: index for index, spec in enumerate(spec_files)})


def _location_key(report: Report, source: Location | None) -> tuple[int, int, str, int, int]:
    """Spec files in the order given (unknown files after, by name); no source sorts last."""
    if source is None:
        return (1, 0, "", 0, 0)
    ranks = _file_ranks(report.spec_files)
    return (0, ranks.get(source.file, len(ranks)), source.file, source.line, source.column)


def ordered_findings(report: Report, org: OrgResult | None = None) -> list[Finding]:
    """The findings of `org` (else every finding) by source file, line, column, organization,
    path (sourceless last)."""
    return sorted(
        report.findings if org is None else org.findings,
        key=lambda f: (*_location_key(report, f.source), f.organization, f.path, f.kind.value),
    )


def ordered_organizations(report: Report) -> list[OrgResult]:
    """Organizations by declaration (file, line), undeclared ones last by name then id."""
    return sorted(
        report.organizations,
        key=lambda org: (*_location_key(report, org.source), org.label, org.id or ""),
    )


# --- counts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counts:
    organizations: int
    declared: int
    in_sync: int
    drifted: int
    missing: int
    unmanaged: int
    findings: int
    errors: int  # findings that fail the check (error severity, not accepted, not known)
    warnings: int
    accepted: int  # accepted by an exception in the spec
    known: int  # already in the baseline report
    failing: int  # organizations with at least one failing finding
    reported: int  # organizations with at least one finding

    @classmethod
    def of(cls, report: Report) -> Counts:
        statuses = [org.status for org in report.organizations]
        findings = report.findings
        return cls(
            organizations=len(statuses),
            declared=len(statuses) - statuses.count(OrgStatus.UNMANAGED),
            in_sync=statuses.count(OrgStatus.IN_SYNC),
            drifted=statuses.count(OrgStatus.DRIFTED),
            missing=statuses.count(OrgStatus.MISSING),
            unmanaged=statuses.count(OrgStatus.UNMANAGED),
            findings=len(findings),
            errors=sum(f.fails for f in findings),
            warnings=sum(f.severity is Severity.WARNING for f in findings),
            accepted=sum(f.accepted is not None for f in findings),
            known=sum(f.known and f.accepted is None for f in findings),
            failing=sum(map(org_fails, report.organizations)),
            reported=sum(bool(org.findings) for org in report.organizations),
        )

    def summary(self) -> dict[str, int]:
        """The counts of a verdict the JSON report and the Markdown table give, in their order."""
        return {
            "declared": self.declared,
            "in_sync": self.in_sync,
            "drifted": self.drifted,
            "missing": self.missing,
            "unmanaged": self.unmanaged,
            "findings": self.findings,
            "failing": self.errors,
            "accepted": self.accepted,
            "known": self.known,
        }


def org_fails(org: OrgResult) -> bool:
    return any(f.fails for f in org.findings)


def level(finding: Finding) -> str:
    """How a finding reads in every format: error (fails the check), warning, accepted or known."""
    if finding.accepted is not None:
        return "accepted"
    if finding.known:
        return "known"
    return finding.severity.value


def words(name: str) -> str:
    """`field changed`, `in sync`: a finding kind or a status as people read it."""
    return name.replace("_", " ")


def noted(finding: Finding) -> str:
    """The finding's message, with why it does not fail (or that its exception expired)."""
    return f"{finding.message} ({finding.note})" if finding.note else finding.message


def placed(report: Report, source: Location | None) -> Location | None:
    """Where code scanning shows a result: its own location, else line 1 of the first spec file
    (GitHub and GitLab need a file); None with neither."""
    if source is not None and source.file:
        return source
    return Location(report.spec_files[0].path, 1, 1) if report.spec_files else None


def problem_text(problem: Problem) -> str:
    """`$.organizations[0].name: is required`: a problem's JSON path (if any) and message."""
    return f"{problem.path}: {problem.message}" if problem.path else problem.message


def plural(count: int, noun: str) -> str:
    if count == 1:
        return f"{count} {noun}"
    if noun.endswith("y") and noun[-2] not in "aeiou":  # entries, but days
        return f"{count} {noun[:-1]}ies"
    return f"{count} {noun}s"


def findings_phrase(counts: Counts) -> str:
    """`4 findings (1 warning, 1 accepted)`: the total every format shows, and among them those
    that do not fail the check."""
    parts = [plural(counts.warnings, "warning")] if counts.warnings else []
    parts += [f"{counts.accepted} accepted"] if counts.accepted else []
    parts += [f"{counts.known} known"] if counts.known else []
    return f"{plural(counts.findings, 'finding')}" + (f" ({', '.join(parts)})" if parts else "")


def scope_phrase(report: Report) -> str:
    """` (--org selection)`, ` (changed since main)`: said whenever the verdict covers less
    than the whole spec; empty otherwise."""
    parts = ["--org selection"] if report.scope.organizations else []
    if report.scope.changed_from is not None:
        parts.append(f"changed since {report.scope.changed_from}")
    return f" ({', '.join(parts)})" if parts else ""


def summary_line(report: Report) -> str:
    """One sentence for every outcome, e.g. `drift: 4 findings (1 warning) in 3 of 5
    organizations (1 missing, 1 unmanaged)` or `in sync: 5 organizations checked`."""
    failure = report.failure
    if report.status is Status.VALID:
        files = ", ".join(f.path for f in report.spec_files)
        return f"{files}: valid ({plural(report.scope.declared, 'organization')})"
    if failure is not None and report.status is Status.INVALID:
        return f"invalid: {failure.message}"
    if failure is not None:
        return f"incomplete, no verdict: {failure.message}"
    head = "in sync" if report.in_sync else "drift"
    return f"{head}: {verdict_sentence(report, scope_phrase(report))}"


def verdict_sentence(report: Report, scope: str = "") -> str:
    """A verdict's counts: `5 organizations checked` (in sync, and its findings that do not
    fail), or `4 findings (1 warning) in 3 of 5 organizations (1 missing)`; `scope` goes after
    the organizations."""
    counts = Counts.of(report)
    orgs = plural(counts.organizations, "organization")
    if report.in_sync:
        found = f", {findings_phrase(counts)}" if counts.findings else ""
        return f"{orgs} checked{scope}{found}"
    details = [f"{counts.missing} missing"] if counts.missing else []
    details += [f"{counts.unmanaged} unmanaged"] if counts.unmanaged else []
    detail = f" ({', '.join(details)})" if details else ""
    return f"{findings_phrase(counts)} in {counts.reported} of {orgs}{scope}{detail}"


def basis_dict(basis: Basis) -> dict[str, Any]:
    """`check --since`: the snapshot, the log range read, the re-reads, any full read."""
    return {
        "snapshot_taken_at": basis.snapshot_taken_at,
        "log_range": {"from": basis.log_from, "to": basis.log_to, "entries": basis.entries},
        "reread": list(basis.reread),
        "looked_up": basis.looked_up,
        "full_read": basis.full_read,
        "full_read_because": basis.full_read_because,
    }


def basis_phrase(basis: Basis) -> str:
    """`check --since` in one line: its snapshot and log range, or why it read everything."""
    if basis.full_read_because is not None:
        return f"basis: full read, because {basis.full_read_because}"
    logs = (
        f"logs after {basis.log_from} to {basis.log_to} ({plural(basis.entries, 'entry')})"
        if basis.log_to is not None
        else f"no log entries after {basis.log_from}"
    )
    looked = f", {basis.looked_up} looked up" if basis.looked_up else ""
    return (
        f"basis: snapshot of {basis.snapshot_taken_at or 'an unknown time'}, {logs}, "
        f"{plural(len(basis.reread), 'organization')} re-read{looked}"
    )


def stats_phrase(report: Report) -> str:
    """`7 requests, 1 retry, 1 rate limited, 1.23 s`: what reading the tenant took."""
    s = report.stats
    return (
        f"{plural(s.requests, 'request')}, {plural(s.retries, 'retry')}, "
        f"{s.rate_limited} rate limited, {s.seconds:.2f} s"
    )


# --- JSON values -----------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """A JSON-safe copy of a finding value: objects with sorted string keys, lists, scalars."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): json_value(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_value(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return str(value)


def json_document(document: Any) -> str:
    """A whole JSON report as written to a file: indented, UTF-8 kept, newline-terminated.

    JSON is data: every string is exactly the tenant's or the spec's. Invisible characters are
    written as json's own `\\uXXXX` escapes (the same data), so none is raw in the file or on a
    terminal; json has escaped every control character in strings (a raw newline is indentation).
    """
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return visible(text, keep="\n", show=lambda char: json.dumps(char)[1:-1]) + "\n"


def compact_json(value: Any) -> str:
    """A one-line JSON rendering of a finding value, for people."""
    return json.dumps(json_value(value), ensure_ascii=False, separators=(", ", ": "))


# --- untrusted text --------------------------------------------------------------------------

_MAYBE_INVISIBLE = re.compile(r"[^\x20-\x7e]")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # control, format, surrogate, separators
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_code(char: str) -> str:
    """`\\n`, `\\x1b`, `\\u202e`, `\\U000e0001`: how an invisible character is shown."""
    if char in _NAMED:
        return _NAMED[char]
    point = ord(char)
    if point <= 0xFF:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def visible(text: str, keep: str = "", show: Callable[[str], str] = escape_code) -> str:
    """`text` with invisible characters shown as escapes (`ac\\u200bme`, `\\x1b[2J`).

    Names and values come from a spec in a pull request or from the live tenant, so they must
    not be able to move the cursor, recolour a terminal, forge extra lines in a CI log, reorder
    what follows (a right-to-left override) or make two names look alike (a zero-width space).
    Every report shows them this way (`show`); the HTML page wraps the same escapes in a span.
    Characters in `keep` are left for the caller's own escaping.
    """

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return char if char in keep or unicodedata.category(char) not in _INVISIBLE else show(char)

    return _MAYBE_INVISIBLE.sub(escape, text)
