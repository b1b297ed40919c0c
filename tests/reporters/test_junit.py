"""JUnit XML: parsed back with xml.etree; one testcase per organization."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from orgdrift.models import Report
from orgdrift.reporters import RenderOptions, get_reporter
from orgdrift.reporters.junit import xml_text

from .factory import (
    CASES,
    NASTY_FILE,
    NASTY_NAME,
    drift,
    incomplete,
    invalid,
    nasty,
    unmanaged_fail,
    unmanaged_report,
    usage,
)


def parse(report: Report) -> ET.Element:
    text = get_reporter("junit").render(report, RenderOptions())
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in root.iter("testcase")}


@pytest.mark.parametrize(
    ("case", "tests", "failures"),
    [
        ("in_sync", 3, 0),
        ("drift", 5, 4),
        ("missing", 2, 1),
        ("unmanaged_report", 2, 0),
        ("unmanaged_fail", 2, 1),
        ("nasty", 1, 1),
    ],
)
def test_counts(case: str, tests: int, failures: int) -> None:
    root = parse(CASES[case]())
    [suite] = root.findall("testsuite")
    assert suite.attrib["name"] == "orgdrift"
    assert len(suite.findall("testcase")) == tests
    assert len(suite.findall("testcase/failure")) == failures
    assert (suite.attrib["tests"], suite.attrib["failures"]) == (str(tests), str(failures))
    assert (root.attrib["tests"], root.attrib["failures"]) == (str(tests), str(failures))


def test_testcase_names_classnames_and_failure_text() -> None:
    by_name = cases(parse(drift()))
    assert by_name["acme"].attrib["classname"] == "orgs_yaml"
    assert by_name["globex"].attrib["classname"] == "specs/team b_yaml"
    assert by_name["legacy"].attrib["classname"] == "acme-prod_eu_auth0_com"
    failure = by_name["acme"].find("failure")
    assert failure is not None
    assert failure.attrib == {"message": "drifted: 4 findings", "type": "drifted"}
    assert failure.text is not None
    assert failure.text.splitlines()[1] == (
        "orgs.yaml:14: [connection_not_allowed] connection google-oauth2 is enabled but not allowed"
    )
    missing = by_name["org_W8ptrr1BXH1qvVm0"].find("failure")
    assert missing is not None and missing.attrib["type"] == "missing"
    assert list(by_name["umbrella"]) == []


def test_warning_is_a_passing_testcase_with_system_out() -> None:
    legacy = cases(parse(unmanaged_report()))["legacy"]
    assert legacy.find("failure") is None
    assert legacy.findtext("system-out") == (
        "warning: [organization_unmanaged] organization legacy exists but is not declared"
    )


def test_unmanaged_under_fail_is_a_failing_testcase() -> None:
    legacy = cases(parse(unmanaged_fail()))["legacy"]
    failure = legacy.find("failure")
    assert failure is not None and failure.attrib["type"] == "unmanaged"


def test_markup_and_control_characters_are_escaped() -> None:
    root = parse(nasty())
    [case] = root.iter("testcase")
    classname = NASTY_FILE.replace(".", "_")
    assert case.attrib == {"classname": classname, "name": NASTY_NAME, "time": "0"}
    text = case.findtext("failure")
    assert text is not None
    assert 'expected "Zoë & <Co> | 100%"' in text
    assert "\\x1b[2J" in text and "\x1b" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x00b\x1bc", "a\\x00b\\x1bc"),
        ("tab\tnl\ncr\r", "tab\\tnl\ncr\\r"),  # newlines join lines already made visible
        ("\ufffe", "\\ufffe"),
        ("ac\u200bme \u202egnp.exe", "ac\\u200bme \\u202egnp.exe"),  # shown as the HTML page does
    ],
)
def test_xml_text_shows_what_xml_cannot_carry_and_invisible_characters(
    text: str, expected: str
) -> None:
    assert xml_text(text) == expected


def test_invalid_spec_is_a_failure_per_file() -> None:
    by_name = cases(parse(invalid()))
    assert sorted(by_name) == ["orgs.yaml", "specs/team b.yaml"]
    failure = by_name["orgs.yaml"].find("failure")
    assert failure is not None and failure.attrib == {"message": "2 problems", "type": "invalid"}
    assert (failure.text or "").startswith("orgs.yaml:4:16: $.policy.connections:")
    usage_case = cases(parse(usage()))["command line"]
    assert "nobody" in (usage_case.findtext("failure") or "")


def test_incomplete_read_is_an_error_never_a_pass() -> None:
    root = parse(incomplete())
    [case] = root.iter("testcase")
    error = case.find("error")
    assert error is not None and error.attrib["type"] == "incomplete"
    assert "HTTP 503" in (error.text or "")
    assert (root.attrib["errors"], root.attrib["failures"]) == ("1", "0")
