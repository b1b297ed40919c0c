"""The whole organization model end to end: Early Access connection fields,
client grants, discovery domains and token_quota. Against the emulator in process and over a
loopback socket: findings, exit codes, requests sent (nothing new unless declared), scopes,
a tenant without the Early Access feature, snapshot and export round trips, and paging."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orgdrift import pipeline, reads
from orgdrift.cli import main
from orgdrift.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    EmulatorConfig,
    create_app,
    running_server,
)
from orgdrift.errors import ExitCode
from orgdrift.models import LiveState, Report
from orgdrift.snapshot import parse_snapshot

from .test_cli_check import run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FULL_SPEC = EXAMPLES / "full-model.yaml"
FULL_TENANT: dict[str, Any] = json.loads((EXAMPLES / "full-model-tenant.json").read_text("utf-8"))
DEMO_TENANT: dict[str, Any] = json.loads((EXAMPLES / "tenant.json").read_text("utf-8"))

FULL_FINDINGS = [
    ("client_grant_not_allowed", "client_grants.cli_BillingSync000001:https://billing.example/"),
    (
        "client_grant_scope_changed",
        "client_grants.cli_AcmePortal0000001:https://api.acme.example/.scope",
    ),
    ("discovery_domain_missing", "discovery_domains.acme.co.uk"),
    ("discovery_domain_not_allowed", "discovery_domains.acme-mail.com"),
    ("field_changed", "token_quota.client_credentials.per_day"),
]
OLD_SCOPES = frozenset({"read:organizations", "read:organization_connections"})


def state_of(document: dict[str, Any]) -> LiveState:
    return parse_snapshot("tenant.json", json.dumps(document).encode())


def check(
    spec: Path,
    document: dict[str, Any],
    config: EmulatorConfig | None = None,
    env: dict[str, str] | None = None,
) -> tuple[Report, Counter[str]]:
    """`check` in process; the report and the emulator's requests per endpoint group."""
    app = create_app(state_of(document), config or EmulatorConfig())
    tenant = reads.Tenant(
        domain="http://127.0.0.1",
        env=env or {"AUTH0_API_TOKEN": DEFAULT_TOKEN},
        transport=httpx.ASGITransport(app=app),
    )
    report = pipeline.run_check(pipeline.CheckOptions(specs=(str(spec),), env={}, tenant=tenant))
    return report, Counter(app.stats.requests)


def found(report: Report) -> list[tuple[str, str]]:
    return sorted((f.kind.value, f.path) for f in report.findings)


