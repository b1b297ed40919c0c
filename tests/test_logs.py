"""logs.classify: tenant log entries -> organizations and connections to re-read, or why not."""

from __future__ import annotations

from typing import Any

import pytest

from orgdrift.logs import Touched, classify


def sapi(
    method: str, path: str, body: dict[str, Any] | None = None, log_id: str = "900"
) -> dict[str, Any]:
    return {
        "log_id": log_id,
        "date": "2026-11-29T10:00:00.000Z",
        "type": "sapi",
        "description": "a write",
        "organization_id": None,
        "details": {
            "request": {"method": method, "path": path, "query": {}, "body": {}, "channel": "api"},
            "response": {"statusCode": 200, "body": body or {}},
        },
    }


C, G, D = "connections", "client_grants", "discovery_domains"


@pytest.mark.parametrize(
    ("entry", "orgs", "parts", "tenant_wide"),
    [
        (
            sapi("post", "/api/v2/organizations", {"id": "org_new", "name": "n"}),
            {"org_new"},
            {},
            {},
        ),
        (sapi("patch", "/api/v2/organizations/org_1"), {"org_1"}, {}, {}),
        (sapi("delete", "/api/v2/organizations/org_1"), {"org_1"}, {}, {}),
        (
            sapi("post", "/api/v2/organizations/org_1/enabled_connections"),
            set(),
            {"org_1": {C}},
            {},
        ),
        (
            sapi("patch", "/api/v2/organizations/org_1/enabled_connections/con_1"),
            set(),
            {"org_1": {C}},
            {},
        ),
        (
            sapi("delete", "/api/v2/organizations/org_1/enabled_connections/con_1"),
            set(),
            {"org_1": {C}},
            {},
        ),
        (sapi("post", "/api/v2/organizations/org_1/connections"), set(), {"org_1": {C}}, {}),  # EA
        (sapi("patch", "/api/v2/organizations/org_1/connections/con_1"), set(), {"org_1": {C}}, {}),
        (
            sapi("delete", "/api/v2/organizations/org_1/connections/con_1"),
            set(),
            {"org_1": {C}},
            {},
        ),
        (sapi("post", "/api/v2/organizations/org_1/client-grants"), set(), {"org_1": {G}}, {}),
        (
            sapi("delete", "/api/v2/organizations/org_1/client-grants/cgr_1"),
            set(),
            {"org_1": {G}},
            {},
        ),
        (sapi("post", "/api/v2/organizations/org_1/discovery-domains"), set(), {"org_1": {D}}, {}),
        (
            sapi("patch", "/api/v2/organizations/org_1/discovery-domains/dd_1"),
            set(),
            {"org_1": {D}},
            {},
        ),
        (
            sapi("delete", "/api/v2/organizations/org_1/discovery-domains/dd_1"),
            set(),
            {"org_1": {D}},
            {},
        ),
        # a part orgdrift does not know: the whole organization
        (sapi("post", "/api/v2/organizations/org_1/some-future-thing"), {"org_1"}, {}, {}),
        (sapi("PATCH", "/api/v2/organizations/org%5F1?fields=x"), {"org_1"}, {}, {}),  # encoded
        (sapi("delete", "/api/v2/connections/con_1"), set(), {}, {"connections": {"con_1"}}),
        (sapi("patch", "/api/v2/connections/con_1"), set(), {}, {"connections": {"con_1"}}),
        (sapi("patch", "/api/v2/client-grants/cgr_1"), set(), {}, {"client_grants": {"cgr_1"}}),
        (sapi("delete", "/api/v2/client-grants/cgr_1"), set(), {}, {"client_grants": {"cgr_1"}}),
        (sapi("delete", "/api/v2/clients/cli_1"), set(), {}, {"clients": {"cli_1"}}),
        # writes that change nothing orgdrift compares
        (sapi("post", "/api/v2/organizations/org_1/members"), set(), {}, {}),
        (sapi("delete", "/api/v2/organizations/org_1/members/u/roles"), set(), {}, {}),
        (sapi("post", "/api/v2/organizations/org_1/invitations"), set(), {}, {}),
        (sapi("delete", "/api/v2/connections/con_1/users"), set(), {}, {}),
        (sapi("post", "/api/v2/connections", {"id": "con_new"}), set(), {}, {}),
        (sapi("post", "/api/v2/client-grants", {"id": "cgr_new"}), set(), {}, {}),
        (sapi("patch", "/api/v2/clients/cli_1"), set(), {}, {}),
        (sapi("patch", "/api/v2/users/auth0|1"), set(), {}, {}),
        (sapi("post", "/api/v2/clients"), set(), {}, {}),
        (sapi("get", "/api/v2/organizations/org_1"), set(), {}, {}),  # not a write
        ({"log_id": "1", "type": "s", "description": "Success Login"}, set(), {}, {}),
        # writes outside the Management API, by the organization's own admins
        (
            {
                "log_id": "1",
                "type": "my_organization_api_idp_succeeded",
                "organization_id": "org_9",
            },
            {"org_9"},
            {},
            {},
        ),
        (
            {
                "log_id": "1",
                "type": "my_organization_api_org_details_succeeded",
                "organization_id": "org_9",
            },
            {"org_9"},
            {},
            {},
        ),
        ({"log_id": "1", "type": "ss_sso_success", "organization_id": "org_8"}, {"org_8"}, {}, {}),
        (
            {"log_id": "1", "type": "my_organization_api_idp_failed", "organization_id": "o"},
            set(),
            {},
            {},
        ),
        ({"log_id": "1", "type": "ss_sso_failure", "organization_id": "org_8"}, set(), {}, {}),
    ],
)
def test_entries(
    entry: dict[str, Any],
    orgs: set[str],
    parts: dict[str, set[str]],
    tenant_wide: dict[str, set[str]],
) -> None:
    touched = classify([entry])
    assert touched.organizations == orgs
    assert touched.parts == parts
    for name in ("connections", "client_grants", "clients"):
        assert getattr(touched, name) == tenant_wide.get(name, set()), name
    assert touched.unattributable == ()
    assert touched.entries == 1


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (sapi("post", "/api/v2/organizations"), "an organization created with no id logged"),
        (
            sapi("post", "/api/v2/organizations", {"id": 7}),
            "an organization created with no id logged",
        ),
        (sapi("put", "/api/v2/organizations"), "PUT /organizations"),
        (
            sapi("post", "/dashboard/organizations/x"),
            "a write to an unknown path '/dashboard/organizations/x'",
        ),
        (
            sapi("post", "/api/v2/self-service-profiles/x/organization-links"),
            "POST /self-service-profiles/x/organization-links",
        ),
        ({"log_id": "900", "type": "sapi", "details": {}}, "a write with no method or path"),
        ({"log_id": "900", "type": "ss_sso_success"}, "ss_sso_success names no organization"),
        (
            {
                "log_id": "900",
                "type": "my_organization_api_org_details_succeeded",
                "organization_id": "",
            },
            "my_organization_api_org_details_succeeded names no organization",
        ),
    ],
)
def test_unattributable_entries_are_named(entry: dict[str, Any], why: str) -> None:
    touched = classify([entry])
    assert len(touched.unattributable) == 1
    assert touched.unattributable[0].part is None  # it could touch any part
    assert str(touched.unattributable[0]).startswith("log 900 (")
    assert str(touched.unattributable[0]).endswith(why)


def test_deleting_an_api_could_delete_client_grants_of_any_organization() -> None:
    touched = classify([sapi("delete", "/api/v2/resource-servers/rs_1")])
    assert [u.part for u in touched.unattributable] == ["client_grants"]
    assert str(touched.unattributable[0]).endswith(
        "DELETE /resource-servers/rs_1 deletes its client grants"
    )


def test_many_entries_and_the_checkpoint() -> None:
    entries = [
        sapi("patch", "/api/v2/organizations/org_1", log_id="901"),
        {"log_id": "902", "type": "s"},
        sapi("delete", "/api/v2/organizations/org_2/enabled_connections/con_1", log_id="903"),
        sapi("patch", "/api/v2/organizations/org_1", log_id="904"),
    ]
    assert classify(entries) == Touched(
        organizations=frozenset({"org_1"}),
        parts={"org_2": frozenset({"connections"})},
        entries=4,
        last_log_id="904",
    )


def test_nothing_read() -> None:
    assert classify([]) == Touched()
