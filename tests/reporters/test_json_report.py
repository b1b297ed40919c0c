"""The JSON report: schema-valid, stable key order, deterministic apart from checked_at/stats."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from orgdrift.models import Report, Stats
from orgdrift.reporters import RenderOptions, get_reporter, report_to_dict
from orgdrift.reporters._common import json_value
from orgdrift.resources import REPORT_SCHEMA, load_schema

from .factory import CASES, drift, nasty, unmanaged_report


def render(report: Report) -> str:
    return get_reporter("json").render(report, RenderOptions())


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = load_schema(REPORT_SCHEMA)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_report_is_valid_against_the_schema(
    case: str, validator: Draft202012Validator
) -> None:
    document = json.loads(render(CASES[case]()))
    errors = [e.message for e in validator.iter_errors(document)]
    assert errors == []


def test_schema_rejects_unknown_keys(validator: Draft202012Validator) -> None:
    document = report_to_dict(drift())
    document["organizations"][0]["findings"][0]["extra"] = 1
    assert not validator.is_valid(document)


def test_key_order_and_layout() -> None:
    text = render(drift())
    assert list(json.loads(text)) == [
        "tool",
        "tool_version",
        "report_version",
        "status",
        "exit_code",
        "tenant",
        "checked_at",
        "spec_files",
        "scope",
        "in_sync",
        "summary",
        "organizations",
        "problems",
        "warnings",
        "incomplete",
        "stats",
        "source",
        "evidence",
    ]
    assert text.startswith('{\n  "tool": "orgdrift",\n')
    assert text.endswith("}\n")


def test_summary_and_statuses() -> None:
    document = report_to_dict(drift())
    assert document["in_sync"] is False
    assert document["summary"] == {
        "declared": 4,
        "in_sync": 1,
        "drifted": 2,
        "missing": 1,
        "unmanaged": 1,
        "findings": 7,
        "failing": 7,
        "accepted": 0,
        "known": 0,
    }
    names = [(o["name"], o["id"], o["status"]) for o in document["organizations"]]
    assert names == [
        ("acme", "org_acme0000000001", "drifted"),
        (None, "org_W8ptrr1BXH1qvVm0", "missing"),
        ("umbrella", "org_umbrella000001", "in_sync"),
        ("globex", "org_globex00000001", "drifted"),
        ("legacy", "org_legacy0000001", "unmanaged"),
    ]
    assert document["stats"] == {"requests": 7, "retries": 1, "rate_limited": 1, "seconds": 1.234}


def test_warnings_keep_the_report_in_sync() -> None:
    document = report_to_dict(unmanaged_report())
    assert document["in_sync"] is True
    [finding] = document["organizations"][1]["findings"]
    assert finding["severity"] == "warning"
    assert finding["source"] is None


def test_only_checked_at_and_stats_change_between_runs() -> None:
    first = render(drift())
    later = dataclasses.replace(
        drift(), checked_at="2024-05-02T08:30:00Z", stats=Stats(99, 5, 3, 42.0)
    )
    second = json.loads(render(later))
    changed = {key for key, value in json.loads(first).items() if second[key] != value}
    assert changed == {"checked_at", "stats"}
    pairs = zip(first.splitlines(), render(later).splitlines(), strict=True)
    differing_lines = [a for a, b in pairs if a != b]
    assert len(differing_lines) == 5  # checked_at + the four stats lines


def test_unicode_and_control_characters_round_trip() -> None:
    report = nasty()
    document = json.loads(render(report))
    finding = document["organizations"][0]["findings"][0]
    assert finding["organization"] == report.findings[0].organization
    assert finding["actual"] == 'line one\nline "two"\r\n\x1b[31mred'
    assert "zoë" in render(report)  # readable, not \u-escaped


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, "a"), [1, "a"]),
        ({"b": 1, "a": (2,)}, {"a": [2], "b": 1}),
        ({1: True}, {"1": True}),
        (frozenset({"y", "x"}), ["x", "y"]),
        (math.inf, "inf"),
        (math.nan, "nan"),
        (None, None),
        (2.5, 2.5),
    ],
)
def test_json_value_makes_values_json_safe(value: Any, expected: Any) -> None:
    assert json_value(value) == expected
    json.dumps(json_value(value), allow_nan=False)


def test_value_key_order_does_not_depend_on_live_key_order() -> None:
    assert list(json_value({"z": 1, "a": 2})) == ["a", "z"]
