"""The JSON report, written and read back: one `Report` both ways, through the shipped schemas
(schemas/report.schema.json; report-v1, report-v2 and report-v3.schema.json for the earlier
formats, still read)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from orgdrift import jsonfile
from orgdrift.accept import with_fingerprints
from orgdrift.errors import ExitCode, InputError, Location, Problem
from orgdrift.evidence import exceptions_applied
from orgdrift.models import (
    REPORT_VERSION,
    Acceptance,
    Basis,
    Evidence,
    Failure,
    Finding,
    FindingKind,
    OrgResult,
    OrgStatus,
    Report,
    Scope,
    Severity,
    SnapshotFile,
    SpecFile,
    Stats,
    Status,
)
from orgdrift.reporters._common import (
    TOOL_NAME,
    Counts,
    RenderOptions,
    basis_dict,
    json_document,
    json_value,
    location_dict,
    ordered_organizations,
    org_findings,
)
from orgdrift.resources import (
    REPORT_SCHEMA,
    REPORT_V1_SCHEMA,
    REPORT_V2_SCHEMA,
    REPORT_V3_SCHEMA,
)

SCHEMAS: Mapping[int, str] = {
    1: REPORT_V1_SCHEMA,
    2: REPORT_V2_SCHEMA,
    3: REPORT_V3_SCHEMA,
    REPORT_VERSION: REPORT_SCHEMA,
}
"""The report versions this orgdrift reads, and the schema of each."""
REPORT_NESTING = 72
"""Nesting allowed in a report file: a finding's values sit five levels down, and a spec value
nests at most 64 levels (yamlload.REPORT_NESTING)."""


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "kind": finding.kind.value,
        "severity": finding.severity.value,
        "organization": finding.organization,
        "path": finding.path,
        "expected": json_value(finding.expected),
        "actual": json_value(finding.actual),
        "message": finding.message,
        "source": location_dict(finding.source),
        "fingerprint": finding.fingerprint,
        "accepted": _acceptance_dict(finding.accepted),
        "known": finding.known,
        "expired_exception": _acceptance_dict(finding.expired_exception),
    }


def _acceptance_dict(acceptance: Acceptance | None) -> dict[str, Any] | None:
    if acceptance is None:
        return None
    return {
        "reason": acceptance.reason,
        "expires": acceptance.expires.isoformat(),
        "owner": acceptance.owner,
        "source": location_dict(acceptance.source),
    }


def _org_dict(report: Report, org: OrgResult) -> dict[str, Any]:
    return {
        "name": org.name,
        "id": org.id,
        "status": org.status.value,
        "source": location_dict(org.source),
        "findings": [_finding_dict(f) for f in org_findings(report, org)],
    }


def _summary_dict(report: Report) -> dict[str, int] | None:
    if not report.verdict:
        return None  # no counts that could be read as a verdict
    counts = Counts.of(report)
    return {
        "declared": counts.declared,
        "in_sync": counts.in_sync,
        "drifted": counts.drifted,
        "missing": counts.missing,
        "unmanaged": counts.unmanaged,
        "findings": counts.findings,
        "failing": counts.errors,
        "accepted": counts.accepted,
        "known": counts.known,
    }


def _problem_dict(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file or None,
        "line": problem.line or None,
        "column": problem.column or None,
        "path": problem.path,
        "message": problem.message,
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON report document, keys in their documented order."""
    stats = report.stats
    failure = report.failure
    return {
        "tool": TOOL_NAME,
        "tool_version": report.tool_version,
        "report_version": REPORT_VERSION,
        "status": report.status.value,
        "exit_code": int(report.exit_code),
        "tenant": report.tenant,
        "checked_at": report.checked_at,
        "spec_files": [
            {"path": f.path, "sha256": f.sha256, "commit": f.commit} for f in report.spec_files
        ],
        "scope": {
            "organizations": list(report.scope.organizations),
            "declared": report.scope.declared,
            "unmanaged": report.scope.unmanaged,
            "changed_from": report.scope.changed_from,
            "changes": report.scope.changes,
            "baseline": report.scope.baseline,
        },
        "in_sync": report.in_sync if report.verdict else None,
        "summary": _summary_dict(report),
        "organizations": [_org_dict(report, org) for org in ordered_organizations(report)],
        "problems": [_problem_dict(p) for p in failure.problems] if failure else [],
        "warnings": [_problem_dict(p) for p in report.warnings],
        "incomplete": (
            {"message": failure.message}
            if failure is not None and report.status is Status.INCOMPLETE
            else None
        ),
        "stats": {
            "requests": stats.requests,
            "retries": stats.retries,
            "rate_limited": stats.rate_limited,
            "seconds": round(stats.seconds, 3),
        },
        "source": report.live_from,
        **({"basis": basis_dict(report.basis)} if report.basis is not None else {}),
        "evidence": _evidence_dict(report),
    }


