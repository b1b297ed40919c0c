"""`orgdrift check` end to end: the CLI against the emulator over a real loopback socket, and the
same pipeline in process through httpx.ASGITransport. Exit codes, findings and output."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from orgdrift import pipeline, reads
from orgdrift.cli import main
from orgdrift.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    EmulatorConfig,
    Fault,
    FaultContext,
    create_app,
    running_server,
)
from orgdrift.models import FindingKind, LiveState
from orgdrift.resources import REPORT_SCHEMA, load_schema
from orgdrift.snapshot import parse_snapshot

ROOT = Path(__file__).resolve().parent.parent
TENANT = json.loads((ROOT / "examples" / "tenant.json").read_text(encoding="utf-8"))
CREDENTIAL_VARS = (
    "AUTH0_DOMAIN",
    "AUTH0_API_TOKEN",
    "AUTH0_ACCESS_TOKEN",
    "AUTH0_CLIENT_ID",
    "AUTH0_CLIENT_SECRET",
    "AUTH0_AUDIENCE",
    "GITHUB_ACTIONS",
    "NO_COLOR",
    # the CI run a report names in its evidence
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "CI_JOB_URL",
)


def state_of(document: dict[str, Any]) -> LiveState:
    return parse_snapshot("tenant.json", json.dumps(document).encode())


def in_sync_tenant() -> dict[str, Any]:
    """The example tenant with its three drifts repaired (pied-piper stays unmanaged)."""
    doc = copy.deepcopy(TENANT)
    orgs = {o["name"]: o for o in doc["organizations"]}
    orgs["acme"]["enabled_connections"] = [
        c for c in orgs["acme"]["enabled_connections"] if c["connection"]["name"] != "google-oauth2"
    ]
    orgs["globex"]["display_name"] = "Globex Corporation"
    for item in orgs["initech"]["enabled_connections"]:
        if item["connection"]["name"] == "initech-okta":
            item["assign_membership_on_login"] = True
    return doc


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(ROOT)


def serve(document: dict[str, Any], config: EmulatorConfig | None = None) -> Iterator[str]:
    app = create_app(state_of(document), config or EmulatorConfig())
    with running_server(app) as url:
        yield url


@pytest.fixture
def drift_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for url in serve(TENANT):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        yield url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def json_report(out: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(out)
    jsonschema.Draft202012Validator(load_schema(REPORT_SCHEMA)).validate(report)
    return report


def stable(text: str) -> str:
    """Blank what legitimately changes between runs: time and request statistics; the commit
    checked out; the live state's digest (it holds the time of the read)."""
    doc = json.loads(text)
    doc["checked_at"] = "<checked_at>"
    doc["stats"] = "<stats>"
    doc["tenant"] = "<loopback>"
    for spec in doc["spec_files"]:
        spec["commit"] = spec["commit"] and "<commit>"
    for key in ("started_at", "finished_at", "live_state_sha256"):
        doc["evidence"][key] = doc["evidence"][key] and f"<{key}>"
    for org in doc["organizations"]:  # a fingerprint hashes the tenant: a new port each run
        for finding in org["findings"]:
            finding["fingerprint"] = "<fingerprint>"
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --- the verdicts over a real socket -------------------------------------------------------


def test_drift_text_golden(drift_url: str, capsys: pytest.CaptureFixture[str], golden: Any) -> None:
    code, out, _ = run(capsys, "check", "examples/orgs.yaml", "--format", "text")
    assert code == 1
    golden("check/drift.txt", out)


def test_drift_json_golden(drift_url: str, capsys: pytest.CaptureFixture[str], golden: Any) -> None:
    code, out, _ = run(capsys, "check", "examples/orgs.yaml", "--format", "json")
    assert code == 1
    report = json_report(out)
    assert report["in_sync"] is False
    assert report["tenant"].startswith("127.0.0.1:")
    kinds = sorted(f["kind"] for o in report["organizations"] for f in o["findings"])
    assert kinds == [
        "connection_not_allowed",
        "connection_setting_changed",
        "field_changed",
        "organization_unmanaged",
    ]
    assert report["stats"]["requests"] >= 5
    golden("check/drift.json", stable(out))


def test_in_sync_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for url in serve(in_sync_tenant()):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        code, out, _ = run(capsys, "check", "examples/orgs.yaml", "--format", "text")
    assert code == 0
    assert "in sync" in out.splitlines()[-1]


