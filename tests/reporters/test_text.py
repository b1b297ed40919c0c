"""The text format: one linter-like line per finding, then a summary line."""

from __future__ import annotations

import dataclasses

from orgdrift.models import Report
from orgdrift.reporters import RenderOptions, get_reporter

from .factory import drift, in_sync, missing, nasty, unmanaged_fail, unmanaged_report


def render(report: Report, **options: bool) -> list[str]:
    return get_reporter("text").render(report, RenderOptions(**options)).splitlines()


def test_one_line_per_finding_then_summary() -> None:
    report = drift()
    lines = render(report)
    assert len(lines) == len(report.findings) + 1
    assert "orgs.yaml:14: acme: connection google-oauth2 is enabled but not allowed" in lines
    assert lines[-1] == "drift: 7 findings in 4 of 5 organizations (1 missing, 1 unmanaged)"


def test_findings_sorted_by_file_order_then_line_and_sourceless_last() -> None:
    lines = render(drift())[:-1]
    assert [line.split(": ")[0] for line in lines] == [
        "orgs.yaml:9",
        "orgs.yaml:14",
        "orgs.yaml:17",
        "orgs.yaml:25",
        "specs/team b.yaml:6",  # second spec file on the command line
        "acme",  # no source: organization label only
        "legacy",
    ]


def test_order_does_not_depend_on_input_order() -> None:
    report = drift()
    shuffled = dataclasses.replace(
        report,
        organizations=tuple(
            dataclasses.replace(org, findings=org.findings[::-1])
            for org in reversed(report.organizations)
        ),
    )
    assert render(shuffled) == render(report)


def test_in_sync_is_one_summary_line() -> None:
    assert render(in_sync()) == ["in sync: 3 organizations checked"]


def test_missing_organization() -> None:
    assert render(missing()) == [
        "orgs.yaml:20: globex: organization globex is declared but does not exist",
        "drift: 1 finding in 1 of 2 organizations (1 missing)",
    ]


def test_unmanaged_under_report_is_a_marked_warning_and_in_sync() -> None:
    assert render(unmanaged_report()) == [
        "legacy: warning: organization legacy exists but is not declared",
        "in sync: 2 organizations checked, 1 finding (1 warning)",
    ]


def test_unmanaged_under_fail_is_drift() -> None:
    assert render(unmanaged_fail())[-1] == "drift: 1 finding in 1 of 2 organizations (1 unmanaged)"


def test_color_only_when_asked() -> None:
    assert all("\x1b[" not in line for line in render(drift()))
    colored = render(drift(), color=True)
    assert "\x1b[31m" in colored[0]
    assert colored[-1].startswith("\x1b[1m\x1b[31mdrift:")
    assert render(in_sync(), color=True)[-1].startswith("\x1b[1m\x1b[32min sync")


def test_untrusted_text_cannot_inject_lines_or_terminal_escapes() -> None:
    report = nasty()
    lines = render(report)
    assert len(lines) == len(report.findings) + 1
    assert all("\x1b" not in line and "\r" not in line for line in lines)
    assert "\\x1b[2J" in lines[0]
    assert lines[0].startswith("odd dir/ü,n:i%.yaml:4: zoë|<b>&\"q's: display_name is")


def test_verbose_adds_expected_actual_and_in_sync_organizations() -> None:
    lines = render(drift(), verbose=True)
    assert '    expected: "Acme Inc."' in lines
    assert '    actual:   "ACME"' in lines
    assert "orgs.yaml:30: umbrella: in sync" in lines
    assert "api: 7 requests, 1 retry, 1 rate limited, 1.23 s" in lines


def test_spec_files_sort_in_command_line_order_not_by_name() -> None:
    report = dataclasses.replace(drift(), spec_files=drift().spec_files[::-1])
    assert render(report)[0].startswith("specs/team b.yaml:6: globex:")
