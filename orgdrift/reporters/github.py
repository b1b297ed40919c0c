"""GitHub Actions workflow commands: an annotation per finding and a closing notice."""

from __future__ import annotations

from typing import ClassVar

from orgdrift.models import Finding, Report, Severity
from orgdrift.reporters._common import (
    TOOL_NAME,
    RenderOptions,
    ordered_findings,
    summary_line,
    visible,
)


def escape_data(text: str) -> str:
    """The message part of a workflow command (@actions/core `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value of a workflow command (@actions/core `escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


_NEWLINES = "\r\n"


def _clean(text: str) -> str:
    """Other control characters shown as escapes; newlines are left for the %-escaping."""
    return visible(text, keep=_NEWLINES)


def command(name: str, message: str, properties: dict[str, str] | None = None) -> str:
    """`::name key=value,...::message` with every part escaped."""
    props = ",".join(
        f"{key}={escape_property(_clean(value))}" for key, value in (properties or {}).items()
    )
    head = f"{name} {props}" if props else name
    return f"::{head}::{escape_data(_clean(message))}"


def _annotation(finding: Finding) -> str:
    properties: dict[str, str] = {}
    if finding.source is not None:
        properties["file"] = finding.source.file
        properties["line"] = str(finding.source.line)
        properties["col"] = str(finding.source.column)
    properties["title"] = f"{TOOL_NAME} {finding.kind.value}"
    level = "error" if finding.severity is Severity.ERROR else "warning"
    return command(level, f"{finding.organization}: {finding.message}", properties)


class GithubReporter:
    name: ClassVar[str] = "github"
    description: ClassVar[str] = "GitHub Actions annotations (default inside GitHub Actions)"
    suffix: ClassVar[str] = ".github.txt"

    def render(self, report: Report, options: RenderOptions) -> str:
        lines = [_annotation(finding) for finding in ordered_findings(report)]
        lines.append(command("notice", f"{TOOL_NAME}: {summary_line(report)}"))
        return "\n".join(lines) + "\n"
