"""Reports in every outcome, end to end: the CLI against the emulator over
a loopback socket, every format on stdout and as --report files, for exits 0, 1, 2 and 3; output
targets; paths relative to the repository root; scope; the custom-domain hint."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from jsonschema import Draft4Validator

from orgdrift.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    EmulatorConfig,
    Fault,
    FaultContext,
)
from orgdrift.reporters import REPORTERS

from .evidence_support import codequality_problems, intoto_problems
from .test_cli_check import ROOT, TENANT, clean_env, in_sync_tenant, json_report, run, serve

__all__ = ["clean_env"]  # the autouse fixture: no credentials or CI variables leak in

DATA = ROOT / "tests" / "data"
JENKINS = xmlschema.XMLSchema10(DATA / "junit-10.xsd")
SARIF = Draft4Validator(json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")))
EXTENSION = {
    "text": "txt",
    "json": "json",
    "markdown": "md",
    "junit": "xml",
    "sarif": "sarif",
    "github": "github.txt",
    "html": "html",
    "codequality": "codequality.json",
    "intoto": "intoto.json",
}


class Requests:
    """Counts the API requests the emulator answered (a fault hook that never faults)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, ctx: FaultContext) -> Fault | None:
        self.count += 1
        return None


@pytest.fixture
def requests() -> Requests:
    return Requests()


def tenant(
    monkeypatch: pytest.MonkeyPatch, document: dict[str, Any], config: EmulatorConfig
) -> Iterator[str]:
    for url in serve(document, config):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        yield url


@pytest.fixture
def drift_tenant(monkeypatch: pytest.MonkeyPatch, requests: Requests) -> Iterator[str]:
    yield from tenant(monkeypatch, TENANT, EmulatorConfig(faults=requests))


