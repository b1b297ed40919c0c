"""Markdown: a verdict, counts and a findings table whose cells cannot break the table."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgdrift.errors import Problem
from orgdrift.models import FindingKind, OrgStatus, Report
from orgdrift.reporters import RenderOptions, get_reporter
from orgdrift.reporters.markdown import FOLD_ROWS, MAX_CHARS, cell

from .factory import (
    ORGS,
    at,
    drift,
    finding,
    in_sync,
    nasty,
    org,
    report,
    unmanaged_report,
)


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
        # GitHub would notify, link, render an emoji or cross-reference: a zero-width space
        # (an entity, so the Markdown stays readable) breaks each, the text reads the same
        ("ping @alice and @acme/admins", "ping @&#8203;alice and @&#8203;acme/admins"),
        ("mail bob@evil.example", "mail bob@&#8203;evil.example"),
        ("see https://evil.example/x", "see https:&#8203;//evil.example/x"),
        ("WWW.evil.example", "WWW&#8203;.evil.example"),
        ("<https://evil.example>", "\\<https:&#8203;//evil.example\\>"),
        (":tada: :+1: :100:", ":&#8203;tada: :&#8203;+1: :&#8203;100:"),
        ("fixes #12, org/repo#3, GH-7", "fixes \\#&#8203;12, org/repo\\#&#8203;3, GH&#8203;-7"),
        ("at 12:00:00 and a: b", "at 12:00:00 and a: b"),  # no shortcode, nothing inserted
        ("ac\u200bme \u202egnp.exe", "ac\\\\u200bme \\\\u202egnp.exe"),  # shown, then escaped
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
    assert "| 4 | 1 | 2 | 1 | 1 | 7 | 7 | 0 | 0 |" in lines
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


def many_drifted(count: int) -> Report:
    """`count` drifted organizations with long values, as a big tenant after a bad migration."""
    orgs = [
        org(
            f"customer-{i:05d}",
            OrgStatus.DRIFTED,
            at(10 + 4 * i),
            finding(
                FindingKind.FIELD_CHANGED,
                f"customer-{i:05d}",
                "branding.logo_url",
                f"https://cdn.example.com/customers/{i:05d}/logo.png",
                f"https://cdn.example.com/customers/{i:05d}/logo-old.png",
                f"branding.logo_url is https://cdn.example.com/customers/{i:05d}/logo-old.png, "
                f"expected https://cdn.example.com/customers/{i:05d}/logo.png",
                at(11 + 4 * i, 7),
            ),
        )
        for i in range(count)
    ]
    return report(*orgs)


def test_600_drifted_organizations_fit_a_pull_request_comment() -> None:
    value = many_drifted(600)
    for verbose in (False, True):
        text = render(value, verbose)
        assert len(text) < MAX_CHARS
        rows = text.count("`field_changed`")
        assert 0 < rows < 600
        assert f"… and {600 - rows} more findings" in text
        assert "<details><summary>600 findings</summary>" in text
        assert "| 600 | 0 | 600 | 0 | 0 | 600 |" in text  # the counts stay whole
        assert "drift: 600 findings in 600 of 600 organizations" in text


def test_a_short_table_is_not_folded() -> None:
    text = render(many_drifted(FOLD_ROWS))
    assert "<details>" not in text
    assert text.count("`field_changed`") == FOLD_ROWS
    assert "<details><summary>" in render(many_drifted(FOLD_ROWS + 1))


def test_sentence_and_table_count_the_same_findings() -> None:
    text = render(unmanaged_report())
    assert "in sync: 2 organizations checked, 1 finding (1 warning)" in text
    text = render(drift())
    assert "drift: 7 findings in 4 of 5 organizations (1 missing, 1 unmanaged)" in text
    assert "| 4 | 1 | 2 | 1 | 1 | 7 | 7 | 0 | 0 |" in text


def test_verbose_adds_expected_actual_and_stats() -> None:
    text = render(drift(), verbose=True)
    assert "| Expected | Actual |" in text
    assert '| "Acme Inc." | "ACME" |' in text
    assert "7 requests, 1 retry, 1 rate limited, 1.23 s" in text


def test_many_warnings_stay_within_the_comment_size() -> None:
    """Thousands of stale exceptions: the warnings list was not counted (241,262 characters)."""
    warnings = tuple(
        Problem(ORGS, line, 5, "$.exceptions", f"exception {line} matches no finding; " + "w" * 60)
        for line in range(1, 3_001)
    )
    value = dataclasses.replace(many_drifted(600), warnings=warnings)
    text = render(value, verbose=True)
    assert len(text) <= MAX_CHARS
    shown = text.count("matches no finding")
    assert 0 < shown < 3_000
    assert "more warnings; the text, JSON and SARIF reports list every one." in text
    assert "| 600 | 0 | 600 | 0 | 0 | 600 |" in text  # the counts stay whole


@given(
    names=st.lists(st.text(min_size=1, max_size=3_000), min_size=1, max_size=40),
    warnings=st.integers(min_value=0, max_value=400),
)
@settings(max_examples=25, deadline=None)
def test_every_section_fits_whatever_the_sizes(names: list[str], warnings: int) -> None:
    orgs = [
        org(
            None,
            OrgStatus.DRIFTED,
            at(i + 1),
            finding(FindingKind.FIELD_CHANGED, name, "display_name", "x", name, name, at(i + 1)),
            id=f"org_{i}",
        )
        for i, name in enumerate(names)
    ]
    problems = tuple(Problem(ORGS, i, 1, "", names[i % len(names)]) for i in range(warnings))
    value = report(*orgs, tenant=names[0] * 3, warnings=problems)
    assert len(render(value, verbose=True)) <= MAX_CHARS