def _evidence_dict(report: Report) -> dict[str, Any]:
    evidence, stats = report.evidence, report.stats
    return {
        "started_at": evidence.started_at,
        "finished_at": evidence.finished_at,
        "live_state_sha256": evidence.live_sha256,
        "snapshots": [
            {"path": s.path, "sha256": s.sha256, "role": s.role} for s in evidence.snapshots
        ],
        "scopes_required": list(stats.scopes_required),
        "scopes_granted": None if stats.scopes_granted is None else list(stats.scopes_granted),
        "exceptions_applied": [
            {
                "id": applied.id,
                "reason": applied.reason,
                "owner": applied.owner,
                "expires": applied.expires.isoformat(),
                "source": location_dict(applied.source),
                "findings": applied.findings,
            }
            for applied in exceptions_applied(report)
        ],
        "ci_run_url": evidence.ci_run_url,
    }


# --- reading a report back -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A JSON report read back from a file: `orgdrift report`'s runs, `check --baseline`."""

    path: str
    sha256: str  # of the file's bytes, so that each input can be verified
    report: Report
    checked_at: dt.datetime


def read_report(path: str) -> ReportFile:
    """Read a JSON report of any version this orgdrift reads; InputError naming the file and
    the JSON path of every problem (exit 2)."""
    raw = jsonfile.read_bytes(path)
    document = jsonfile.parse(path, raw, REPORT_NESTING)
    if not isinstance(document, dict) or document.get("tool") != TOOL_NAME:
        where = "$.tool" if isinstance(document, dict) else "$"
        raise InputError([jsonfile.problem(path, where, "not an orgdrift JSON report")])
    version = document.get("report_version")
    schema = SCHEMAS.get(version) if type(version) is int else None
    if schema is None:
        *others, last = (str(v) for v in SCHEMAS)
        readable = f"{', '.join(others)} and {last}"
        message = f"report version {version!r}: this orgdrift reads versions {readable}"
        raise InputError([jsonfile.problem(path, "$.report_version", message)])
    problems = jsonfile.schema_problems(path, document, schema)
    checked_at = _time(document.get("checked_at"))
    if checked_at is None and not any(p.path == "$.checked_at" for p in problems):
        problems.append(jsonfile.problem(path, "$.checked_at", "not an RFC 3339 date-time"))
    if problems or checked_at is None:
        raise InputError(problems)
    sha256 = hashlib.sha256(raw).hexdigest()
    return ReportFile(path, sha256, report_from_dict(document), checked_at)


def _time(value: Any) -> dt.datetime | None:
    """An RFC 3339 time (UTC when no offset is given); None when it is not one."""
    try:
        moment = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def report_from_dict(document: Mapping[str, Any]) -> Report:
    """The `Report` a JSON report document (valid against its version's schema) was written
    from. Version 1 reports had verdicts only, no scope and no fingerprints: their findings get
    the fingerprints a current run would give them, so a history spanning an upgrade follows
    each finding across it."""
    version = int(document["report_version"])
    tenant = document["tenant"]
    organizations = tuple(_org(org) for org in document["organizations"])
    if version == 1:
        organizations = with_fingerprints(organizations, tenant)
    stats = document["stats"]
    evidence = document.get("evidence")  # version 3 on
    counts = (stats["requests"], stats["retries"], stats["rate_limited"], stats["seconds"])
    return Report(
        tool_version=document["tool_version"],
        tenant=tenant,
        checked_at=document["checked_at"],
        spec_files=tuple(
            SpecFile(f["path"], f["sha256"], f.get("commit")) for f in document["spec_files"]
        ),
        organizations=organizations,
        stats=Stats(*counts) if evidence is None else _scoped(Stats(*counts), evidence),
        live_from=document["source"],
        scope=_scope(document.get("scope")),
        failure=_failure(document),
        warnings=tuple(_problem(p) for p in document.get("warnings", ())),
        basis=_basis(document.get("basis")),
        evidence=_evidence(evidence),
        version=version,
    )


