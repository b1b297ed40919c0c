"""An in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
with the test-result predicate (https://in-toto.io/attestation/test-result/v0.1): what a CI
system signs (GitHub's artifact attestations: `actions/attest`) so that an auditor can check the
verdict came from this run over these inputs.

* `subject`: the spec files by the sha256 of their bytes; the snapshot files read (`--live`,
  `--since`) or written (`--write-snapshot`) likewise; and the live state compared, by the sha256 of its
  canonical JSON (orgdrift/evidence.py), named `live-state:<tenant>`.
* `predicate.result`: PASSED (in sync, no finding at all), WARNED (in sync, with findings that do
  not fail: warnings, accepted, known), FAILED (drift). Exit 2 and 3 compared nothing, nor does
  `validate`: FAILED with no test names, so that no policy asking for PASSED accepts a run
  without a verdict. With no spec file readable there is no subject: exit 2, nothing written.
* `configuration`: the spec files (ResourceDescriptors: path, sha256, the git commit as an
  annotation) and orgdrift itself (`pkg:pypi/orgdrift@VERSION`).
* `passedTests`, `warnedTests`, `failedTests`: the organizations, by label, as their findings put
  them.
* `url`: the CI run, when the environment told it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from orgdrift.errors import UsageError
from orgdrift.models import OrgResult, Report, SnapshotFile, SpecFile
from orgdrift.reporters._common import (
    TOOL_NAME,
    RenderOptions,
    json_document,
    ordered_organizations,
    org_fails,
)

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"


def _file(file: SpecFile | SnapshotFile, options: RenderOptions) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "name": options.repo_path(file.path),
        "digest": {"sha256": file.sha256},
    }
    if isinstance(file, SpecFile) and file.commit is not None:
        descriptor["annotations"] = {"gitCommit": file.commit}
    return descriptor


def _subjects(report: Report, options: RenderOptions) -> list[dict[str, Any]]:
    evidence = report.evidence
    files: list[SpecFile | SnapshotFile] = [*report.spec_files, *evidence.snapshots]
    subjects = [_file(file, options) for file in files]
    if evidence.live_sha256 is not None:
        name = f"live-state:{report.tenant or 'unknown'}"
        subjects.append({"name": name, "digest": {"sha256": evidence.live_sha256}})
    if not subjects:
        raise UsageError(
            "in-toto statement: no spec file could be read, so there is nothing to attest"
        )
    return subjects


def _verdict(org: OrgResult) -> str:
    return "failed" if org_fails(org) else "warned" if org.findings else "passed"


def _result(report: Report, verdicts: list[str]) -> str:
    if not report.verdict or not report.in_sync:
        return "FAILED"
    return "WARNED" if report.warnings or "warned" in verdicts else "PASSED"


def _predicate(report: Report, options: RenderOptions) -> dict[str, Any]:
    orgs = ordered_organizations(report) if report.verdict else []
    verdicts = [_verdict(org) for org in orgs]
    predicate: dict[str, Any] = {
        "result": _result(report, verdicts),
        "configuration": [
            *(_file(spec, options) for spec in report.spec_files),
            {"name": TOOL_NAME, "uri": f"pkg:pypi/{TOOL_NAME}@{report.tool_version}"},
        ],
    }
    if report.evidence.ci_run_url is not None:
        predicate["url"] = report.evidence.ci_run_url
    for verdict in ("passed", "warned", "failed"):  # passedTests, warnedTests, failedTests
        tests = [org.label for org, v in zip(orgs, verdicts, strict=True) if v == verdict]
        predicate[f"{verdict}Tests"] = tests
    return predicate


class InTotoReporter:
    name: ClassVar[str] = "intoto"
    description: ClassVar[str] = "an in-toto Statement v1, test-result predicate (to sign in CI)"
    suffix: ClassVar[str] = ".intoto.json"

    def render(self, report: Report, options: RenderOptions) -> str:
        statement = {
            "_type": STATEMENT_TYPE,
            "subject": _subjects(report, options),
            "predicateType": TEST_RESULT,
            "predicate": _predicate(report, options),
        }
        return json_document(statement)
