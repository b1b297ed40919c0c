"""The JSON report (its schema: schemas/report.schema.json)."""

from __future__ import annotations

from typing import Any, ClassVar

from orgdrift.errors import Problem
from orgdrift.models import Acceptance, Finding, OrgResult, Report, Status
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

REPORT_VERSION = 2


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
        "spec_files": [{"path": f.path, "sha256": f.sha256} for f in report.spec_files],
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
        "source": report.source,
        **({"basis": basis_dict(report.basis)} if report.basis is not None else {}),
    }


class JsonReporter:
    name: ClassVar[str] = "json"
    description: ClassVar[str] = "the JSON report (schemas/report.schema.json)"
    suffix: ClassVar[str] = ".json"

    def render(self, report: Report, options: RenderOptions) -> str:
        return json_document(report_to_dict(report))