def stable(text: str) -> str:
    """Blank what changes between runs: time, durations, the loopback port, request counts."""
    text = re.sub(r"127([._])0[._]0[._]1([:_]|%3A)\d+", r"127\g<1>0\g<1>0\g<1>1\2PORT", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", text)
    text = re.sub(r'time="[0-9.]+"', 'time="<s>"', text)
    text = re.sub(r"\d+ requests?, \d+ retr(y|ies), \d+ rate limited, [0-9.]+ s", "<stats>", text)
    # a fingerprint hashes the tenant, here 127.0.0.1 with a new port each run
    text = re.sub(
        r'"(fingerprint|orgdriftFinding/v1)": "[0-9a-f]+"', r'"\1": "<fingerprint>"', text
    )
    text = re.sub(r"<dt>fingerprint</dt><dd>[0-9a-f]+</dd>", "<dt>fingerprint</dt><dd>-</dd>", text)
    # the commit checked out, and the live state's digest (it holds the time of the read)
    text = re.sub(r'"(gitCommit|commit)": "[0-9a-f]{40}"', r'"\1": "<commit>"', text)
    text = re.sub(
        r'("name": "live-state:[^"]*",\s*"digest": \{\s*"sha256": ")[0-9a-f]{64}',
        r"\1<sha256>",
        text,
    )
    text = re.sub(r'"(live_state_sha256)": "[0-9a-f]{64}"', r'"\1": "<sha256>"', text)
    text = re.sub(r"(<dt>Live state sha256 [^<]*</dt><dd><code>)[0-9a-f]{64}", r"\1<sha256>", text)
    text = re.sub(r"(</code></td><td><code>)[0-9a-f]{40}(</code></td></tr>)", r"\1<commit>\2", text)
    return re.sub(r'"(requests|retries|rate_limited|seconds)": [0-9.]+', r'"\1": 0', text)


def every_report(tmp_path: Path) -> list[str]:
    return [f"--report={fmt}={tmp_path / ('report.' + EXTENSION[fmt])}" for fmt in REPORTERS]


def read_reports(tmp_path: Path) -> dict[str, str]:
    return {
        fmt: (tmp_path / f"report.{EXTENSION[fmt]}").read_text(encoding="utf-8")
        for fmt in REPORTERS
    }


def consumers_accept(reports: dict[str, str]) -> None:
    json_report(reports["json"])
    JENKINS.validate(reports["junit"].encode("utf-8"))
    assert [e.message for e in SARIF.iter_errors(json.loads(reports["sarif"]))] == []
    assert codequality_problems(reports["codequality"]) == []
    assert intoto_problems(reports["intoto"]) == []


OUTCOMES = {
    0: ("check", "examples/orgs.yaml"),
    1: ("check", "examples/orgs.yaml"),
    2: ("check", "examples/broken.yaml"),
    3: ("check", "examples/orgs.yaml"),
}


@pytest.mark.parametrize("code", sorted(OUTCOMES))
def test_every_format_in_every_outcome(
    code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    golden: Any,
) -> None:
    document = in_sync_tenant() if code == 0 else TENANT
    for _ in tenant(monkeypatch, document, EmulatorConfig()):
        if code == 3:
            monkeypatch.setenv("AUTH0_API_TOKEN", "revoked-token")
        got, out, err = run(capsys, *OUTCOMES[code], *every_report(tmp_path), "--format", "json")
    assert got == code, err
    reports = read_reports(tmp_path)
    consumers_accept(reports)
    assert json.loads(out) == json.loads(reports["json"])
    for fmt, text in reports.items():
        golden(f"outcomes/exit{code}.{EXTENSION[fmt]}", stable(text))
    if code in (2, 3):
        assert err.startswith(("examples/broken.yaml:4:16:", "orgdrift: error: GET"))


def test_exit_3_never_reads_as_a_verdict(
    drift_tenant: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AUTH0_API_TOKEN", "revoked-token")
    code, out, _ = run(capsys, "check", "examples/orgs.yaml", *every_report(tmp_path))
    assert code == 3
    assert out == ""  # text: the error is on stderr only
    reports = read_reports(tmp_path)
    document = json.loads(reports["json"])
    assert (document["status"], document["exit_code"]) == ("incomplete", 3)
    assert document["in_sync"] is None and document["summary"] is None
    assert "HTTP 401" in document["incomplete"]["message"]
    suite = ET.fromstring(reports["junit"])
    assert suite.find("testsuite/testcase/error") is not None
    assert suite.find("testsuite/testcase/failure") is None
    [run_] = json.loads(reports["sarif"])["runs"]
    assert run_["invocations"][0]["executionSuccessful"] is False
    assert "results" not in run_
    assert reports["github"].startswith("::error title=orgdrift incomplete::")
    assert "[!WARNING]" in reports["markdown"] and "in sync" not in reports["markdown"]
    assert "No verdict: the tenant could not be read completely" in reports["html"]
    assert "In sync" not in reports["html"] and "Drift found" not in reports["html"]


def test_validate_takes_format_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "validate", "examples/broken.yaml", "--format", "github", *every_report(tmp_path)
    )
    assert code == 2
    annotations = [line for line in out.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 9
    assert annotations[0].startswith("::error file=examples/broken.yaml,line=4,col=16,")
    assert err.splitlines()[-1] == "orgdrift: 9 problems found"
    reports = read_reports(tmp_path)
    consumers_accept(reports)
    assert len(json.loads(reports["json"])["problems"]) == 9
    assert len(json.loads(reports["sarif"])["runs"][0]["results"]) == 9
    failure = ET.fromstring(reports["junit"]).find("testsuite/testcase/failure")
    assert failure is not None and failure.attrib["message"] == "9 problems"
    code, out, _ = run(capsys, "validate", "examples/orgs.yaml", "--format", "json")
    assert code == 0
    assert json.loads(out)["status"] == "valid"


# --- output targets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "report",
    [
        "json=examples/orgs.yaml",  # an input
        "json=./examples/../examples/orgs.yaml",  # the same input, spelled differently
        "json=no/such/directory/report.json",
        "json=examples",  # a directory
    ],
)
def test_bad_targets_are_refused_before_any_request(
    report: str, drift_tenant: str, requests: Requests, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (ROOT / "examples" / "orgs.yaml").read_bytes()
    code, out, err = run(capsys, "check", "examples/orgs.yaml", "--report", report)
    assert code == 2
    assert requests.count == 0
    assert out == ""
    assert "orgdrift: error:" in err
    assert (ROOT / "examples" / "orgs.yaml").read_bytes() == before


def test_the_same_target_twice_is_refused(
    tmp_path: Path, drift_tenant: str, requests: Requests, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "r"
    code, _, err = run(
        capsys, "check", "examples/orgs.yaml", f"--report=json={target}", f"--report=sarif={target}"
    )
    assert code == 2 and requests.count == 0
    assert "named as an output twice" in err
    code, _, err = run(
        capsys, "check", "examples/orgs.yaml", "--format", "json", "--report", "sarif=-"
    )
    assert code == 2 and "named as an output twice" in err


def test_snapshot_and_export_targets_are_checked_first(
    tmp_path: Path, drift_tenant: str, requests: Requests, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "snapshot", "examples/orgs.yaml", "-o", "examples/orgs.yaml")
    assert code == 2 and "input" in err
    code, _, _ = run(capsys, "export", "-o", str(tmp_path / "missing" / "orgs.yaml"))
    assert code == 2
    assert requests.count == 0
    code, out, _ = run(capsys, "snapshot", "-o", "-", "--all")
    assert code == 0
    assert json.loads(out)["complete"] is True


def test_dash_is_stdout(drift_tenant: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "examples/orgs.yaml", "--report", "json=-")
    assert code == 1
    assert json_report(out)["status"] == "drift"


def test_a_device_is_written_through_not_replaced(
    drift_tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(capsys, "check", "examples/orgs.yaml", "--report", "json=/dev/null")
    assert code == 1
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def test_a_pipe_is_written_through(
    tmp_path: Path, drift_tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, _ = run(capsys, "check", "examples/orgs.yaml", "--report", f"sarif={fifo}")
    reader.join(timeout=30)
    assert code == 1
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(received[0])["version"] == "2.1.0"


def test_files_honour_the_umask(
    tmp_path: Path, drift_tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = os.umask(0o027)
    try:
        code, _, _ = run(
            capsys, "check", "examples/orgs.yaml", "--report", f"json={tmp_path / 'r.json'}"
        )
    finally:
        os.umask(previous)
    assert code == 1
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o640


# --- quiet, scope, locations ---------------------------------------------------------------------


def test_quiet_never_silences_the_requested_output(
    drift_tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "check", "examples/orgs.yaml", "-q", "--format", "json")
    assert code == 1
    assert json_report(out)["status"] == "drift"
    assert err == ""


def test_the_report_records_its_scope(
    drift_tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "check", "examples/orgs.yaml", "--org", "hooli", "--format", "json")
    assert code == 0
    assert json_report(out)["scope"] == {
        "organizations": ["hooli"],
        "declared": 1,
        "unmanaged": False,
        "changed_from": None,
        "changes": None,
        "baseline": None,
    }
    code, out, _ = run(capsys, "check", "examples/orgs.yaml", "--org", "hooli", "--format", "text")
    assert out.splitlines()[-1] == "in sync: 1 organization checked (--org selection)"


def test_locations_do_not_depend_on_the_working_directory(
    drift_tenant: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT / "examples")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ROOT))
    code, out, _ = run(capsys, "check", "orgs.yaml", "--format", "github")
    assert code == 1
    assert "::error file=examples/orgs.yaml,line=18," in out
    code, out, _ = run(capsys, "check", "../examples/orgs.yaml", "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == {
        "examples/orgs.yaml"
    }
    unmanaged = next(r for r in results if r["ruleId"] == "organization_unmanaged")
    assert unmanaged["locations"][0]["physicalLocation"]["region"]["startLine"] == 7  # the policy


def test_live_snapshot_honours_the_spec_tenant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "live.json"
    snapshot.write_text(json.dumps({**TENANT, "tenant": "other.eu.auth0.com"}), encoding="utf-8")
    spec = tmp_path / "orgs.yaml"
    spec.write_text(
        "version: 1\ntenant: {domain: acme.eu.auth0.com}\norganizations: []\n", encoding="utf-8"
    )
    code, out, err = run(capsys, "check", str(spec), "--live", str(snapshot), "--format", "json")
    assert code == 2
    assert "other.eu.auth0.com" in err
    assert json_report(out)["status"] == "invalid"


def test_custom_domain_403_names_the_audience(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    canonical = "https://acme.eu.auth0.com/api/v2/"
    for _ in tenant(monkeypatch, TENANT, EmulatorConfig(audience=canonical)):
        monkeypatch.delenv("AUTH0_API_TOKEN")
        monkeypatch.setenv("AUTH0_CLIENT_ID", DEFAULT_CLIENT_ID)
        monkeypatch.setenv("AUTH0_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        code, _, err = run(capsys, "check", "examples/orgs.yaml")
        assert code == 3
        assert "Service not enabled within domain" in err
        assert "set AUTH0_AUDIENCE" in err and "https://TENANT.REGION.auth0.com/api/v2/" in err
        monkeypatch.setenv("AUTH0_AUDIENCE", canonical)
        code, _, err = run(capsys, "check", "examples/orgs.yaml")
        assert code == 1, err
