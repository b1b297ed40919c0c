"""`export` writes what the tenant has: an optional part of the organization model that the
tenant does not offer (Auth0's `feature_not_enabled`, 400 or 403, or the bare 404 of a route the
tenant's API does not know) is left out with a warning and a `# Not exported` line, like a part
the token lacks the scope for; any other error still ends the export (exit 3)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from orgdrift.cli import main
from orgdrift.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    Fault,
    FaultContext,
    create_app,
)
from orgdrift.emulator.config import READ_SCOPES
from orgdrift.snapshot import parse_snapshot

from .virtual_time import in_process_cli

ROOT = Path(__file__).resolve().parent.parent
TENANT = parse_snapshot(
    "full-model-tenant.json", (ROOT / "examples" / "full-model-tenant.json").read_bytes()
)

# Recorded from real tenants: auth0-deploy-cli's e2e recording
# test/e2e/recordings/should-deploy-while-deleting-resources-if-AUTH0_ALLOW_DELETE-is-true.json
# (GET /api/v2/organizations/{id}/discovery-domains), and Auth0's answer to a route a tenant's
# API does not have (terraform-provider-auth0's recordings). The 403 is the same error code with
# the status the Early Access endpoint answers.
FEATURE_NOT_ENABLED_400 = {
    "statusCode": 400,
    "error": "Bad Request",
    "message": "Feature not enabled for this tenant.",
    "errorCode": "feature_not_enabled",
}
FEATURE_NOT_ENABLED_403 = {**FEATURE_NOT_ENABLED_400, "statusCode": 403, "error": "Forbidden"}
ROUTE_NOT_FOUND_404 = {"statusCode": 404, "error": "Not Found", "message": "Not Found"}
ANSWERS = {
    "400": FEATURE_NOT_ENABLED_400,
    "403": FEATURE_NOT_ENABLED_403,
    "404": ROUTE_NOT_FOUND_404,
}

# part: (endpoint group, route, label, a key only that part writes)
PARTS = {
    "connection-access": (
        "organization_connections",
        "connections",
        "the Early Access connection fields",
        "organization_access_level:",
    ),
    "client-grants": (
        "organization_client_grants",
        "client-grants",
        "client grants",
        "client_grants:",
    ),
    "discovery-domains": (
        "organization_discovery_domains",
        "discovery-domains",
        "discovery domains",
        "discovery_domains:",
    ),
}
ALL_SCOPES = READ_SCOPES | {
    "read:organization_client_grants",
    "read:organization_discovery_domains",
}
CREDENTIALS = {
    "client credentials (scopes known)": {
        "AUTH0_CLIENT_ID": DEFAULT_CLIENT_ID,
        "AUTH0_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    },
    "opaque token (scopes unknown)": {"AUTH0_API_TOKEN": "opaque"},
}


def _answer(group: str, body: dict[str, Any]) -> Any:
    encoded = json.dumps(body).encode()

    def decide(ctx: FaultContext) -> Fault | None:
        return Fault(status=body["statusCode"], body=encoded) if ctx.group == group else None

    return decide


def _export(
    faults: Any,
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str, Counter[str]]:
    """`orgdrift export -q -o FILE` against the full-model tenant answering with `faults`:
    (exit code, stderr, the file, requests per endpoint group)."""
    for name in ("AUTH0_API_TOKEN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = EmulatorConfig(
        tokens={"opaque": ALL_SCOPES},
        clients={DEFAULT_CLIENT_ID: (DEFAULT_CLIENT_SECRET, ALL_SCOPES)},
        faults=faults,
    )
    app = create_app(TENANT, config)
    domain = in_process_cli(monkeypatch, app)
    target = tmp_path / "exported.yaml"
    code = main(["export", "-q", "--domain", domain, "-o", str(target)])
    _, err = capsys.readouterr()
    text = target.read_text("utf-8") if target.exists() else ""
    return code, err, text, Counter(app.stats.snapshot().requests)


@pytest.mark.parametrize("credentials", CREDENTIALS)
@pytest.mark.parametrize("answer", ANSWERS)
@pytest.mark.parametrize("part", PARTS)
def test_a_part_the_tenant_does_not_offer_is_left_out_with_a_warning(
    part: str,
    answer: str,
    credentials: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    group, route, label, key = PARTS[part]
    body = ANSWERS[answer]
    code, err, text, requests = _export(
        _answer(group, body), CREDENTIALS[credentials], tmp_path, monkeypatch, capsys
    )
    assert code == 0, err
    error_code = f" {body['errorCode']}" if "errorCode" in body else ""
    why = (
        f"{label}: the tenant does not offer them (GET /api/v2/organizations/{{id}}/{route}: "
        f"HTTP {answer}{error_code})"
    )
    if part == "connection-access":  # connections then come from enabled_connections
        why = (
            f"{label}: the tenant does not offer the Early Access GET /organizations/{{id}}/{route}"
        )
    assert err.splitlines() == [
        (
            f"orgdrift: warning: not exported: {why}; enable the feature for the tenant, or pass "
            f"--without {part} to leave it out"
        )
    ]
    assert f"# Not exported: {why}.\n" in text
    assert key not in text
    assert all(k in text for p, (_, _, _, k) in PARTS.items() if p != part)
    assert "connections:" in text and "token_quota:" in text
    assert requests[group] == 1  # tried on one organization, then left out
    # The file is a spec that `check` finds in sync (it does not declare the missing part).
    assert main(["check", str(tmp_path / "exported.yaml"), "--domain", "http://127.0.0.1"]) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"statusCode": 400, "error": "Bad Request", "message": "Invalid request", "errorCode": "x"},
        {
            "statusCode": 404,
            "error": "Not Found",
            "message": "No organization found by that id",
            "errorCode": "inexistent_organization",
        },
    ],
    ids=["other-400", "organization-404"],
)
def test_any_other_error_still_ends_the_export(
    body: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Only the tenant saying it lacks the part leaves the part out: an organization that is
    not found, or another 400, is no verdict on what the tenant offers (exit 3, nothing
    written)."""
    faults = _answer("organization_discovery_domains", body)
    env = CREDENTIALS["client credentials (scopes known)"]
    code, err, text, _ = _export(faults, env, tmp_path, monkeypatch, capsys)
    assert code == 3
    assert err.startswith("orgdrift: error: GET /api/v2/organizations/org_")
    assert body["message"] in err and text == ""
