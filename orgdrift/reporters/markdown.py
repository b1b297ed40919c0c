"""GitHub-flavoured Markdown for `$GITHUB_STEP_SUMMARY` and pull-request comments."""

from __future__ import annotations

import itertools
import re
from typing import ClassVar

from orgdrift.errors import Problem
from orgdrift.models import Finding, Report, Status
from orgdrift.reporters._common import (
    Counts,
    RenderOptions,
    basis_phrase,
    compact_json,
    level,
    noted,
    ordered_findings,
    plural,
    stats_phrase,
    summary_line,
    visible,
    words,
)

MAX_CHARS = 65_536
"""GitHub's cap on a pull-request comment (a step summary may hold 1 MiB); the report stays under."""
FOLD_ROWS = 20
"""A findings table longer than this is folded in <details>."""
_RESERVE = 1_000  # room for the closing lines after the table

_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~#!])")
_BREAK = "\x00"  # where a zero-width space goes; `visible` leaves no NUL of the input's own
_BREAKS = re.compile(
    r"(?<=@)(?=[\w-])"  # mentions: @user, @org/team (and e-mail autolinks)
    r"|(?<=:)(?=//)"  # autolinks: https://host
    r"|(?i:(?<=\bwww)(?=\.))"  # autolinks: www.host
    r"|(?<=:)(?=(?i:[a-z+-][\w+-]*|100|1234):)"  # emoji shortcodes: :tada:, :+1:, :100:
    r"|(?<=#)(?=\d)"  # references: #123, owner/repo#123
    r"|(?i:(?<=\bgh)(?=-\d))"  # references: GH-123
)
_ZERO_WIDTH_SPACE = "&#8203;"
_CELL_CHARS = 4_000
"""A sentence outside the tables (tenant, failure message) is cut past this many characters."""


def cell(text: str) -> str:
    """Inline text safe in a table cell: Markdown/HTML characters escaped, newlines as <br>,
    invisible characters shown, and no mention, autolink, emoji shortcode or reference: GitHub
    would notify the named people, link to the named host, or cross-reference the issue. A
    zero-width space (written as an entity) breaks each: the text reads the same."""
    broken = _BREAKS.sub(_BREAK, visible(text, keep="\r\n"))
    escaped = _SPECIAL.sub(r"\\\1", broken).replace(_BREAK, _ZERO_WIDTH_SPACE)
    return escaped.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")


def sentence(text: str) -> str:
    """`cell`, cut to _CELL_CHARS characters: for the lines outside the tables."""
    if len(text) > _CELL_CHARS:
        text = text[:_CELL_CHARS] + f"… ({len(text) - _CELL_CHARS:,} more characters)"
    return cell(text)


_HEADINGS = {
    Status.IN_SYNC: "## ✅ orgdrift: in sync",
    Status.DRIFT: "## ❌ orgdrift: drift found",
    Status.VALID: "## ✅ orgdrift: spec valid",
    Status.INVALID: "## ❌ orgdrift: invalid input, nothing compared",
    Status.INCOMPLETE: "## ⚠️ orgdrift: no verdict, the live state could not be read",
}


def _head(report: Report) -> list[list[str]]:
    """The heading and what the run says; for an incomplete read, a warning no reader can take
    for a verdict."""
    heading = [_HEADINGS[report.status]]
    failure = report.failure
    if failure is not None and report.status is Status.INCOMPLETE:
        nothing = (
            "The live tenant could not be read completely, so this run says nothing about drift."
        )
        return [heading, ["> [!WARNING]", f"> {nothing}", f"> {sentence(failure.message)}"]]
    if report.verdict:
        tenant = f"Tenant {sentence(report.tenant)}" if report.tenant else "Tenant not named"
        source = "live API" if report.live_from == "api" else "saved snapshot"
        checked = f"checked at {cell(report.checked_at)}: {cell(summary_line(report))}."
        said = f"{tenant} ({source}), {checked}"
    else:
        said = f"{sentence(summary_line(report))}."
    basis = [[sentence(basis_phrase(report.basis)) + "."]] if report.basis is not None else []
    return [heading, [said], *basis]


def _problems_table(problems: tuple[Problem, ...], budget: int) -> list[str]:
    rows = [
        f"| {cell(p.position() if p.file else '—')} | {cell(p.path) or '—'} | {cell(p.message)} |"
        for p in problems
    ]
    return _folded(["| Location | Path | Problem |", "|---|---|---|"], rows, "problem", budget)


