"""The owners' checks of the two evidence formats, for every test that writes them.

* GitLab Code Quality: each issue against the JSON Schema GitLab's parser validates issues with
  (tests/data/gitlab-codeclimate.json), and the documented fields beside it (`check_name`, the
  five severities, `location.path` and `location.lines.begin`), and unique fingerprints.
* in-toto: the Statement parsed into in-toto's own protobuf bindings (`in-toto-attestation`)
  and validated by them (`Statement.validate`), the predicate parsed strictly into the
  test-result predicate's proto (unknown fields refused), and the documented rules of that
  predicate (`result` one of PASSED, WARNED, FAILED; `configuration` required).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement
from jsonschema import Draft7Validator

DATA = Path(__file__).parent / "data"
GITLAB_ISSUE = Draft7Validator(
    json.loads((DATA / "gitlab-codeclimate.json").read_text(encoding="utf-8"))
)
GITLAB_SEVERITIES = ("info", "minor", "major", "critical", "blocker")
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"


def codequality_problems(text: str) -> list[str]:
    """What GitLab would refuse or mis-show in a Code Quality report; empty when none."""
    issues = json.loads(text)
    if not isinstance(issues, list):
        return ["not an array of issues"]
    problems = [
        f"[{i}] {error.message}"
        for i, issue in enumerate(issues)
        for error in GITLAB_ISSUE.iter_errors(issue)
    ]
    for i, issue in enumerate(issues):
        if issue.get("severity") not in GITLAB_SEVERITIES:
            problems.append(f"[{i}] severity {issue.get('severity')!r}")
        if not isinstance(issue.get("check_name"), str) or not issue["check_name"]:
            problems.append(f"[{i}] no check_name")
        location = issue.get("location", {})
        if not isinstance(location.get("path"), str) or not location["path"]:
            problems.append(f"[{i}] no location.path")
        begin = location.get("lines", {}).get("begin")
        if not isinstance(begin, int) or begin < 1:
            problems.append(f"[{i}] location.lines.begin {begin!r}")
    fingerprints = [issue.get("fingerprint") for issue in issues]
    if len(set(fingerprints)) != len(fingerprints):
        problems.append("fingerprints repeat (GitLab shows one issue per fingerprint)")
    return problems


def intoto_statement(text: str) -> Statement:
    """The statement as in-toto's bindings read it (ParseError on a field they do not know)."""
    return Statement.copy_from_pb(json_format.Parse(text, statement_pb2.Statement()))


def intoto_problems(text: str) -> list[str]:
    """What in-toto's bindings and the test-result predicate's rules refuse; empty when none."""
    try:
        statement = intoto_statement(text)
        statement.validate()
    except (json_format.ParseError, ValueError) as exc:
        return [f"statement: {exc}"]
    document: dict[str, Any] = json.loads(text)
    if document["predicateType"] != TEST_RESULT:
        return [f"predicateType {document['predicateType']!r}"]
    predicate = document["predicate"]
    try:
        result = json_format.ParseDict(predicate, test_result_pb2.TestResult())
    except json_format.ParseError as exc:
        return [f"predicate: {exc}"]
    problems = []
    if result.result not in ("PASSED", "WARNED", "FAILED"):
        problems.append(f"result {result.result!r}")
    if not result.configuration:
        problems.append("no configuration")
    for i, descriptor in enumerate(result.configuration):
        try:
            ResourceDescriptor.copy_from_pb(descriptor).validate()
        except ValueError as exc:
            problems.append(f"configuration[{i}]: {exc}")
    return problems
