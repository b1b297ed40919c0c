"""The official auth0-python SDK (v6, generated from Auth0's OAS) writes the organization model
through the emulator over a real socket, and reads back what it wrote with its own models: a
client nobody here wrote agrees with the emulator's write endpoints (paths, bodies, statuses,
answers). Same seams as test_sdk_fidelity.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from auth0 import management
from auth0.management import errors

from orgdrift.emulator import DEFAULT_TOKEN, EmulatorApp, EmulatorConfig, create_app, running_server
from orgdrift.emulator.config import ALL_SCOPES
from orgdrift.logs import classify
from orgdrift.snapshot import load_snapshot

pytestmark = pytest.mark.loopback

FULL_TENANT = Path(__file__).resolve().parents[2] / "examples" / "full-model-tenant.json"
ACME = "org_Ac7mEq2LxT9pRz4K"
GLOBEX = "org_G1obexC0rp0rat10"
SAML, DB, OIDC = "con_Sm4lAcmeSaml0001", "con_UPAuth0Db000001", "con_G1obexOidc00001"
PORTAL, BILLING = "cgr_Xq3JmPortal0001", "cgr_Xq3JmBilling001"


@pytest.fixture
def sdk() -> Iterator[tuple[management.Auth0, EmulatorApp]]:
    config = EmulatorConfig(tokens={DEFAULT_TOKEN: ALL_SCOPES})
    app = create_app(load_snapshot(str(FULL_TENANT)), config)
    with running_server(app) as url, httpx.Client(timeout=10) as http:
        yield (
            management.Auth0(base_url=f"{url}/api/v2", token=DEFAULT_TOKEN, httpx_client=http),
            app,
        )


def test_sdk_writes_organizations_and_reads_them_back(
    sdk: tuple[management.Auth0, EmulatorApp],
) -> None:
    client, app = sdk
    created = client.organizations.create(
        name="initech",
        display_name="Initech",
        enabled_connections=[{"connection_id": OIDC, "assign_membership_on_login": True}],
    )
    assert created.name == "initech" and created.id is not None
    updated = client.organizations.update(ACME, metadata={"tier": "gold"})
    assert updated.metadata == {"tier": "gold"}
    acme = client.organizations.get(ACME)
    assert acme.display_name == "Acme Inc." and acme.metadata == {"tier": "gold"}
    # The PATCH kept acme's other parts.
    assert len(list(client.organizations.client_grants.list(ACME))) == 2
    assert len(list(client.organizations.discovery_domains.list(ACME))) == 2
    client.organizations.delete(created.id)
    with pytest.raises(errors.NotFoundError):
        client.organizations.get(created.id)
    touched = classify(app.log.visible())
    assert touched.organizations == {created.id, ACME}


def test_sdk_writes_connections_through_both_views(
    sdk: tuple[management.Auth0, EmulatorApp],
) -> None:
    client, _ = sdk
    client.organizations.enabled_connections.add(GLOBEX, connection_id=SAML, show_as_button=False)
    item = client.organizations.enabled_connections.get(GLOBEX, SAML)
    assert (item.connection_id, item.show_as_button) == (SAML, False)
    client.organizations.enabled_connections.update(GLOBEX, SAML, assign_membership_on_login=True)
    client.organizations.connections.update(
        GLOBEX, SAML, organization_access_level="limited", is_enabled=False
    )
    view = client.organizations.connections.get(GLOBEX, SAML)
    assert (view.organization_access_level, view.is_enabled) == ("limited", False)
    assert view.assign_membership_on_login is True
    enabled = [c.connection_id for c in client.organizations.enabled_connections.list(GLOBEX)]
    assert enabled == [OIDC]
    client.organizations.connections.delete(GLOBEX, SAML)
    client.organizations.connections.create(ACME, connection_id=OIDC, is_enabled=True)
    assert {c.connection_id for c in client.organizations.connections.list(ACME)} == {
        SAML,
        DB,
        OIDC,
    }
    client.organizations.enabled_connections.delete(ACME, OIDC)
    client.connections.delete(SAML)
    assert [c.connection_id for c in client.organizations.connections.list(ACME)] == [DB]


def test_sdk_writes_client_grants_and_discovery_domains(
    sdk: tuple[management.Auth0, EmulatorApp],
) -> None:
    client, _ = sdk
    associated = client.organizations.client_grants.create(GLOBEX, grant_id=PORTAL)
    assert associated.id == PORTAL
    client.client_grants.update(PORTAL, scope=["read:orders"])
    for org in (ACME, GLOBEX):
        grant = next(g for g in client.organizations.client_grants.list(org) if g.id == PORTAL)
        assert grant.scope == ["read:orders"]
    assert [g.id for g in client.client_grants.list(client_id="cli_AcmePortal0000001")] == [PORTAL]
    client.organizations.client_grants.delete(ACME, BILLING)
    client.client_grants.delete(PORTAL)
    assert [g.id for g in client.organizations.client_grants.list(ACME)] == []
    assert [g.id for g in client.organizations.client_grants.list(GLOBEX)] == [
        "cgr_Xq3JmGlobex0001"
    ]
    domain = client.organizations.discovery_domains.create(ACME, domain="acme.org")
    assert (domain.domain, domain.status) == ("acme.org", "pending")
    client.organizations.discovery_domains.update(ACME, domain.id, status="verified")
    assert client.organizations.discovery_domains.get(ACME, domain.id).status == "verified"
    client.organizations.discovery_domains.delete(ACME, domain.id)
    with pytest.raises(errors.NotFoundError):
        client.organizations.discovery_domains.get(ACME, domain.id)