def test_client_credentials_grant(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for url in serve(in_sync_tenant()):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_CLIENT_ID", DEFAULT_CLIENT_ID)
        monkeypatch.setenv("AUTH0_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        code, out, err = run(capsys, "check", "examples/orgs.yaml", "--format", "json")
    assert code == 0, err
    assert DEFAULT_CLIENT_SECRET not in out + err


def test_org_filter(drift_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "check",
        "examples/orgs.yaml",
        "--org",
        "hooli",
        "--org",
        "org_W8ptrr1BXH1qvVm0",
        "--format",
        "json",
    )
    assert code == 0
    report = json_report(out)
    assert [o["name"] for o in report["organizations"]] == ["umbrella", "hooli"]
    code, _, err = run(capsys, "check", "examples/orgs.yaml", "--org", "nobody")
    assert code == 2
    assert "nobody" in err


# --- each finding kind, by name and by id, policies ----------------------------------------


SPEC = """\
version: 1
policy: {{unmanaged_organizations: {unmanaged}}}
organizations:
  - name: acme
    connections:
      - name: acme-saml
        assign_membership_on_login: true
      - name: acme-okta
  - id: org_W8ptrr1BXH1qvVm0
    name: umbrella
    policy: {{connections: {policy}}}
    connections:
      - name: Username-Password-Authentication
      - name: umbrella-adfs
  - name: wayne-enterprises
  - id: org_0000000000000000
"""


def check_in_process(
    tmp_path: Path, *, unmanaged: str = "ignore", policy: str = "exact"
) -> tuple[int, dict[FindingKind, list[str]]]:
    spec_file = tmp_path / "orgs.yaml"
    spec_file.write_text(SPEC.format(unmanaged=unmanaged, policy=policy), encoding="utf-8")
    app = create_app(state_of(TENANT), EmulatorConfig())
    tenant = reads.Tenant(
        domain="http://127.0.0.1",
        env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
        transport=httpx.ASGITransport(app=app),
    )
    report = pipeline.run_check(
        pipeline.CheckOptions(specs=(str(spec_file),), env={}, tenant=tenant)
    )
    found: dict[FindingKind, list[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.kind, []).append(f"{finding.organization}:{finding.path}")
    return int(report.exit_code), found


def test_every_finding_kind_in_process(tmp_path: Path) -> None:
    code, found = check_in_process(tmp_path, unmanaged="fail")
    assert code == 1
    assert found == {
        FindingKind.CONNECTION_NOT_ALLOWED: [
            "acme:connections.google-oauth2",
            "umbrella:connections.google-oauth2",
        ],
        FindingKind.CONNECTION_MISSING: [
            "acme:connections.acme-okta",
            "umbrella:connections.umbrella-adfs",
        ],
        FindingKind.ORGANIZATION_MISSING: ["wayne-enterprises:", "org_0000000000000000:"],
        FindingKind.ORGANIZATION_UNMANAGED: [
            "globex:",
            "hooli:",
            "initech:",
            "pied-piper:",
        ],
    }


def test_allowlist_and_unmanaged_ignore(tmp_path: Path) -> None:
    _, found = check_in_process(tmp_path, unmanaged="ignore", policy="allowlist")
    assert "umbrella:connections.umbrella-adfs" not in found.get(FindingKind.CONNECTION_MISSING, [])
    assert "umbrella:connections.google-oauth2" in found[FindingKind.CONNECTION_NOT_ALLOWED]
    assert FindingKind.ORGANIZATION_UNMANAGED not in found


def test_unmanaged_report_is_a_warning_not_drift(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for url in serve(in_sync_tenant()):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        code, out, _ = run(capsys, "check", "examples/orgs.yaml", "--format", "text")
    assert code == 0
    assert "warning: organization pied-piper" in out


# --- exit 3: the live state could not be read ----------------------------------------------


def test_bad_token_exits_3(
    drift_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTH0_API_TOKEN", "not-a-valid-token-SECRETMARK")
    code, out, err = run(capsys, "check", "examples/orgs.yaml")
    assert code == 3
    assert "401" in err
    assert "SECRETMARK" not in out + err


def test_missing_scope_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = EmulatorConfig(tokens={"orgs-only": frozenset({"read:organizations"})})
    for url in serve(TENANT, config):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", "orgs-only")
        code, _, err = run(capsys, "check", "examples/orgs.yaml")
    assert code == 3
    assert "read:organization_connections" in err


def always_503(ctx: FaultContext) -> Fault | None:
    return Fault(status=503) if ctx.group == "enabled_connections" else None


def test_5xx_exhausted_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = EmulatorConfig(faults=always_503)
    for url in serve(TENANT, config):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        code, out, err = run(capsys, "check", "examples/orgs.yaml")
    assert code == 3
    assert "503" in err
    assert out == ""


def test_no_credentials_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "examples/orgs.yaml", "--domain", "example.eu.auth0.com")
    assert code == 2
    assert "AUTH0_API_TOKEN" in err


def test_spec_for_another_tenant_is_refused_before_any_request(
    tmp_path: Path, drift_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "other.yaml"
    spec.write_text(
        "version: 1\ntenant: {domain: evil.example.com}\norganizations: []\n", encoding="utf-8"
    )
    code, _, err = run(capsys, "check", str(spec))
    assert code == 2
    assert "evil.example.com" in err


# --- the real executable -------------------------------------------------------------------


def test_subprocess_against_loopback(drift_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS",)}
    proc = subprocess.run(
        [sys.executable, "-m", "orgdrift", "check", "examples/orgs.yaml", "--format", "text"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert re.search(
        r"^examples/orgs\.yaml:\d+: acme: connection google-oauth2 is enabled but not allowed$",
        proc.stdout,
        re.MULTILINE,
    )


def test_demo_runs_without_credentials(capsys: pytest.CaptureFixture[str], golden: Any) -> None:
    code, out, _ = run(capsys, "demo", "--format", "text")
    assert code == 1
    golden("check/demo.txt", out)
