"""Reporters: a registry of small classes that render a `Report` as a string.

Adding a format is one class and one entry in `REPORTERS`; its keys drive the CLI's choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Protocol

from orgdrift.errors import UsageError
from orgdrift.models import Report
from orgdrift.reporters._common import RenderOptions
from orgdrift.reporters.codequality import CodeQualityReporter
from orgdrift.reporters.github import GithubReporter
from orgdrift.reporters.html import HtmlReporter
from orgdrift.reporters.intoto import InTotoReporter
from orgdrift.reporters.json_report import JsonReporter, report_to_dict
from orgdrift.reporters.junit import JunitReporter
from orgdrift.reporters.markdown import MarkdownReporter
from orgdrift.reporters.sarif import SarifReporter
from orgdrift.reporters.text import TextReporter

__all__ = ["REPORTERS", "RenderOptions", "Reporter", "get_reporter", "report_to_dict"]


class Reporter(Protocol):
    name: ClassVar[str]
    description: ClassVar[str]
    suffix: ClassVar[str]  # file suffix for a report written to disk, e.g. ".sarif"

    def render(self, report: Report, options: RenderOptions) -> str: ...


REPORTERS: Mapping[str, type[Reporter]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (
            TextReporter,
            JsonReporter,
            MarkdownReporter,
            JunitReporter,
            SarifReporter,
            GithubReporter,
            HtmlReporter,
            CodeQualityReporter,
            InTotoReporter,
        )
    }
)


def get_reporter(name: str) -> Reporter:
    """A reporter by format name; `UsageError` listing the choices for an unknown one."""
    cls = REPORTERS.get(name)
    if cls is None:
        choices = ", ".join(REPORTERS)
        raise UsageError(f"unknown report format {name!r}; choose one of: {choices}")
    return cls()
