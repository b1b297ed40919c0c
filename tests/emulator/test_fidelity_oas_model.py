"""The emulator's bodies for the rest of the organization model (issue 15) validate against the
OAS excerpt: `GET /organizations/{id}/connections` (Early Access), `.../client-grants` and
`.../discovery-domains`, their errors included. Same checks as test_fidelity_oas.py."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from orgdrift.emulator import EmulatorApp, EmulatorConfig, create_app
from orgdrift.snapshot import parse_snapshot

from .support import FakeClock, get
from .test_fidelity_oas import _check

FULL_TENANT = Path(__file__).resolve().parents[2] / "examples" / "full-model-tenant.json"
ORGS = "/api/v2/organizations"
ACME = "org_Ac7mEq2LxT9pRz4K"
GLOBEX = "org_G1obexC0rp0rat10"
UNKNOWN = "org_XXXXXXXXXXXXXXXX"
TOKEN = "emulator-token"


def _state() -> Any:
    return parse_snapshot("full-model-tenant.json", FULL_TENANT.read_bytes())


def _tenant(config: EmulatorConfig | None = None) -> EmulatorApp:
    return create_app(_state(), config or EmulatorConfig())


def _limited() -> EmulatorApp:
    enterprise = EmulatorConfig.enterprise()
    return _tenant(
        EmulatorConfig(
            global_bucket=enterprise.global_bucket, buckets=enterprise.buckets, clock=FakeClock()
        )
    )


CONNS = "GET /organizations/{id}/connections"
GRANTS = "GET /organizations/{id}/client-grants"
DOMAINS = "GET /organizations/{id}/discovery-domains"
# (operation, url, token, times sent, app); the last answer is checked
CASES: dict[str, tuple[str, str, str | None, int, Any]] = {
    "view bare": (CONNS, f"{ORGS}/{ACME}/connections", TOKEN, 1, _tenant),
    "view totals": (
        CONNS,
        f"{ORGS}/{ACME}/connections?include_totals=true&per_page=1",
        TOKEN,
        1,
        _tenant,
    ),
    "view derived": (
        CONNS,
        f"{ORGS}/{GLOBEX}/connections?include_totals=true&is_enabled=true",
        TOKEN,
        1,
        _tenant,
    ),
    "view 400": (CONNS, f"{ORGS}/{ACME}/connections?take=5", TOKEN, 1, _tenant),
    "view 401": (CONNS, f"{ORGS}/{ACME}/connections", "bad", 1, _tenant),
    "grants bare": (GRANTS, f"{ORGS}/{ACME}/client-grants", TOKEN, 1, _tenant),
    "grants totals": (
        GRANTS,
        f"{ORGS}/{ACME}/client-grants?include_totals=true&per_page=100",
        TOKEN,
        1,
        _tenant,
    ),
    "grants filtered": (
        GRANTS,
        f"{ORGS}/{ACME}/client-grants?include_totals=true&client_id=cli_BillingSync000001",
        TOKEN,
        1,
        _tenant,
    ),
    "grants 400": (GRANTS, f"{ORGS}/{ACME}/client-grants?per_page=101", TOKEN, 1, _tenant),
    "grants 401": (GRANTS, f"{ORGS}/{ACME}/client-grants", None, 1, _tenant),
    "grants 429": (GRANTS, f"{ORGS}/{ACME}/client-grants", TOKEN, 11, _limited),
    "domains first": (DOMAINS, f"{ORGS}/{ACME}/discovery-domains?take=1", TOKEN, 1, _tenant),
    "domains last": (DOMAINS, f"{ORGS}/{ACME}/discovery-domains?take=100", TOKEN, 1, _tenant),
    "domains 404": (DOMAINS, f"{ORGS}/{UNKNOWN}/discovery-domains", TOKEN, 1, _tenant),
    "domains 400": (DOMAINS, f"{ORGS}/{ACME}/discovery-domains?page=0", TOKEN, 1, _tenant),
    "domains 400 cursor": (
        DOMAINS,
        f"{ORGS}/{ACME}/discovery-domains?from=%21%21",
        TOKEN,
        1,
        _tenant,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bodies_validate_against_the_oas(case: str) -> None:
    operation, url, token, times, factory = CASES[case]
    app = factory()
    response = None
    for _ in range(times):
        response = get(app, url, token=token)
    assert response is not None
    _check(operation, response.status_code, response.json())


@pytest.mark.parametrize(
    ("operation", "url", "scope"),
    [
        (CONNS, f"{ORGS}/{ACME}/connections", "read:organization_connections"),
        (GRANTS, f"{ORGS}/{ACME}/client-grants", "read:organization_client_grants"),
        (DOMAINS, f"{ORGS}/{ACME}/discovery-domains", "read:organization_discovery_domains"),
    ],
)
def test_403_names_the_scope_and_validates(operation: str, url: str, scope: str) -> None:
    others = frozenset(
        {
            "read:organizations",
            "read:organization_connections",
            "read:organization_client_grants",
            "read:organization_discovery_domains",
        }
    )
    app = _tenant(EmulatorConfig(tokens={"t": others - {scope}}))
    response = get(app, url, token="t")
    assert response.status_code == 403
    body = response.json()
    assert body["message"] == f"Insufficient scope, expected any of: {scope}"
    assert body["errorCode"] == "insufficient_scope"
    _check(operation, 403, body)


def test_a_tenant_without_the_early_access_feature_answers_403() -> None:
    response = get(
        _tenant(EmulatorConfig(organization_connections=False)), f"{ORGS}/{ACME}/connections"
    )
    assert response.status_code == 403
    body = response.json()
    assert body["errorCode"] == "feature_not_enabled"
    _check(CONNS, 403, body)
    # the GA endpoint still answers, from the same data
    enabled = get(
        _tenant(EmulatorConfig(organization_connections=False)),
        f"{ORGS}/{ACME}/enabled_connections",
    ).json()
    assert [c["connection"]["name"] for c in enabled] == [
        "acme-saml"
    ]  # the disabled one is not listed
    assert all("is_enabled" not in c for c in enabled)


def test_discovery_domain_pages_follow_next_to_the_end() -> None:
    app = _tenant()
    first = get(app, f"{ORGS}/{ACME}/discovery-domains?take=1").json()
    assert [d["domain"] for d in first["domains"]] == ["acme.com"] and "next" in first
    second = get(app, f"{ORGS}/{ACME}/discovery-domains?take=1&from={first['next']}").json()
    assert [d["domain"] for d in second["domains"]] == ["acme-mail.com"]
    assert "next" not in second


@pytest.mark.parametrize("position", ["dd:\u00b2", "dd:\u0663", "dd:-1", "xx:1", "dd:1234567890"])
def test_a_forged_cursor_is_a_400_not_a_500(position: str) -> None:
    app = _tenant()
    cursor = base64.urlsafe_b64encode(position.encode()).rstrip(b"=").decode("ascii")
    answer = get(app, f"{ORGS}/{ACME}/discovery-domains?from={cursor}")
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == "Invalid value for from"


def test_client_grant_pages_carry_totals_and_filters() -> None:
    app = _tenant()
    page = get(app, f"{ORGS}/{ACME}/client-grants?include_totals=true&per_page=1&page=1").json()
    assert (page["start"], page["limit"], page["total"]) == (1, 1, 2)
    assert [g["client_id"] for g in page["client_grants"]] == ["cli_BillingSync000001"]
    by_audience = get(
        app, f"{ORGS}/{ACME}/client-grants?audience=https%3A%2F%2Fapi.acme.example%2F"
    ).json()
    assert [g["client_id"] for g in by_audience] == ["cli_AcmePortal0000001"]
    ids = get(app, f"{ORGS}/{ACME}/client-grants?grant_ids=cgr_Xq3JmBilling001").json()
    assert [g["id"] for g in ids] == ["cgr_Xq3JmBilling001"]


def test_the_organization_body_leaves_the_snapshot_only_keys_out() -> None:
    body = get(_tenant(), f"{ORGS}/{ACME}").json()
    assert not {"organization_connections", "client_grants", "discovery_domains"} & set(body)
    assert (
        body["token_quota"]
        == json.loads(FULL_TENANT.read_text())["organizations"][0]["token_quota"]
    )
    _check("GET /organizations/{id}", 200, body)  # token_quota included (OAS TokenQuota, EA)
