"""Every format in every outcome, read by the real consumer's rules where one runs here:
Jenkins' junit-10.xsd (xmlschema), the OASIS SARIF 2.1.0 schema, GitHub's annotation limits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import xmlschema
from jsonschema import Draft4Validator, Draft202012Validator

from orgdrift.models import Report
from orgdrift.reporters import RenderOptions, get_reporter
from orgdrift.reporters.github import ANNOTATIONS_PER_LEVEL
from orgdrift.resources import REPORT_SCHEMA, load_schema

from .factory import CASES
from .test_markdown import many_drifted

DATA = Path(__file__).resolve().parents[1] / "data"
JENKINS = xmlschema.XMLSchema10(DATA / "junit-10.xsd")
SARIF = Draft4Validator(json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")))
REPORT = Draft202012Validator(load_schema(REPORT_SCHEMA))


def render(fmt: str, report: Report) -> str:
    return get_reporter(fmt).render(report, RenderOptions())


@pytest.mark.parametrize("case", sorted(CASES))
def test_junit_is_valid_for_jenkins(case: str) -> None:
    text = render("junit", CASES[case]())
    JENKINS.validate(text.encode("utf-8"))
    for classname in re.findall(r'classname="([^"]*)"', text):
        assert "." not in classname  # Jenkins would split it into package and class


@pytest.mark.parametrize("case", sorted(CASES))
def test_sarif_is_valid(case: str) -> None:
    assert [e.message for e in SARIF.iter_errors(json.loads(render("sarif", CASES[case]())))] == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_json_is_valid_and_only_verdicts_read_as_one(case: str) -> None:
    report = CASES[case]()
    document = json.loads(render("json", report))
    REPORT.validate(document)
    assert document["status"] == report.status.value
    if document["status"] not in ("in_sync", "drift"):
        assert document["in_sync"] is None and document["summary"] is None
        assert document["organizations"] == []


def test_junit_of_a_big_drift_is_valid_for_jenkins() -> None:
    JENKINS.validate(render("junit", many_drifted(600)).encode("utf-8"))


def test_github_annotations_stay_within_the_limit_and_name_the_total() -> None:
    lines = render("github", many_drifted(600)).splitlines()
    errors = [line for line in lines if line.startswith("::error")]
    assert len(errors) == ANNOTATIONS_PER_LEVEL
    assert "600 errors in all; the first 9 are annotated" in errors[-1]
    logged = [line for line in lines if line.startswith("orgdrift: error: orgs.yaml:")]
    assert len(logged) == 600 - 9  # every finding stays visible in the log
    assert lines[-1].startswith("::notice::orgdrift: drift: 600 findings")


def test_ten_annotations_need_no_summary() -> None:
    lines = render("github", many_drifted(ANNOTATIONS_PER_LEVEL)).splitlines()
    assert sum(1 for line in lines if line.startswith("::error")) == ANNOTATIONS_PER_LEVEL
    assert not any(line.startswith("orgdrift: ") for line in lines)
