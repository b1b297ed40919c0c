"""GitHub Actions workflow commands: annotations within GitHub's limits and a closing line.

GitHub shows at most 10 error and 10 warning annotations per step. Past that, the first nine are
annotations, the rest plain log lines, and one more annotation names the total.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

from orgdrift.errors import Location, Problem
from orgdrift.models import Finding, Report, Status
from orgdrift.reporters._common import (
    TOOL_NAME,
    RenderOptions,
    basis_phrase,
    level,
    noted,
    ordered_findings,
    plural,
    problem_text,
    summary_line,
    visible,
)

ANNOTATIONS_PER_LEVEL = 10
"""Error (and warning) annotations GitHub shows per step."""


def escape_data(text: str) -> str:
    """The message part of a workflow command (@actions/core `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value of a workflow command (@actions/core `escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


_NEWLINES = "\r\n"


def command(name: str, message: str, properties: dict[str, str] | None = None) -> str:
    """`::name key=value,...::message` with every part escaped: control characters shown as
    escapes (`visible`), newlines left for the %-escaping."""
    props = ",".join(
        f"{key}={escape_property(visible(value, _NEWLINES))}"
        for key, value in (properties or {}).items()
    )
    head = f"{name} {props}" if props else name
    return f"::{head}::{escape_data(visible(message, _NEWLINES))}"


@dataclass(frozen=True, slots=True)
class _Annotation:
    """One annotation: its level, where, title and message; or the same as a plain log line."""

    level: str
    title: str
    message: str
    file: str = ""
    line: int = 0
    col: int = 0

    def command(self) -> str:
        parts = (("file", self.file), ("line", self.line), ("col", self.col))
        place = {key: str(value) for key, value in itertools.takewhile(lambda kv: kv[1], parts)}
        return command(self.level, self.message, {**place, "title": self.title})

    def log_line(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        shown = f"{where}: {self.message}" if self.file else self.message
        return f"{TOOL_NAME}: {self.level}: {visible(shown)}"


def _where(source: Location | None, options: RenderOptions) -> tuple[str, int, int]:
    """File (relative to the repository root), line and column; none without a file."""
    if source is None or not source.file:
        return "", 0, 0
    return options.repo_path(source.file), source.line, source.column


def _finding(finding: Finding, options: RenderOptions) -> _Annotation:
    word = level(finding)
    name = word if word in ("error", "warning") else "notice"  # accepted, known: a notice
    title = f"{TOOL_NAME} {finding.kind.value}" + ("" if name == word else f" ({word})")
    message = f"{finding.organization}: {noted(finding)}"
    return _Annotation(name, title, message, *_where(finding.source, options))


def _problem(problem: Problem, options: RenderOptions) -> _Annotation:
    file, line, column = _where(problem, options)
    title = f"{TOOL_NAME} invalid spec" if file else TOOL_NAME
    return _Annotation("error", title, problem_text(problem), file, line, column)


def _limited(annotations: list[_Annotation]) -> list[str]:
    """Within GitHub's limit per level; past it, one annotation names the total."""
    lines: list[str] = []
    for name in ("error", "warning", "notice"):
        same = [a for a in annotations if a.level == name]
        shown = len(same) if len(same) <= ANNOTATIONS_PER_LEVEL else ANNOTATIONS_PER_LEVEL - 1
        lines += [a.command() for a in same[:shown]] + [a.log_line() for a in same[shown:]]
        if shown < len(same):
            total = plural(len(same), name)
            note = f"{total} in all; the first {shown} are annotated, every one is in the log"
            lines.append(command(name, f"{TOOL_NAME}: {note}", {"title": f"{TOOL_NAME} {total}"}))
    return lines


class GithubReporter:
    name: ClassVar[str] = "github"
    description: ClassVar[str] = "GitHub Actions annotations (default inside GitHub Actions)"
    suffix: ClassVar[str] = ".github.txt"

    def render(self, report: Report, options: RenderOptions) -> str:
        failure = report.failure
        summary = f"{TOOL_NAME}: {summary_line(report)}"
        if report.status is Status.INCOMPLETE:
            lines = [command("error", summary, {"title": f"{TOOL_NAME} incomplete"})]
        elif failure is not None:
            lines = _limited([_problem(p, options) for p in failure.problems])
            if any(p.file for p in failure.problems):  # else the one error says it all
                lines.append(command("notice", summary))
        else:
            warned = [
                _Annotation("warning", f"{TOOL_NAME} exception", p.message, *_where(p, options))
                for p in report.warnings
            ]
            lines = _limited([*warned, *(_finding(f, options) for f in ordered_findings(report))])
            lines.append(command("notice", summary))
            if report.basis is not None:  # an incremental check: what its verdict rests on
                basis = f"{TOOL_NAME}: {basis_phrase(report.basis)}"
                lines.append(command("notice", basis, {"title": f"{TOOL_NAME} basis"}))
        return "\n".join(lines) + "\n"
