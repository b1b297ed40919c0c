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


@pytest.mark.parametrize(
    ("entry", "orgs", "connections"),
    [
        (sapi("post", "/api/v2/organizations", {"id": "org_new", "name": "n"}), {"org_new"}, set()),
        (sapi("patch", "/api/v2/organizations/org_1"), {"org_1"}, set()),
        (sapi("delete", "/api/v2/organizations/org_1"), {"org_1"}, set()),
        (sapi("post", "/api/v2/organizations/org_1/enabled_connections"), {"org_1"}, set()),
        (sapi("patch", "/api/v2/organizations/org_1/enabled_connections/con_1"), {"org_1"}, set()),
        (sapi("delete", "/api/v2/organizations/org_1/enabled_connections/con_1"), {"org_1"}, set()),
        (sapi("post", "/api/v2/organizations/org_1/connections"), {"org_1"}, set()),  # EA
        (sapi("patch", "/api/v2/organizations/org_1/connections/con_1"), {"org_1"}, set()),
        (sapi("post", "/api/v2/organizations/org_1/client-grants"), {"org_1"}, set()),
        (sapi("delete", "/api/v2/organizations/org_1/discovery-domains/dd_1"), {"org_1"}, set()),
        (sapi("post", "/api/v2/organizations/org_1/some-future-thing"), {"org_1"}, set()),
        (
            sapi("PATCH", "/api/v2/organizations/org%5F1?fields=x"),
            {"org_1"},
            set(),
        ),  # encoded, upper
        (sapi("delete", "/api/v2/connections/con_1"), set(), {"con_1"}),
        (sapi("patch", "/api/v2/connections/con_1"), set(), {"con_1"}),
        # writes that change nothing orgdrift compares
        (sapi("post", "/api/v2/organizations/org_1/members"), set(), set()),
        (sapi("delete", "/api/v2/organizations/org_1/members/u/roles"), set(), set()),
        (sapi("post", "/api/v2/organizations/org_1/invitations"), set(), set()),
        (sapi("delete", "/api/v2/connections/con_1/users"), set(), set()),
        (sapi("post", "/api/v2/connections", {"id": "con_new"}), set(), set()),
        (sapi("patch", "/api/v2/users/auth0|1"), set(), set()),
        (sapi("post", "/api/v2/clients"), set(), set()),
        (sapi("get", "/api/v2/organizations/org_1"), set(), set()),  # not a write
        ({"log_id": "1", "type": "s", "description": "Success Login"}, set(), set()),
        (
            {
                "log_id": "1",
                "type": "my_organization_api_idp_succeeded",
                "organization_id": "org_9",
            },
            {"org_9"},
            set(),
        ),
        ({"log_id": "1", "type": "ss_sso_success", "organization_id": "org_8"}, {"org_8"}, set()),
    ],
)
def test_entries(entry: dict[str, Any], orgs: set[str], connections: set[str]) -> None:
    touched = classify([entry])
    assert touched.organizations == orgs
    assert touched.connections == connections
    assert touched.unattributable == ()
    assert touched.entries == 1


def test_client_grant_writes_are_collected() -> None:
    touched = classify([sapi("delete", "/api/v2/client-grants/cgr_1")])
    assert touched.client_grants == {"cgr_1"}


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
    assert not touched.attributable
    assert len(touched.unattributable) == 1
    assert touched.unattributable[0].startswith("log 900 (")
    assert touched.unattributable[0].endswith(why)


def test_many_entries_and_the_checkpoint() -> None:
    entries = [
        sapi("patch", "/api/v2/organizations/org_1", log_id="901"),
        {"log_id": "902", "type": "s"},
        sapi("delete", "/api/v2/organizations/org_2/enabled_connections/con_1", log_id="903"),
        sapi("patch", "/api/v2/organizations/org_1", log_id="904"),
    ]
    assert classify(entries) == Touched(
        organizations=frozenset({"org_1", "org_2"}), entries=4, last_log_id="904"
    )


def test_nothing_read() -> None:
    assert classify([]) == Touched()
