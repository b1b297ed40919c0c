"""Markdown: a verdict, counts and a findings table whose cells cannot break the table."""

from __future__ import annotations

import pytest

from orgdrift.models import FindingKind, OrgStatus, Report
from orgdrift.reporters import RenderOptions, get_reporter
from orgdrift.reporters.markdown import MAX_ROWS, cell

from .factory import at, drift, finding, in_sync, nasty, org, report, unmanaged_report


def render(value: Report, verbose: bool = False) -> str:
    return get_reporter("markdown").render(value, RenderOptions(verbose=verbose))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a|b", "a\\|b"),
        ("<script>&amp;", "\\<script\\>\\&amp;"),
        ("line\nnext\r\nlast", "line<br>next<br>last"),
        ("*bold* _it_ `code` [x](y)", "\\*bold\\* \\_it\\_ \\`code\\` \\[x\\](y)"),
        ("back\\slash", "back\\\\slash"),
        ("esc\x1b[2J", "esc\\\\x1b\\[2J"),
        ("plain text, ünïcode", "plain text, ünïcode"),
    ],
)
def test_cell_escaping(text: str, expected: str) -> None:
    assert cell(text) == expected


def test_in_sync_report_is_short() -> None:
    text = render(in_sync())
    assert text.splitlines()[0] == "## ✅ orgdrift: in sync"
    assert "|" not in text
    assert len(text.splitlines()) == 3


def test_drift_has_verdict_counts_and_one_row_per_finding() -> None:
    value = drift()
    lines = render(value).splitlines()
    assert lines[0] == "## ❌ orgdrift: drift found"
    assert "| 4 | 1 | 2 | 1 | 1 | 7 |" in lines
    rows = [line for line in lines if line.startswith("| ") and "`" in line]
    assert len(rows) == len(value.findings)
    assert rows[1] == (
        "| orgs.yaml:14 | acme | `connection_not_allowed` | error "
        "| connection google-oauth2 is enabled but not allowed |"
    )


def test_warnings_are_listed_under_an_in_sync_verdict() -> None:
    text = render(unmanaged_report())
    assert text.startswith("## ✅ orgdrift: in sync")
    assert "| — | legacy | `organization_unmanaged` | warning |" in text


def test_untrusted_values_keep_every_row_intact() -> None:
    value = nasty()
    for verbose in (False, True):
        rows = [line for line in render(value, verbose).splitlines() if "`field_changed`" in line]
        columns = 7 if verbose else 5
        assert len(rows) == len(value.findings)
        for row in rows:
            unescaped_pipes = row.replace("\\\\", "").replace("\\|", "").count("|")
            assert unescaped_pipes == columns + 1
            assert "<b>" not in row and "\x1b" not in row


def test_long_tables_are_cut_with_a_note() -> None:
    findings = [
        finding(
            FindingKind.CONNECTION_NOT_ALLOWED,
            "big",
            f"connections.c{i:04d}",
            None,
            {"name": f"c{i:04d}"},
            f"connection c{i:04d} is enabled but not allowed",
            at(10 + i),
        )
        for i in range(MAX_ROWS + 3)
    ]
    value = report(org("big", OrgStatus.DRIFTED, at(9), *findings))
    text = render(value)
    assert text.count("`connection_not_allowed`") == MAX_ROWS
    assert "… and 3 more" in text


def test_verbose_adds_expected_actual_and_stats() -> None:
    text = render(drift(), verbose=True)
    assert "| Expected | Actual |" in text
    assert '| "Acme Inc." | "ACME" |' in text
    assert "7 requests, 1 retry, 1 rate limited, 1.23 s" in text