def _warnings_list(report: Report, budget: int) -> list[str]:
    """About the spec itself: exceptions that match nothing or expire soon."""
    rows = [
        f"- ⚠️ {cell(p.position() if p.file else '—')}: {cell(p.message)}" for p in report.warnings
    ]
    kept, more = _within(rows, budget, "warning")
    return kept + [f"- {line}" for line in more]


def _counts_table(report: Report) -> list[str]:
    summary = Counts.of(report).summary()
    return [
        "| " + " | ".join(words(key).capitalize() for key in summary) + " |",
        "|" + "---:|" * len(summary),
        "| " + " | ".join(str(count) for count in summary.values()) + " |",
    ]


def _row(finding: Finding, verbose: bool) -> str:
    where = cell(str(finding.source)) if finding.source is not None else "—"
    cells = [
        where,
        cell(finding.organization),
        f"`{finding.kind.value}`",
        level(finding),
        cell(noted(finding)),
    ]
    if verbose:
        cells += [cell(compact_json(finding.expected)), cell(compact_json(finding.actual))]
    return "| " + " | ".join(cells) + " |"


def _findings_table(report: Report, verbose: bool, budget: int) -> list[str]:
    header = ["Location", "Organization", "Kind", "Severity", "Message"]
    if verbose:
        header += ["Expected", "Actual"]
    head = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows = [_row(finding, verbose) for finding in ordered_findings(report)]
    return _folded(head, rows, "finding", budget)


def _within(rows: list[str], budget: int, noun: str) -> tuple[list[str], list[str]]:
    """The first rows whose lines fit in `budget` characters, and a line for those that do not."""
    used = itertools.accumulate(len(row) + 1 for row in rows)
    kept = [row for row, size in zip(rows, used, strict=True) if size <= budget]
    if len(kept) == len(rows):
        return kept, []
    rest = plural(len(rows) - len(kept), f"more {noun}")
    return kept, [f"… and {rest}; the text, JSON and SARIF reports list every one."]


def _folded(head: list[str], rows: list[str], noun: str, budget: int) -> list[str]:
    """A table folded in <details> when long, cut to its share of GitHub's comment size."""
    kept, more = _within(rows, budget - _RESERVE - sum(len(line) + 1 for line in head), noun)
    lines = head + kept + (["", *more] if more else [])
    if len(rows) <= FOLD_ROWS:
        return lines
    summary = f"<details><summary>{plural(len(rows), noun)}</summary>"
    return [summary, "", *lines, "", "</details>"]


class MarkdownReporter:
    name: ClassVar[str] = "markdown"
    description: ClassVar[str] = "Markdown for $GITHUB_STEP_SUMMARY and pull-request comments"
    suffix: ClassVar[str] = ".md"

    def render(self, report: Report, options: RenderOptions) -> str:
        """Every section within MAX_CHARS: the fixed lines first, then the table (findings or
        problems) takes what it needs of the rest, and the warnings list what is left."""
        head = _head(report)
        stats = f"<sub>orgdrift {cell(report.tool_version)}: {stats_phrase(report)}</sub>"
        tail = [[stats]] if options.verbose and report.verdict else []
        budget = MAX_CHARS - _size([*head, *tail]) - _RESERVE
        table: list[list[str]] = []
        if report.failure is not None and report.failure.problems:
            table = [_problems_table(report.failure.problems, budget)]
        elif report.findings:
            counts = _counts_table(report)
            table = [counts, _findings_table(report, options.verbose, budget - _size([counts]))]
        warnings = [_warnings_list(report, budget - _size(table))] if report.warnings else []
        blocks = [*head, *warnings, *table, *tail]
        text = "\n\n".join("\n".join(block) for block in blocks) + "\n"
        plan = options.plan
        if plan is not None and (plan.steps or plan.manual) and report.verdict:
            from orgdrift.plan_render import markdown_section  # it imports the reporters

            section = markdown_section(plan, MAX_CHARS - len(text) - 2).rstrip("\n")
            text += "\n" + section + "\n"
        return text


def _size(blocks: list[list[str]]) -> int:
    """Characters `blocks` take, with the blank lines between them."""
    return sum(len(line) + 1 for block in blocks for line in block) + len(blocks)
