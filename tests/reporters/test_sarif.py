"""SARIF 2.1.0: valid against the OASIS schema, results at spec lines, stable fingerprints."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from orgdrift.errors import Location
from orgdrift.models import FindingKind, Report
from orgdrift.reporters import RenderOptions, get_reporter
from orgdrift.reporters.sarif import FINGERPRINT_KEY, artifact_uri, message_text

from .factory import CASES, drift, in_sync, incomplete, invalid, unmanaged_report

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"


def sarif(report: Report) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(get_reporter("sarif").render(report, RenderOptions()))
    return document


def results(report: Report) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sarif(report)["runs"][0]["results"]
    return found


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return Draft4Validator(schema)


@pytest.mark.parametrize("case", sorted(CASES))
def test_valid_against_the_sarif_schema(case: str, validator: Draft4Validator) -> None:
    errors = [e.message for e in validator.iter_errors(sarif(CASES[case]()))]
    assert errors == []


def test_driver_has_one_rule_per_kind() -> None:
    run = sarif(in_sync())["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("orgdrift", "0.1.0")
    assert driver["informationUri"].startswith("https://")
    kinds = [kind.value for kind in FindingKind]
    assert [rule["id"] for rule in driver["rules"]] == [*kinds, "invalid_input", "exception"]
    for rule in driver["rules"]:
        assert rule["name"] and rule["shortDescription"]["text"] and rule["help"]["text"]
        assert rule["helpUri"].startswith("https://")
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert run["results"] == []


def test_results_are_located_at_spec_lines() -> None:
    found = results(drift())
    assert len(found) == 7
    second = found[1]
    assert second["ruleId"] == "connection_not_allowed"
    rules = sarif(drift())["runs"][0]["tool"]["driver"]["rules"]
    assert rules[second["ruleIndex"]]["id"] == second["ruleId"]
    assert second["level"] == "error"
    assert second["message"]["text"] == "acme: connection google-oauth2 is enabled but not allowed"
    [location] = second["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "orgs.yaml", "uriBaseId": "SRCROOT"},
        "region": {"startLine": 14, "startColumn": 5},
    }
    assert location["logicalLocations"] == [{"name": "acme", "kind": "object"}]
    assert found[4]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "specs/team%20b.yaml"
    )


def test_every_result_has_a_region() -> None:
    for case in CASES.values():
        for result in sarif(case()).get("runs")[0].get("results", []):
            assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1


def test_sourceless_findings_point_at_line_1_of_the_first_spec_file() -> None:
    [result] = results(unmanaged_report())
    assert result["level"] == "warning"
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "orgs.yaml", "uriBaseId": "SRCROOT"},
        "region": {"startLine": 1, "startColumn": 1},
    }


def test_without_spec_files_a_logical_location_remains() -> None:
    [result] = results(dataclasses.replace(unmanaged_report(), spec_files=()))
    assert result["locations"] == [{"logicalLocations": [{"name": "legacy", "kind": "object"}]}]


def test_paths_are_relative_to_the_repository_root() -> None:
    paths = {"orgs.yaml": "deploy/auth0/orgs.yaml", "specs/team b.yaml": "/elsewhere/team b.yaml"}
    text = get_reporter("sarif").render(drift(), RenderOptions(paths=paths))
    found = json.loads(text)["runs"][0]["results"]
    artifacts = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in found]
    assert {"uri": "deploy/auth0/orgs.yaml", "uriBaseId": "SRCROOT"} in artifacts
    assert {"uri": "file:///elsewhere/team%20b.yaml"} in artifacts


def test_invalid_spec_results_and_incomplete_run() -> None:
    found = results(invalid())
    assert [r["ruleId"] for r in found] == ["invalid_input"] * 3
    assert found[0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 4,
        "startColumn": 16,
    }
    run = sarif(incomplete())["runs"][0]
    assert "results" not in run  # absent: the analysis did not complete (empty would close alerts)
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "HTTP 503" in note["message"]["text"]


def test_fingerprints_are_unique_and_survive_moved_lines() -> None:
    report = drift()
    before = [r["partialFingerprints"][FINGERPRINT_KEY] for r in results(report)]
    assert len(set(before)) == len(before)
    moved = dataclasses.replace(
        report,
        organizations=tuple(
            dataclasses.replace(
                org,
                findings=tuple(
                    dataclasses.replace(
                        f,
                        source=None
                        if f.source is None
                        else Location(f.source.file, f.source.line + 40, 1),
                    )
                    for f in org.findings
                ),
            )
            for org in report.organizations
        ),
    )
    after = [r["partialFingerprints"][FINGERPRINT_KEY] for r in results(moved)]
    assert results(moved)[0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 49,
        "startColumn": 1,
    }
    assert sorted(after) == sorted(before)


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("orgs.yaml", "orgs.yaml"),
        ("./specs/orgs.yaml", "specs/orgs.yaml"),
        ("specs\\win.yaml", "specs/win.yaml"),
        ("a b/ü#?.yaml", "a%20b/%C3%BC%23%3F.yaml"),
        ("/abs/orgs.yaml", "file:///abs/orgs.yaml"),
        ("C:\\work\\orgs.yaml", "file:///C:/work/orgs.yaml"),
    ],
)
def test_artifact_uri(path: str, uri: str) -> None:
    assert artifact_uri(path) == uri


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain: display_name is 'x'", "plain: display_name is 'x'"),
        ("a {0} placeholder", "a {{0}} placeholder"),  # 3.11.5: braces doubled
        ("[click](1) and [x]", r"\[click\](1) and \[x\]"),  # 3.11.6: no embedded link
        ("back\\[ and back\\slash", r"back\\\[ and back\slash"),  # the backslash before [ too
        ("esc\x1b[2J \u202eexe.txt ac\u200bme", r"esc\x1b\[2J \u202eexe.txt ac\u200bme"),
    ],
)
def test_message_text_escaping(text: str, expected: str) -> None:
    assert message_text(text) == expected


def test_untrusted_text_in_results_is_escaped(validator: Draft4Validator) -> None:
    hostile = "e{1}[link](0)\x1b[31m\u202e"
    value = dataclasses.replace(
        drift(),
        organizations=tuple(
            dataclasses.replace(
                o,
                findings=tuple(dataclasses.replace(f, message=hostile) for f in o.findings),
            )
            for o in drift().organizations
        ),
    )
    document = sarif(value)
    validator.validate(document)
    texts = [r["message"]["text"] for r in document["runs"][0]["results"]]
    assert texts and all(message_text(hostile) in t for t in texts)
    assert all("\x1b" not in t and "{{1}}" in t and "[link]" not in t for t in texts)
