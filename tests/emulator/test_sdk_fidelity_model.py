"""The official auth0-python SDK (v6, generated from Auth0's OAS) reads the organization model
from the emulator over a real socket (issue 15): the Early Access connections, client grants
(offset pages) and discovery domains (checkpoint pages), with the SDK's own pagers and models.
Same seams as test_sdk_fidelity.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from auth0 import management
from auth0.management import errors
from auth0.management.core.api_error import ApiError

from orgdrift.emulator import DEFAULT_TOKEN, EmulatorApp, EmulatorConfig, create_app, running_server
from orgdrift.snapshot import load_snapshot

pytestmark = pytest.mark.loopback

FULL_TENANT = Path(__file__).resolve().parents[2] / "examples" / "full-model-tenant.json"
ACME = "org_Ac7mEq2LxT9pRz4K"
GLOBEX = "org_G1obexC0rp0rat10"


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[str, EmulatorApp]]:
    app = create_app(load_snapshot(str(FULL_TENANT)), EmulatorConfig())
    with running_server(app) as url:
        yield url, app


def _sdk(url: str, http: httpx.Client, token: str = DEFAULT_TOKEN) -> management.Auth0:
    return management.Auth0(base_url=f"{url}/api/v2", token=token, httpx_client=http)


def test_sdk_pages_client_grants(emulator: tuple[str, EmulatorApp]) -> None:
    url, app = emulator
    before = app.stats.requests["organization_client_grants"]
    with httpx.Client(timeout=10) as http:
        grants = list(_sdk(url, http).organizations.client_grants.list(ACME, per_page=1))
    assert [(g.client_id, g.audience, g.scope) for g in grants] == [
        ("cli_AcmePortal0000001", "https://api.acme.example/", ["read:orders", "write:orders"]),
        ("cli_BillingSync000001", "https://billing.example/", ["read:invoices"]),
    ]
    assert grants[0].organization_usage == "require"
    assert app.stats.requests["organization_client_grants"] - before >= 2


def test_sdk_follows_discovery_domain_cursors(emulator: tuple[str, EmulatorApp]) -> None:
    url, app = emulator
    before = app.stats.requests["organization_discovery_domains"]
    with httpx.Client(timeout=10) as http:
        domains = list(_sdk(url, http).organizations.discovery_domains.list(ACME, take=1))
    assert [(d.domain, d.status, d.use_for_organization_discovery) for d in domains] == [
        ("acme.com", "verified", True),
        ("acme-mail.com", "pending", True),
    ]
    assert app.stats.requests["organization_discovery_domains"] - before == 2  # no extra page


def test_sdk_reads_the_early_access_connections(emulator: tuple[str, EmulatorApp]) -> None:
    url, _ = emulator
    with httpx.Client(timeout=10) as http:
        sdk = _sdk(url, http)
        acme = list(sdk.organizations.connections.list(ACME))
        enabled = list(sdk.organizations.connections.list(ACME, is_enabled=True))
        globex = list(sdk.organizations.connections.list(GLOBEX))
    assert [(c.connection_id, c.is_enabled, c.organization_access_level) for c in acme] in (
        [("con_Sm4lAcmeSaml0001", True, "readonly"), ("con_UPAuth0Db000001", False, "none")],
        [("con_UPAuth0Db000001", False, "none"), ("con_Sm4lAcmeSaml0001", True, "readonly")],
    )
    assert [c.connection_id for c in enabled] == ["con_Sm4lAcmeSaml0001"]
    assert [(c.connection_id, c.is_enabled) for c in globex] == [("con_G1obexOidc00001", True)]


def test_sdk_sees_404_and_403(emulator: tuple[str, EmulatorApp]) -> None:
    url, _ = emulator
    with httpx.Client(timeout=10) as http:
        with pytest.raises(errors.NotFoundError):
            list(_sdk(url, http).organizations.discovery_domains.list("org_XXXXXXXXXXXXXXXX"))
        # The OAS documents no 404 for client grants: the SDK raises its generic error.
        with pytest.raises(ApiError) as unknown:
            list(_sdk(url, http).organizations.client_grants.list("org_XXXXXXXXXXXXXXXX"))
    assert unknown.value.status_code == 404
    scopes = frozenset({"read:organizations"})
    app = create_app(load_snapshot(str(FULL_TENANT)), EmulatorConfig(tokens={"t": scopes}))
    with (
        running_server(app) as other,
        httpx.Client(timeout=10) as http,
        pytest.raises(errors.ForbiddenError) as info,
    ):
        list(_sdk(other, http, "t").organizations.discovery_domains.list(ACME))
    assert info.value.body["message"] == (
        "Insufficient scope, expected any of: read:organization_discovery_domains"
    )
