"""The two evidence formats beyond the goldens: GitLab Code Quality agrees with SARIF (two
renderings of the same findings), its fingerprints are unique whatever the input, the GitLab
example publishes it; the in-toto statement's verdict, tests, subjects and CI run per outcome."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orgdrift.evidence import ci_run_url
from orgdrift.reporters import RenderOptions, get_reporter
from orgdrift.reporters._common import Counts
from orgdrift.reporters.codequality import unique_fingerprints

from .evidence_support import codequality_problems, intoto_problems
from .reporters.factory import CASES
from .test_cli_check import ROOT, TENANT, clean_env, in_sync_tenant, run
from .test_examples_ci import load, only_command, reports

__all__ = ["clean_env"]  # the autouse fixture: no credentials or CI variables leak in


def _spec(tmp_path: Path, unmanaged: str = "ignore") -> str:
    """The example spec; unmanaged organizations ignored (the example tenant file lists only
    some of the tenant's organizations)."""
    text = (ROOT / "examples" / "orgs.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "orgs.yaml"
    spec.write_text(
        text.replace("unmanaged_organizations: report", f"unmanaged_organizations: {unmanaged}")
    )
    return str(spec)


def _snapshot(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def _check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, document: dict[str, Any], *more: str
) -> tuple[int, dict[str, str]]:
    """`check --live` of the example spec against `document`, every evidence-related format as
    a report file; the exit code and the files' texts."""
    formats = ("json", "sarif", "codequality", "intoto")
    targets = {fmt: tmp_path / f"report.{fmt}" for fmt in formats}
    code, _, err = run(
        capsys,
        "check",
        _spec(tmp_path),
        "--live",
        _snapshot(tmp_path, document),
        *(f"--report={fmt}={path}" for fmt, path in targets.items()),
        *more,
    )
    assert "Traceback" not in err
    return code, {fmt: path.read_text(encoding="utf-8") for fmt, path in targets.items()}


# --- GitLab Code Quality ----------------------------------------------------------------------


def test_code_quality_and_sarif_locate_the_same_findings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, texts = _check(capsys, tmp_path, TENANT)
    assert code == 1
    assert codequality_problems(texts["codequality"]) == []
    issues = json.loads(texts["codequality"])
    [sarif_run] = json.loads(texts["sarif"])["runs"]
    from_sarif = sorted(
        (
            r["partialFingerprints"]["orgdriftFinding/v1"],
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in sarif_run["results"]
        if "partialFingerprints" in r
    )
    from_gitlab = sorted(
        (
            i["fingerprint"],
            i["check_name"].removeprefix("orgdrift/"),
            i["location"]["lines"]["begin"],
        )
        for i in issues
    )
    assert from_gitlab == from_sarif and len(from_gitlab) == 3
    findings = json.loads(texts["json"])["organizations"]
    fingerprints = {f["fingerprint"] for org in findings for f in org["findings"]}
    assert {i["fingerprint"] for i in issues} == fingerprints  # the finding's own identity
    assert {i["severity"] for i in issues} == {"critical"}  # each one fails the check


def test_an_accepted_finding_is_info_and_warnings_are_minor(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = Path(_spec(tmp_path, unmanaged="ignore"))
    spec.write_text(
        spec.read_text(encoding="utf-8")
        + "exceptions:\n"
        + "  - organization: globex\n    kind: field_changed\n"
        + "    reason: rename pending, SEC-1\n    owner: '@platform'\n    expires: 2999-01-31\n"
        + "  - organization: nobody\n    reason: left over\n    expires: 2999-01-31\n",
        encoding="utf-8",
    )
    code, _, _ = run(
        capsys,
        "check",
        str(spec),
        "--live",
        _snapshot(tmp_path, TENANT),
        f"--report=codequality={tmp_path / 'cq.json'}",
        f"--report=json={tmp_path / 'r.json'}",
    )
    assert code == 1
    text = (tmp_path / "cq.json").read_text(encoding="utf-8")
    assert codequality_problems(text) == []
    by_check = {(i["check_name"], i["severity"]) for i in json.loads(text)}
    assert ("orgdrift/field_changed", "info") in by_check
    assert ("orgdrift/exception", "minor") in by_check  # the exception that matches nothing
    [applied] = json.loads((tmp_path / "r.json").read_text())["evidence"]["exceptions_applied"]
    assert (applied["reason"], applied["owner"], applied["expires"], applied["findings"]) == (
        "rename pending, SEC-1",
        "@platform",
        "2999-01-31",
        1,
    )
    assert applied["id"] == f"{spec}:{applied['source']['line']}"


issue = st.fixed_dictionaries({"fingerprint": st.sampled_from(["a", "b", "c"]), "n": st.integers()})


@given(st.lists(issue, max_size=12))
def test_fingerprints_are_made_unique_first_ones_kept(issues: list[dict[str, Any]]) -> None:
    unique = unique_fingerprints(issues)
    keys = [i["fingerprint"] for i in unique]
    assert len(set(keys)) == len(keys)
    assert [{**i, "fingerprint": None} for i in unique] == [
        {**i, "fingerprint": None} for i in issues
    ]
    firsts = {}
    for original, done in zip(issues, unique, strict=True):
        firsts.setdefault(original["fingerprint"], done["fingerprint"])
    assert all(k == v for k, v in firsts.items())


def test_the_gitlab_example_publishes_code_quality() -> None:
    job = load("gitlab-ci.yml")["orgdrift"]
    targets = reports(only_command("gitlab-ci.yml", "check"))
    assert job["artifacts"]["reports"]["codequality"] == targets["codequality"]
    assert job["artifacts"]["when"] == "always"  # drift (exit 1) still publishes it


# --- in-toto --------------------------------------------------------------------------------


def _predicate(text: str) -> dict[str, Any]:
    assert intoto_problems(text) == []
    predicate: dict[str, Any] = json.loads(text)["predicate"]
    return predicate


def test_in_sync_without_findings_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, texts = _check(capsys, tmp_path, in_sync_tenant())
    assert code == 0
    predicate = _predicate(texts["intoto"])
    assert predicate["result"] == "PASSED"
    assert predicate["passedTests"] == ["acme", "globex", "initech", "umbrella", "hooli"]
    assert predicate["warnedTests"] == predicate["failedTests"] == []
    assert json.loads(texts["codequality"]) == []


def test_drift_fails_and_names_the_organizations(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, texts = _check(capsys, tmp_path, TENANT)
    assert code == 1
    predicate = _predicate(texts["intoto"])
    assert predicate["result"] == "FAILED"
    assert predicate["failedTests"] == ["acme", "globex", "initech"]
    assert predicate["passedTests"] == ["umbrella", "hooli"]
    configuration = predicate["configuration"]
    spec_bytes = Path(tmp_path / "orgs.yaml").read_bytes()
    assert configuration[0]["digest"] == {"sha256": hashlib.sha256(spec_bytes).hexdigest()}
    assert configuration[-1] == {"name": "orgdrift", "uri": "pkg:pypi/orgdrift@0.1.0"}


def test_subjects_are_the_spec_the_snapshot_and_the_live_state(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, texts = _check(capsys, tmp_path, TENANT)
    assert code == 1
    subjects = {s["name"]: s["digest"]["sha256"] for s in json.loads(texts["intoto"])["subject"]}
    evidence = json.loads(texts["json"])["evidence"]
    snapshot = tmp_path / "tenant.json"
    assert subjects == {
        str(tmp_path / "orgs.yaml"): hashlib.sha256(
            (tmp_path / "orgs.yaml").read_bytes()
        ).hexdigest(),
        str(snapshot): hashlib.sha256(snapshot.read_bytes()).hexdigest(),
        "live-state:orgdrift-demo.us.auth0.com": evidence["live_state_sha256"],
    }
    assert evidence["snapshots"] == [
        {"path": str(snapshot), "sha256": subjects[str(snapshot)], "role": "read"}
    ]


def test_no_verdict_is_never_a_pass(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Exit 3 (here: unmanaged organizations asked for, the snapshot not complete) and exit 2
    (an invalid spec): FAILED, no test named, Code Quality a blocker."""
    spec = _spec(tmp_path, unmanaged="report")
    target = tmp_path / "s.intoto.json"
    for args, expected in (
        (["check", spec, "--live", _snapshot(tmp_path, in_sync_tenant())], 3),
        (["check", "examples/broken.yaml", "--live", _snapshot(tmp_path, TENANT)], 2),
    ):
        code, _, _ = run(
            capsys, *args, f"--report=intoto={target}", f"--report=codequality={tmp_path / 'c'}"
        )
        assert code == expected
        predicate = _predicate(target.read_text(encoding="utf-8"))
        assert predicate["result"] == "FAILED"
        assert predicate["passedTests"] == predicate["warnedTests"] == []
        assert predicate["failedTests"] == []
        issues = json.loads((tmp_path / "c").read_text(encoding="utf-8"))
        assert issues and {i["severity"] for i in issues} == {"blocker"}


def test_nothing_to_attest_without_a_readable_spec(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "s.intoto.json"
    code, _, err = run(
        capsys,
        "check",
        str(tmp_path / "absent.yaml"),
        "--live",
        _snapshot(tmp_path, TENANT),
        f"--report=intoto={target}",
    )
    assert code == 2
    assert "no spec file could be read, so there is nothing to attest" in err
    assert not target.exists()


@pytest.mark.parametrize(
    ("env", "url"),
    [
        (
            {
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_REPOSITORY": "acme/auth0",
                "GITHUB_RUN_ID": "42",
                "GITHUB_RUN_ATTEMPT": "2",
            },
            "https://github.com/acme/auth0/actions/runs/42/attempts/2",
        ),
        (
            {
                "GITHUB_SERVER_URL": "https://ghe.example.com/",
                "GITHUB_REPOSITORY": "acme/auth0",
                "GITHUB_RUN_ID": "42",
            },
            "https://ghe.example.com/acme/auth0/actions/runs/42",
        ),
        (
            {"CI_JOB_URL": "https://gitlab.com/acme/auth0/-/jobs/7"},
            "https://gitlab.com/acme/auth0/-/jobs/7",
        ),
        ({"GITHUB_RUN_ID": "42"}, None),
        ({}, None),
    ],
)
def test_the_ci_run_url_comes_from_the_environment(
    env: dict[str, str],
    url: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert ci_run_url(env) == url
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, texts = _check(capsys, tmp_path, TENANT)
    assert code == 1
    assert _predicate(texts["intoto"]).get("url") == url
    assert json.loads(texts["json"])["evidence"]["ci_run_url"] == url


# --- every hand-built report: the owners' checks, and the verdicts agree with the counts -------


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_case_passes_the_owners_checks(case: str) -> None:
    report = CASES[case]()
    text = get_reporter("intoto").render(report, RenderOptions())
    assert intoto_problems(text) == []
    assert codequality_problems(get_reporter("codequality").render(report, RenderOptions())) == []
    predicate = json.loads(text)["predicate"]
    named = predicate["passedTests"] + predicate["warnedTests"] + predicate["failedTests"]
    if not report.verdict:
        assert (predicate["result"], named) == ("FAILED", [])
        return
    counts = Counts.of(report)
    assert sorted(named) == sorted(org.label for org in report.organizations)
    assert len(predicate["failedTests"]) == counts.failing
    assert len(predicate["passedTests"]) == sum(1 for o in report.organizations if not o.findings)
    expected = "FAILED" if not report.in_sync else "PASSED"
    if report.in_sync and (counts.findings or report.warnings):
        expected = "WARNED"
    assert predicate["result"] == expected
