"""GitHub workflow commands: one annotation per finding, escaped per @actions/core."""

from __future__ import annotations

import re

import pytest

from orgdrift.models import Report
from orgdrift.reporters import RenderOptions, get_reporter
from orgdrift.reporters.github import command, escape_data, escape_property

from .factory import NASTY_FILE, drift, in_sync, nasty, unmanaged_report

_COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def lines(report: Report) -> list[str]:
    return get_reporter("github").render(report, RenderOptions(color=True)).splitlines()


def unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def parse(line: str) -> tuple[str, dict[str, str], str]:
    match = _COMMAND.match(line)
    assert match is not None, line
    props = dict(pair.split("=", 1) for pair in (match.group(2) or "").split(",") if pair)
    return match.group(1), {k: unescape(v) for k, v in props.items()}, unescape(match.group(3))


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("100%", "100%25", "100%25"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("k: v, w", "k: v, w", "k%3A v%2C w"),
        ("%0A", "%250A", "%250A"),
    ],
)
def test_escaping(text: str, data: str, prop: str) -> None:
    assert escape_data(text) == data
    assert escape_property(text) == prop


def test_annotation_per_finding_and_a_closing_notice() -> None:
    report = drift()
    output = lines(report)
    assert len(output) == len(report.findings) + 1
    assert output[1] == (
        "::error file=orgs.yaml,line=14,col=5,title=orgdrift connection_not_allowed::"
        "acme: connection google-oauth2 is enabled but not allowed"
    )
    assert output[-1] == (
        "::notice::orgdrift: drift: 7 findings in 4 of 5 organizations (1 missing, 1 unmanaged)"
    )


def test_sourceless_findings_have_no_file_and_warnings_are_warnings() -> None:
    assert lines(unmanaged_report()) == [
        (
            "::warning title=orgdrift organization_unmanaged::"
            "legacy: organization legacy exists but is not declared"
        ),
        "::notice::orgdrift: in sync: 2 organizations checked, 1 finding (1 warning)",
    ]


def test_in_sync_is_just_the_notice() -> None:
    assert lines(in_sync()) == ["::notice::orgdrift: in sync: 3 organizations checked"]


def test_untrusted_text_round_trips_and_cannot_forge_commands() -> None:
    report = nasty()
    output = lines(report)
    assert len(output) == len(report.findings) + 1
    assert all("\x1b" not in line for line in output)
    level, props, message = parse(output[0])
    assert level == "error"
    assert props == {"file": NASTY_FILE, "line": "4", "col": "7", "title": "orgdrift field_changed"}
    first = report.findings[0]
    assert message == f"{first.organization}: {first.message}".replace("\x1b", "\\x1b")
    assert [parse(line)[0] for line in output] == ["error", "error", "notice"]


def test_command_without_properties() -> None:
    assert command("notice", "a\nb") == "::notice::a%0Ab"
