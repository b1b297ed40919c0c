"""Linter-like text: `orgs.yaml:14: acme: connection google-oauth2 is enabled but not allowed`."""

from __future__ import annotations

from typing import ClassVar

from orgdrift.errors import Location
from orgdrift.models import Finding, OrgStatus, Report, Severity
from orgdrift.reporters._common import (
    RenderOptions,
    basis_phrase,
    compact_json,
    ordered_findings,
    ordered_organizations,
    stats_phrase,
    summary_line,
    visible,
)

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_RED = "\x1b[31m"
_GREEN = "\x1b[32m"
_YELLOW = "\x1b[33m"
_DIM = "\x1b[2m"


def _paint(text: str, style: str, options: RenderOptions) -> str:
    return f"{style}{text}{_RESET}" if options.color else text


def _prefix(source: Location | None, organization: str, options: RenderOptions) -> str:
    where = f"{_paint(visible(str(source)), _BOLD, options)}: " if source is not None else ""
    return f"{where}{_paint(visible(organization), _BOLD, options)}: "


def _finding_lines(finding: Finding, options: RenderOptions) -> list[str]:
    warning = finding.severity is Severity.WARNING and finding.note is None
    prefix = _paint("warning", _YELLOW, options) + ": " if warning else ""  # notes say the rest
    message = visible(finding.message)
    if finding.fails:
        message = _paint(message, _RED, options)
    note = f" ({visible(finding.note)})" if finding.note else ""
    lines = [f"{_prefix(finding.source, finding.organization, options)}{prefix}{message}{note}"]
    if options.verbose:
        detail = f"    {finding.kind.value} at {visible(finding.path) or '(organization)'}"
        lines.append(_paint(detail, _DIM, options))
        lines.append(f"    expected: {visible(compact_json(finding.expected))}")
        lines.append(f"    actual:   {visible(compact_json(finding.actual))}")
    return lines


class TextReporter:
    name: ClassVar[str] = "text"
    description: ClassVar[str] = "one line per finding, like a linter (default outside CI)"
    suffix: ClassVar[str] = ".txt"

    def render(self, report: Report, options: RenderOptions) -> str:
        failure = report.failure
        if failure is not None:  # what the CLI has always printed on stderr
            located = [visible(p.render()) for p in failure.problems if p.file]
            message = visible(failure.message)
            lines = (
                [*located, f"orgdrift: {message}"] if located else [f"orgdrift: error: {message}"]
            )
            return "\n".join(lines) + "\n"
        if not report.verdict:
            return visible(summary_line(report)) + "\n"
        lines = [visible(p.render().replace(": ", ": warning: ", 1)) for p in report.warnings]
        for finding in ordered_findings(report):
            lines.extend(_finding_lines(finding, options))
        if options.verbose:
            lines.extend(
                f"{_prefix(org.source, org.label, options)}{_paint('in sync', _GREEN, options)}"
                for org in ordered_organizations(report)
                if org.status is OrgStatus.IN_SYNC
            )
            stats = visible(f"{report.live_from}: {stats_phrase(report)}")
            lines.append(_paint(stats, _DIM, options))
        if report.basis is not None:
            lines.append(_paint(visible(basis_phrase(report.basis)), _DIM, options))
        style = _BOLD + (_GREEN if report.in_sync else _RED)
        lines.append(_paint(visible(summary_line(report)), style, options))
        return "\n".join(lines) + "\n"