def _scoped(stats: Stats, evidence: Mapping[str, Any]) -> Stats:
    granted = evidence["scopes_granted"]
    return replace(
        stats,
        scopes_required=tuple(evidence["scopes_required"]),
        scopes_granted=None if granted is None else tuple(granted),
    )


def _evidence(value: Mapping[str, Any] | None) -> Evidence:
    """The evidence of a version 3 or later report (the exceptions applied follow from its
    findings); none for earlier versions. Version 3 recorded one snapshot file (or null),
    version 4 a list."""
    if value is None:
        return Evidence()
    snapshots = value.get("snapshots", [value.get("snapshot")])
    return Evidence(
        started_at=value["started_at"],
        finished_at=value["finished_at"],
        live_sha256=value["live_state_sha256"],
        snapshots=tuple(
            SnapshotFile(s["path"], s["sha256"], s["role"]) for s in snapshots if s is not None
        ),
        ci_run_url=value["ci_run_url"],
    )


def _location(value: Mapping[str, Any] | None) -> Location | None:
    if value is None:
        return None
    return Location(value["file"], value["line"], value["column"])


def _acceptance(value: Mapping[str, Any] | None) -> Acceptance | None:
    if value is None:
        return None
    source = _location(value["source"])
    if source is None:  # the schema requires it
        return None
    expires = dt.date.fromisoformat(value["expires"])
    return Acceptance(value["reason"], expires, value["owner"], source)


def _finding(item: Mapping[str, Any]) -> Finding:
    return Finding(
        kind=FindingKind(item["kind"]),
        organization=item["organization"],
        path=item["path"],
        expected=item["expected"],
        actual=item["actual"],
        message=item["message"],
        source=_location(item["source"]),
        severity=Severity(item["severity"]),
        accepted=_acceptance(item.get("accepted")),
        expired_exception=_acceptance(item.get("expired_exception")),
        known=item.get("known", False),
        fingerprint=item.get("fingerprint"),
    )


def _org(item: Mapping[str, Any]) -> OrgResult:
    return OrgResult(
        name=item["name"],
        id=item["id"],
        status=OrgStatus(item["status"]),
        findings=tuple(_finding(f) for f in item["findings"]),
        source=_location(item["source"]),
    )


def _scope(value: Mapping[str, Any] | None) -> Scope:
    if value is None:  # version 1: not recorded (Report.version says so)
        return Scope()
    return Scope(
        organizations=tuple(value["organizations"]),
        declared=value["declared"],
        unmanaged=value["unmanaged"],
        changed_from=value["changed_from"],
        changes=value["changes"],
        baseline=value["baseline"],
    )


def _problem(item: Mapping[str, Any]) -> Problem:
    return Problem(
        item["file"] or "", item["line"] or 0, item["column"] or 0, item["path"], item["message"]
    )


def _failure(document: Mapping[str, Any]) -> Failure | None:
    status = document.get("status")
    if status == Status.INCOMPLETE:
        return Failure(ExitCode.INCOMPLETE, document["incomplete"]["message"])
    if status != Status.INVALID:
        return None
    problems = tuple(_problem(p) for p in document["problems"])
    message = problems[0].message if len(problems) == 1 else f"{len(problems)} problems found"
    return Failure(ExitCode.USAGE, message, problems)


def _basis(value: Mapping[str, Any] | None) -> Basis | None:
    if value is None:
        return None
    logs = value["log_range"]
    return Basis(
        snapshot_taken_at=value["snapshot_taken_at"],
        log_from=logs["from"],
        log_to=logs["to"],
        entries=logs["entries"],
        reread=tuple(value["reread"]),
        looked_up=value["looked_up"],
        full_read_because=value["full_read_because"],
    )


class JsonReporter:
    name: ClassVar[str] = "json"
    description: ClassVar[str] = "the JSON report (schemas/report.schema.json)"
    suffix: ClassVar[str] = ".json"

    def render(self, report: Report, options: RenderOptions) -> str:
        return json_document(report_to_dict(report))
