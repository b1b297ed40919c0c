"""GitHub-flavoured Markdown for `$GITHUB_STEP_SUMMARY` and pull-request comments."""

from __future__ import annotations

import re
from typing import ClassVar

from orgdrift.models import Finding, Report, Severity
from orgdrift.reporters._common import (
    Counts,
    RenderOptions,
    compact_json,
    ordered_findings,
    stats_phrase,
    summary_line,
    visible,
)

MAX_ROWS = 500
"""Findings listed in the table; GitHub caps a comment at 65,536 characters, a summary at 1 MiB."""

_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~#!])")


def cell(text: str) -> str:
    """Inline text safe in a table cell: Markdown/HTML characters escaped, newlines as <br>."""
    escaped = _SPECIAL.sub(r"\\\1", visible(text, keep="\r\n"))
    return escaped.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")


def _heading(report: Report) -> str:
    if report.in_sync:
        return "## ✅ orgdrift: in sync"
    return "## ❌ orgdrift: drift found"


def _context(report: Report) -> str:
    tenant = f"Tenant {cell(report.tenant)}" if report.tenant else "Tenant not named"
    source = "live API" if report.source == "api" else "saved snapshot"
    return (
        f"{tenant} ({source}), checked at {cell(report.checked_at)}: {cell(summary_line(report))}."
    )


def _counts_table(report: Report) -> list[str]:
    c = Counts.of(report)
    return [
        "| Declared | In sync | Drifted | Missing | Unmanaged | Findings |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {c.declared} | {c.in_sync} | {c.drifted} | {c.missing} | {c.unmanaged} | {c.findings} |",
    ]


def _row(finding: Finding, verbose: bool) -> str:
    where = cell(str(finding.source)) if finding.source is not None else "—"
    level = "error" if finding.severity is Severity.ERROR else "warning"
    cells = [
        where,
        cell(finding.organization),
        f"`{finding.kind.value}`",
        level,
        cell(finding.message),
    ]
    if verbose:
        cells += [cell(compact_json(finding.expected)), cell(compact_json(finding.actual))]
    return "| " + " | ".join(cells) + " |"


def _findings_table(report: Report, verbose: bool) -> list[str]:
    header = ["Location", "Organization", "Kind", "Severity", "Message"]
    if verbose:
        header += ["Expected", "Actual"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    findings = ordered_findings(report)
    lines.extend(_row(finding, verbose) for finding in findings[:MAX_ROWS])
    if len(findings) > MAX_ROWS:
        rest = len(findings) - MAX_ROWS
        lines += ["", f"… and {rest} more; see the text or JSON report for all of them."]
    return lines


def _stats(report: Report) -> str:
    return f"<sub>orgdrift {cell(report.tool_version)}: {stats_phrase(report)}</sub>"


class MarkdownReporter:
    name: ClassVar[str] = "markdown"
    description: ClassVar[str] = "Markdown for $GITHUB_STEP_SUMMARY and pull-request comments"
    suffix: ClassVar[str] = ".md"

    def render(self, report: Report, options: RenderOptions) -> str:
        blocks = [[_heading(report)], [_context(report)]]
        if report.findings:
            blocks.append(_counts_table(report))
            blocks.append(_findings_table(report, options.verbose))
        if options.verbose:
            blocks.append([_stats(report)])
        return "\n\n".join("\n".join(block) for block in blocks) + "\n"