def write(tmp_path: Path, text: str, name: str = "orgs.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AUTH0_DOMAIN",
        "AUTH0_API_TOKEN",
        "AUTH0_ACCESS_TOKEN",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
        "AUTH0_AUDIENCE",
        "GITHUB_ACTIONS",
        "NO_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(ROOT)


# --- findings --------------------------------------------------------------------------------


def test_full_model_example_finds_each_drift_online() -> None:
    report, requests = check(FULL_SPEC, FULL_TENANT)
    assert report.exit_code is ExitCode.DRIFT
    assert found(report) == FULL_FINDINGS
    by_path = {f.path: f for f in report.findings}
    scope = by_path["client_grants.cli_AcmePortal0000001:https://api.acme.example/.scope"]
    assert (scope.expected, scope.actual) == (["read:orders"], ["read:orders", "write:orders"])
    assert scope.source is not None and scope.source.line == 21
    # acme declares Early Access fields: its connections come from .../connections only;
    # globex declares none: enabled_connections, as before.
    assert requests["organization_connections"] == 1
    assert requests["enabled_connections"] == 1
    assert requests["organization_client_grants"] == 2
    assert requests["organization_discovery_domains"] == 2


def test_connection_view_fields_drift(tmp_path: Path) -> None:
    doc = copy.deepcopy(FULL_TENANT)
    acme = doc["organizations"][0]
    acme["organization_connections"][0]["organization_access_level"] = "full"
    acme["organization_connections"][1]["is_enabled"] = True
    report, _ = check(FULL_SPEC, doc)
    changed = {
        (f.path, f.expected, f.actual)
        for f in report.findings
        if f.kind.value == "connection_setting_changed"
    }
    assert changed == {
        ("connections.acme-saml.organization_access_level", "readonly", "full"),
        ("connections.Username-Password-Authentication.is_enabled", False, True),
    }
    message = next(
        f.message for f in report.findings if f.path.endswith("organization_access_level")
    )
    assert (
        message == 'connection acme-saml: organization_access_level is "full", expected "readonly"'
    )


def test_in_sync_when_the_tenant_matches() -> None:
    doc = copy.deepcopy(FULL_TENANT)
    acme = doc["organizations"][0]
    acme["token_quota"]["client_credentials"]["per_day"] = 1000
    acme["client_grants"] = [acme["client_grants"][0]]
    acme["client_grants"][0]["scope"] = ["read:orders"]
    acme["discovery_domains"] = [
        acme["discovery_domains"][0],
        {**acme["discovery_domains"][1], "id": "dd_AcmeCoUk0001", "domain": "ACME.co.uk"},
    ]
    report, _ = check(FULL_SPEC, doc)
    assert found(report) == []
    assert report.exit_code is ExitCode.IN_SYNC


def test_grants_policy_exact_and_allowlist(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        """\
version: 1
organizations:
  - name: globex
    client_grants:
      - {client_id: cli_GlobexApp00000001, audience: "https://api.globex.example/"}
      - {client_id: cli_Other, audience: "https://api.globex.example/"}
""",
    )
    report, _ = check(spec, FULL_TENANT)
    assert found(report) == [
        ("client_grant_missing", "client_grants.cli_Other:https://api.globex.example/")
    ]
    allow = write(
        tmp_path,
        spec.read_text().replace(
            "version: 1\n", "version: 1\npolicy: {client_grants: allowlist}\n"
        ),
    )
    report, _ = check(allow, FULL_TENANT)
    assert found(report) == []
    none = write(tmp_path, "version: 1\norganizations:\n  - name: globex\n    client_grants: []\n")
    report, _ = check(none, FULL_TENANT)
    assert found(report) == [
        (
            "client_grant_not_allowed",
            "client_grants.cli_GlobexApp00000001:https://api.globex.example/",
        )
    ]


def test_discovery_domain_status_and_flag(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        """\
version: 1
organizations:
  - name: globex
    discovery_domains:
      - {domain: globex.com, status: pending, use_for_organization_discovery: false}
""",
    )
    report, _ = check(spec, FULL_TENANT)
    assert [(f.path, f.expected, f.actual) for f in report.findings] == [
        ("discovery_domains.globex.com.status", "pending", "verified"),
        ("discovery_domains.globex.com.use_for_organization_discovery", False, True),
    ]
    assert {f.kind.value for f in report.findings} == {"discovery_domain_changed"}


def test_token_quota_set_when_not_declared_live_is_drift(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        """\
version: 1
organizations:
  - name: globex
    token_quota: {client_credentials: {per_hour: 10}}
""",
    )
    report, requests = check(spec, FULL_TENANT)
    assert [(f.kind.value, f.path, f.actual) for f in report.findings] == [
        ("field_changed", "token_quota", None)
    ]
    assert (
        report.findings[0].message
        == 'token_quota is not set, expected {"client_credentials": {"per_hour": 10}}'
    )
    assert set(requests) == {"organization_by_name"}  # token_quota costs no request of its own


# --- requests: nothing new unless declared -----------------------------------------------------


def test_the_examples_spec_sends_exactly_the_requests_it_sent_before() -> None:
    """examples/orgs.yaml declares none of the organization model. Before issue 15 it cost one
    listing page and five enabled_connections reads (counted at commit ad00d10); still so."""
    report, requests = check(EXAMPLES / "orgs.yaml", DEMO_TENANT)
    assert report.exit_code is ExitCode.DRIFT
    assert requests == Counter({"organizations": 1, "enabled_connections": 5})
    assert report.stats.requests == 6


def test_scope_free_token_is_enough_when_nothing_new_is_declared() -> None:
    """A token with only the two scopes orgdrift always needed checks the examples spec."""
    config = EmulatorConfig(tokens={"old-token": OLD_SCOPES})
    report, _ = check(EXAMPLES / "orgs.yaml", DEMO_TENANT, config, {"AUTH0_API_TOKEN": "old-token"})
    assert report.exit_code is ExitCode.DRIFT


@pytest.mark.parametrize(
    ("addition", "group"),
    [
        ("    client_grants: []\n", "organization_client_grants"),
        ("    discovery_domains: []\n", "organization_discovery_domains"),
    ],
)
def test_each_declaration_costs_one_request_per_organization(
    tmp_path: Path, addition: str, group: str
) -> None:
    text = (EXAMPLES / "orgs.yaml").read_text("utf-8")
    spec = write(tmp_path, text.replace("  - name: globex\n", "  - name: globex\n" + addition))
    _, requests = check(spec, DEMO_TENANT)
    assert requests == Counter({"organizations": 1, "enabled_connections": 5, group: 1})


def test_an_early_access_field_swaps_the_endpoint_without_a_request_more(tmp_path: Path) -> None:
    text = (EXAMPLES / "orgs.yaml").read_text("utf-8")
    spec = write(
        tmp_path,
        text.replace(
            "      - name: globex-oidc\n",
            "      - name: globex-oidc\n        organization_access_level: none\n",
        ),
    )
    report, requests = check(spec, DEMO_TENANT)
    assert requests == Counter(
        {"organizations": 1, "enabled_connections": 4, "organization_connections": 1}
    )
    assert found(report) == found(check(EXAMPLES / "orgs.yaml", DEMO_TENANT)[0])


# --- scopes and a tenant without the Early Access endpoint -------------------------------------


def test_the_scope_pre_check_names_the_exact_scope() -> None:
    scopes = OLD_SCOPES | {"read:organization_discovery_domains"}
    config = EmulatorConfig(clients={DEFAULT_CLIENT_ID: (DEFAULT_CLIENT_SECRET, scopes)})
    env = {"AUTH0_CLIENT_ID": DEFAULT_CLIENT_ID, "AUTH0_CLIENT_SECRET": DEFAULT_CLIENT_SECRET}
    report, requests = check(FULL_SPEC, FULL_TENANT, config, env)
    assert report.exit_code is ExitCode.INCOMPLETE
    assert report.failure is not None
    assert "lacks scope(s) read:organization_client_grants;" in report.failure.message
    assert set(requests) == {"token"}  # refused before any API request


def test_a_403_names_the_exact_scope() -> None:
    """An opaque token whose scopes are unknown: the API's 403 tells, naming the scope."""
    config = EmulatorConfig(tokens={"opaque": OLD_SCOPES | {"read:organization_client_grants"}})
    report, _ = check(FULL_SPEC, FULL_TENANT, config, {"AUTH0_API_TOKEN": "opaque"})
    assert report.exit_code is ExitCode.INCOMPLETE
    assert report.failure is not None
    assert "HTTP 403 [insufficient_scope]" in report.failure.message
    assert "expected any of: read:organization_discovery_domains" in report.failure.message


def test_without_the_early_access_feature_exit_3_names_it(tmp_path: Path) -> None:
    config = EmulatorConfig(organization_connections=False)
    report, _ = check(FULL_SPEC, FULL_TENANT, config)
    assert report.exit_code is ExitCode.INCOMPLETE
    assert report.failure is not None
    message = report.failure.message
    assert "does not offer the Early Access endpoint GET /organizations/{id}/connections" in message
    assert "HTTP 403" in message and "organization_access_level" in message
    # The same tenant, a spec that needs none of it: a verdict.
    spec = write(
        tmp_path,
        FULL_SPEC.read_text("utf-8")
        .replace(
            "        organization_access_level: readonly    # read through GET .../connections (Early Access)\n"
            "        organization_connection_name: acme-sso\n",
            "",
        )
        .replace("        is_enabled: false                      # associated, but disabled\n", ""),
    )
    doc = copy.deepcopy(FULL_TENANT)
    acme = doc["organizations"][0]
    acme["enabled_connections"] = [
        {
            k: v
            for k, v in c.items()
            if k not in ("is_enabled", "organization_access_level", "organization_connection_name")
        }
        for c in acme.pop("organization_connections")
    ]
    report, requests = check(spec, doc, config)
    assert report.exit_code is ExitCode.DRIFT
    assert "organization_connections" not in requests


# --- snapshot and export round trips, over a socket ---------------------------------------------


@pytest.fixture
def full_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    app = create_app(state_of(FULL_TENANT), EmulatorConfig())
    with running_server(app) as url:
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        yield url


def findings_of(out: str) -> list[tuple[str, str, str]]:
    report = json.loads(out)
    return [
        (o["name"], f["kind"], f["path"]) for o in report["organizations"] for f in o["findings"]
    ]


def test_snapshot_then_check_live_gives_the_same_findings(
    full_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, online, _ = run(capsys, "check", str(FULL_SPEC), "--format", "json")
    assert code == 1
    snap = tmp_path / "snap.json"
    code, _, err = run(capsys, "snapshot", str(FULL_SPEC), "-o", str(snap))
    assert code == 0, err
    saved = json.loads(snap.read_text("utf-8"))
    acme = next(o for o in saved["organizations"] if o["name"] == "acme")
    assert {"organization_connections", "client_grants", "discovery_domains"} <= set(acme)
    assert "enabled_connections" not in acme  # read through the Early Access view instead
    code, offline, _ = run(capsys, "check", str(FULL_SPEC), "--live", str(snap), "--format", "json")
    assert code == 1
    assert findings_of(offline) == findings_of(online)
    # A snapshot taken for another spec lacks them: exit 3, not a verdict.
    code, _, err = run(
        capsys, "snapshot", str(EXAMPLES / "orgs.yaml"), "-o", str(snap), "--org", "acme"
    )
    code, _, err = run(capsys, "check", str(FULL_SPEC), "--live", str(snap), "--org", "acme")
    assert code == 3
    assert "were not read" in err


def test_export_then_check_is_in_sync(
    full_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "exported.yaml"
    code, _, err = run(capsys, "export", "-o", str(exported))
    assert code == 0, err
    text = exported.read_text("utf-8")
    for key in (
        "client_grants:",
        "discovery_domains:",
        "token_quota:",
        "organization_access_level:",
        "is_enabled: false",
    ):
        assert key in text
    code, out, err = run(capsys, "check", str(exported), "--format", "text")
    assert code == 0, out + err
    assert "in sync" in out.splitlines()[-1]


def test_export_can_leave_the_extras_out(
    full_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain.yaml"
    code, _, err = run(capsys, "export", "-o", str(plain), "--no-extras")
    assert code == 0, err
    text = plain.read_text("utf-8")
    for key in ("client_grants", "discovery_domains", "token_quota", "organization_access_level"):
        assert key not in text
    code, out, _ = run(capsys, "check", str(plain), "--format", "text")
    assert code == 0, out
    some = tmp_path / "some.yaml"
    code, _, _ = run(
        capsys, "export", "-o", str(some), "--without", "client-grants", "--without", "token-quota"
    )
    assert code == 0
    text = some.read_text("utf-8")
    assert "client_grants" not in text and "token_quota" not in text
    assert "discovery_domains:" in text and "organization_access_level:" in text
    code, out, _ = run(capsys, "check", str(some), "--format", "text")
    assert code == 0, out


def _export_with(
    config: EmulatorConfig,
    env: dict[str, str],
    target: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
) -> tuple[int, str, Counter[str]]:
    """`export -o TARGET` against the full-model tenant served with `config`, then `check
    TARGET` against it (which must find it in sync); (export's exit code, its stderr, the
    emulator's requests per endpoint group during the export)."""
    app = create_app(state_of(FULL_TENANT), config)
    for name in ("AUTH0_API_TOKEN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with running_server(app) as url:
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        code, _, err = run(capsys, "export", "-q", "-o", str(target), *args)
        requests = Counter(app.stats.snapshot().requests)
        checked, out, check_err = run(capsys, "check", str(target), "--format", "text")
    assert checked == 0, out + check_err
    return code, err, requests


def test_export_leaves_out_what_an_opaque_token_or_the_tenant_does_not_allow_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bootstrap with only the two base scopes, on a tenant without the Early Access feature:
    the token's scopes are not known (an opaque token), so each part is tried on one
    organization; what is refused is left out, said on stderr (even with -q) and in the file."""
    config = EmulatorConfig(tokens={"opaque": OLD_SCOPES}, organization_connections=False)
    exported = tmp_path / "exported.yaml"
    code, err, requests = _export_with(
        config, {"AUTH0_API_TOKEN": "opaque"}, exported, capsys, monkeypatch
    )
    assert code == 0, err
    assert err.splitlines() == [
        (
            "orgdrift: warning: not exported: the Early Access connection fields: the tenant does not "
            "offer the Early Access GET /organizations/{id}/connections; enable the feature for the "
            "tenant, or pass --without connection-access to leave it out"
        ),
        (
            "orgdrift: warning: not exported: client grants: the token lacks "
            "read:organization_client_grants (HTTP 403); grant read:organization_client_grants, or "
            "pass --without client-grants to leave it out"
        ),
        (
            "orgdrift: warning: not exported: discovery domains: the token lacks "
            "read:organization_discovery_domains (HTTP 403); grant read:organization_discovery_domains, "
            "or pass --without discovery-domains to leave it out"
        ),
    ]
    text = exported.read_text("utf-8")
    assert (
        "# Not exported: client grants: the token lacks read:organization_client_grants (HTTP 403).\n"
        in text
    )
    for key in (
        "client_grants:",
        "discovery_domains:",
        "organization_access_level:",
        "is_enabled:",
    ):
        assert key not in text
    assert "token_quota:" in text  # part of the organization itself
    # One try per part, then organizations and their enabled connections only.
    orgs = len(FULL_TENANT["organizations"])
    assert requests["organization_connections"] == 1
    assert requests["organization_client_grants"] == requests["organization_discovery_domains"] == 1
    assert requests["enabled_connections"] == orgs


def test_export_with_known_scopes_asks_nothing_the_token_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client credentials: the token response lists the scopes, so a part whose scope is missing
    costs no request at all; the Early Access view, which the tenant offers, is exported."""
    scopes = OLD_SCOPES | {"read:organization_discovery_domains"}
    config = EmulatorConfig(clients={DEFAULT_CLIENT_ID: (DEFAULT_CLIENT_SECRET, scopes)})
    env = {"AUTH0_CLIENT_ID": DEFAULT_CLIENT_ID, "AUTH0_CLIENT_SECRET": DEFAULT_CLIENT_SECRET}
    exported = tmp_path / "exported.yaml"
    code, err, requests = _export_with(config, env, exported, capsys, monkeypatch)
    assert code == 0, err
    assert err.splitlines() == [
        (
            "orgdrift: warning: not exported: client grants: the token lacks "
            "read:organization_client_grants; grant read:organization_client_grants, or pass "
            "--without client-grants to leave it out"
        ),
    ]
    assert requests["organization_client_grants"] == 0
    text = exported.read_text("utf-8")
    assert "discovery_domains:" in text and "organization_access_level:" in text
    assert "client_grants:" not in text
    # --without says the part is not wanted: no warning, no request.
    code, err, requests = _export_with(
        config, env, exported, capsys, monkeypatch, "--without", "client-grants"
    )
    assert (code, err, requests["organization_client_grants"]) == (0, "", 0)


# --- paging -----------------------------------------------------------------------------------


def big_tenant() -> dict[str, Any]:
    org: dict[str, Any] = {"id": "org_B1gB1gB1gB1gB1g0", "name": "big"}
    org["client_grants"] = [
        {
            "id": f"cgr_{i:012d}",
            "client_id": f"cli_{i:08d}",
            "audience": "https://api.big.example/",
            "scope": ["read:x"],
        }
        for i in range(250)
    ]
    org["discovery_domains"] = [
        {
            "id": f"dd_{i:012d}",
            "domain": f"d{i}.big.example",
            "status": "verified",
            "use_for_organization_discovery": True,
        }
        for i in range(150)
    ]
    org["organization_connections"] = [
        {
            "connection_id": f"con_{i:016d}",
            "is_enabled": True,
            "organization_access_level": "none",
            "connection": {"name": f"conn-{i}", "strategy": "samlp"},
        }
        for i in range(120)
    ]
    return {"organizations": [org]}


def test_every_page_is_read_to_a_short_one(tmp_path: Path) -> None:
    doc = big_tenant()
    org = doc["organizations"][0]
    lines = ["version: 1", "organizations:", "  - name: big", "    connections:"]
    lines += [f"      - {{name: conn-{i}, organization_access_level: none}}" for i in range(120)]
    lines += ["    client_grants:"]
    lines += [
        f"      - {{client_id: {g['client_id']}, audience: 'https://api.big.example/', scope: [read:x]}}"
        for g in org["client_grants"]
    ]
    lines += ["    discovery_domains:"]
    lines += [
        f"      - {{domain: {d['domain']}, status: verified}}" for d in org["discovery_domains"]
    ]
    spec = write(tmp_path, "\n".join(lines) + "\n")
    report, requests = check(spec, doc)
    assert found(report) == []
    assert requests["organization_client_grants"] == 3  # 100 + 100 + 50
    assert requests["organization_discovery_domains"] == 2  # 100 with next, 50 without
    assert requests["organization_connections"] == 2  # 100 + 20
    # One grant gone: proven missing after reading every page.
    org["client_grants"] = org["client_grants"][:-1]
    report, _ = check(spec, doc)
    assert found(report) == [
        ("client_grant_missing", "client_grants.cli_00000249:https://api.big.example/")
    ]


def test_the_emulator_command_can_act_without_the_early_access_feature(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: list[Any] = []
    monkeypatch.setattr(
        "orgdrift.emulator.serve", lambda app, host, port, ready: served.append(app)
    )
    state = str(EXAMPLES / "full-model-tenant.json")
    assert main(["emulator", "--state", state, "--without-early-access"]) == 0
    assert main(["emulator", "--state", state]) == 0
    assert [app.config.organization_connections for app in served] == [False, True]
