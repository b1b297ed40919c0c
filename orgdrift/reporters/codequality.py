"""GitLab Code Quality (`artifacts: reports: codequality:`): the subset of the Code Climate issue
format GitLab reads, https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format.

An array of issues, each with `description`, `check_name`, `fingerprint`, `severity` (info,
minor, major, critical, blocker) and `location.path` + `location.lines.begin`. GitLab shows
issues with the same fingerprint once, so every fingerprint here is unique; a finding keeps its
own fingerprint (tenant, organization, kind, path), so the merge-request widget matches it
across pipelines.

In every outcome:
* in sync or drift (exit 0, 1): one issue per finding at its spec line (a failing finding is
  `critical`, a warning `minor`, an accepted or baseline-known one `info`), and one `minor` issue
  per spec warning (an exception unused or about to expire). In sync without findings: `[]`.
* invalid input (exit 2): one `blocker` issue per problem at its file, line.
* incomplete read (exit 3): one `blocker` issue, "no verdict", at the first spec file's first
  line. An empty array would tell GitLab that every earlier issue was fixed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from orgdrift.errors import Location, Problem
from orgdrift.models import Finding, Report, Status
from orgdrift.reporters._common import (
    TOOL_NAME,
    RenderOptions,
    json_document,
    noted,
    ordered_findings,
    placed,
    problem_text,
    summary_line,
    visible,
)
from orgdrift.reporters.sarif import digest, fingerprint

INVALID_INPUT = f"{TOOL_NAME}/invalid_input"
INCOMPLETE = f"{TOOL_NAME}/incomplete"
EXCEPTION = f"{TOOL_NAME}/exception"


def _location(report: Report, where: Location | None, options: RenderOptions) -> dict[str, Any]:
    """Path relative to the repository root, and line (`placed`: GitLab needs a path)."""
    place = placed(report, where) or Location(".", 1, 1)
    return {"path": options.repo_path(place.file), "lines": {"begin": max(place.line, 1)}}


def _issue(
    description: str, check: str, key: str, severity: str, location: dict[str, Any]
) -> dict[str, Any]:
    return {
        "description": visible(description),  # GitLab shows it as text: no invisible characters
        "check_name": check,
        "fingerprint": key,
        "severity": severity,
        "location": location,
    }


def _finding_issue(report: Report, finding: Finding, options: RenderOptions) -> dict[str, Any]:
    severity = (
        "critical" if finding.fails else "info" if finding.accepted or finding.known else "minor"
    )
    return _issue(
        f"{finding.organization}: {noted(finding)}",
        f"{TOOL_NAME}/{finding.kind.value}",
        fingerprint(finding),
        severity,
        _location(report, finding.source, options),
    )


def _problem_issue(
    report: Report, problem: Problem, check: str, severity: str, options: RenderOptions
) -> dict[str, Any]:
    key = digest(check, problem.file, problem.line, problem.column, problem.path, problem.message)
    location = _location(report, problem, options)
    return _issue(problem_text(problem), check, key, severity, location)


def _issues(report: Report, options: RenderOptions) -> list[dict[str, Any]]:
    failure = report.failure
    if report.status is Status.INCOMPLETE and failure is not None:
        description = f"{summary_line(report)} (nothing was compared; earlier issues still stand)"
        key = digest(INCOMPLETE, report.tenant, *(f.path for f in report.spec_files))
        return [_issue(description, INCOMPLETE, key, "blocker", _location(report, None, options))]
    if failure is not None:
        return [
            _problem_issue(report, p, INVALID_INPUT, "blocker", options) for p in failure.problems
        ]
    return [
        *(_problem_issue(report, p, EXCEPTION, "minor", options) for p in report.warnings),
        *(_finding_issue(report, f, options) for f in ordered_findings(report)),
    ]


def unique_fingerprints(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each repeated fingerprint made unique (GitLab shows one issue per fingerprint), the
    first occurrence keeping its own."""
    seen: set[str] = set()
    unique = []
    for issue in issues:
        key, n = issue["fingerprint"], 1
        while key in seen:
            key, n = digest(issue["fingerprint"], n), n + 1
        seen.add(key)
        unique.append({**issue, "fingerprint": key})
    return unique


class CodeQualityReporter:
    name: ClassVar[str] = "codequality"
    description: ClassVar[str] = "GitLab Code Quality (merge-request widget; issues at spec lines)"
    suffix: ClassVar[str] = ".json"

    def render(self, report: Report, options: RenderOptions) -> str:
        return json_document(unique_fingerprints(_issues(report, options)))
