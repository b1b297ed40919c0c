"""export: a live state -> a spec that `check` finds in sync, writing each part of the
organization model only when it was read."""

from __future__ import annotations

import pytest
import yaml

from orgdrift.check import evaluate
from orgdrift.export import export_spec
from orgdrift.models import LiveOrganization, LiveState, OrgStatus
from orgdrift.spec import load_spec_bytes

DB = {
    "connection_id": "con_0000000000000001",
    "assign_membership_on_login": True,
    "connection": {"name": "db", "strategy": "auth0"},
}
SSO = {
    "connection_id": "con_0000000000000002",
    "show_as_button": False,
    "connection": {"name": "sso", "strategy": "samlp"},
}
NAMELESS = {"connection_id": "con_0000000000000003", "connection": {}}
GRANT = {
    "id": "cgr_1",
    "client_id": "cli_1",
    "audience": "https://api.example.com",
    "scope": ["write", "read"],
}
DOMAIN = {"id": "dd_1", "domain": "acme.example.com", "status": "verified"}


def _org(**parts: object) -> LiveOrganization:
    data = {
        "id": "org_aaaaaaaaaaaaaaaa",
        "name": "acme",
        "display_name": "Acme",
        "token_quota": {"client_credentials": {"per_day": 10}},
    }
    return LiveOrganization(data, (DB, SSO, NAMELESS), **parts)


def _exported(live: LiveState, *, token_quota: bool = True) -> dict[str, object]:
    text = export_spec(live, token_quota=token_quota)
    assert text.startswith("# yaml-language-server: $schema=")
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


def test_organizations_and_enabled_connections_only_when_only_they_were_read() -> None:
    document = _exported(
        LiveState((_org(),), tenant="acme.eu.auth0.com", taken_at="2026-11-30T00:00:00Z")
    )
    assert document["tenant"] == {"domain": "acme.eu.auth0.com"}
    [org] = document["organizations"]
    assert list(org) == [
        "name",
        "id",
        "display_name",
        "branding",
        "metadata",
        "connections",
        "token_quota",
    ]
    assert org["connections"] == [
        {"connection_id": "con_0000000000000003"},  # no name from the API: its id
        {"name": "db", "assign_membership_on_login": True},
        {"name": "sso", "show_as_button": False},
    ]


def test_each_part_is_written_when_it_was_read_and_token_quota_can_be_left_out() -> None:
    view = (
        {
            **DB,
            "is_enabled": False,
            "organization_access_level": "readonly",
            "organization_connection_name": "Acme DB",
        },
    )
    org = _org(connection_view=view, client_grants=(GRANT,), discovery_domains=(DOMAIN,))
    [out] = _exported(LiveState((org,)), token_quota=False)["organizations"]
    assert "token_quota" not in out
    assert out["connections"] == [
        {
            "name": "db",
            "assign_membership_on_login": True,
            "is_enabled": False,
            "organization_access_level": "readonly",
            "organization_connection_name": "Acme DB",
        }
    ]
    assert out["client_grants"] == [
        {"client_id": "cli_1", "audience": "https://api.example.com", "scope": ["read", "write"]}
    ]
    assert out["discovery_domains"] == [
        {"domain": "acme.example.com", "status": "verified", "use_for_organization_discovery": True}
    ]


def test_the_export_checks_in_sync_against_what_it_was_made_from() -> None:
    view = ({**DB, "is_enabled": True, "organization_access_level": "full"},)
    org = _org(connection_view=view, client_grants=(GRANT,), discovery_domains=(DOMAIN,))
    live = LiveState((org,), complete=True)
    spec = load_spec_bytes("exported.yaml", export_spec(live).encode(), {})
    results = evaluate(spec, spec.organizations, live, check_unmanaged=True)
    assert [(r.name, r.status, r.findings) for r in results] == [("acme", OrgStatus.IN_SYNC, ())]


@pytest.mark.parametrize("host", ["127.0.0.1:41234", "localhost:8080", "[::1]:9000"])
def test_a_loopback_emulator_is_not_pinned_as_the_tenant(host: str) -> None:
    """An emulator's port changes with each start: a spec pinning it would be refused after a
    restart, so a loopback tenant is said in the header only."""
    text = export_spec(LiveState((_org(),), tenant=host))
    assert f"# Exported by orgdrift from {host}.\n" in text
    assert "tenant" not in yaml.safe_load(text)
