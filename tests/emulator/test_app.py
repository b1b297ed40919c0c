"""The emulator's handlers in process, one test per behaviour of the Management API it copies."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from orgdrift import emulator
from orgdrift.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Bucket,
    ConnectionDropped,
    EmulatorConfig,
    Fault,
    FaultContext,
    create_app,
)
from orgdrift.emulator.tenant import decode_cursor
from orgdrift.models import LiveOrganization, LiveState

from .support import (
    AUDIENCE,
    FakeClock,
    auth,
    connection,
    example_state,
    get,
    get_many,
    make_state,
    org_id,
    post_token,
    send_all,
)

ORGS = "/api/v2/organizations"
NOT_FOUND = {
    "statusCode": 404,
    "error": "Not Found",
    "message": "No organization found by that id or name",
}


def credentials(**overrides: Any) -> dict[str, Any]:
    body = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "audience": AUDIENCE,
    }
    body.update(overrides)
    return body


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


# --- GET /organizations: the three shapes ----------------------------------------------------


def test_list_without_totals_is_a_bare_array_in_creation_order() -> None:
    app = create_app(make_state(7))
    response = get(app, f"{ORGS}?page=1&per_page=3")
    assert response.status_code == 200
    assert [o["id"] for o in response.json()] == [org_id(3), org_id(4), org_id(5)]


def test_list_with_totals_has_start_limit_total_and_omits_unset_keys() -> None:
    app = create_app(make_state(7))
    body = get(app, f"{ORGS}?include_totals=true&page=2&per_page=3").json()
    assert list(body) == ["organizations", "start", "limit", "total"]
    assert (body["start"], body["limit"], body["total"]) == (6, 3, 7)
    assert body["organizations"] == [
        {
            "id": org_id(6),
            "name": "org-00006",
            "display_name": "Organization 6",
            "metadata": {"index": "6"},
        }
    ]
    second = get(app, f"{ORGS}/{org_id(1)}").json()
    assert "metadata" not in second  # None in the state means unset: omitted, not null


def test_page_past_the_end_is_empty() -> None:
    app = create_app(make_state(3))
    assert get(app, f"{ORGS}?page=5&per_page=10").json() == []
    assert get(app, f"{ORGS}?page=5&per_page=10&include_totals=true").json()["organizations"] == []


def test_checkpoint_pages_through_everything_and_the_last_page_has_no_next() -> None:
    app = create_app(make_state(250))
    seen: list[str] = []
    url = f"{ORGS}?take=100&include_totals=true&per_page=5"
    pages = 0
    while True:
        body = get(app, url).json()
        pages += 1
        assert set(body) <= {"organizations", "next"}  # include_totals/per_page are ignored
        seen.extend(o["id"] for o in body["organizations"])
        if "next" not in body:
            break
        url = f"{ORGS}?take=100&from={body['next']}"
    assert pages == 3
    assert seen == [org_id(i) for i in range(250)]


def test_checkpoint_cursor_is_unpadded_base64_of_created_at_and_id() -> None:
    app = create_app(make_state(5))
    cursor = get(app, f"{ORGS}?take=2").json()["next"]
    assert "=" not in cursor
    decoded = base64.b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert decoded.endswith(f"UTC,{org_id(1)}")
    assert decode_cursor(cursor) is not None


def test_checkpoint_with_exact_multiple_ends_without_an_empty_request() -> None:
    app = create_app(make_state(4))
    body = get(app, f"{ORGS}?take=2").json()
    last = get(app, f"{ORGS}?take=2&from={body['next']}").json()
    assert [o["id"] for o in last["organizations"]] == [org_id(2), org_id(3)]
    assert "next" not in last


@pytest.mark.parametrize("cursor", ["not-a-cursor!", "aGVsbG8", ""])
def test_invalid_cursor_is_a_400(cursor: str) -> None:
    app = create_app(make_state(3))
    response = get(app, f"{ORGS}?take=2&from={cursor}")
    if cursor == "":
        assert response.status_code == 200  # an empty `from` is the first page
        return
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_query_string"


@pytest.mark.parametrize(
    ("page", "per_page", "ok"),
    [(9, 100, True), (10, 100, False), (19, 50, True), (20, 50, False), (0, 100, True)],
)
def test_offset_paging_stops_at_1000_records_whatever_the_total(
    page: int, per_page: int, ok: bool
) -> None:
    app = create_app(make_state(3))
    response = get(app, f"{ORGS}?page={page}&per_page={per_page}&include_totals=true")
    if ok:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": f"Requesting page {page} exceeds the allowed maximum of 1000 records. "
        "To fetch results beyond 1000, use the checkpoint pagination method.",
        "errorCode": "invalid_paging",
    }


def test_checkpoint_is_not_limited_to_1000_records() -> None:
    app = create_app(make_state(1150, connections_per_org=0))
    total = 0
    url = f"{ORGS}?take=100"
    while url:
        body = get(app, url).json()
        total += len(body["organizations"])
        url = f"{ORGS}?take=100&from={body['next']}" if "next" in body else ""
    assert total == 1150


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("foo=1", "Query validation error: 'Additional properties not allowed: foo'."),
        ("name=acme&q=x", "Query validation error: 'Additional properties not allowed: name,q'."),
        ("per_page=101", "'Value 101 is greater than maximum 100' on property per_page"),
        ("per_page=0", "'Value 0 is less than minimum 1' on property per_page"),
        ("take=0", "'Value 0 is less than minimum 1' on property take"),
        ("take=101", "'Value 101 is greater than maximum 100' on property take"),
        ("page=-1", "'Value -1 is less than minimum 0' on property page"),
        ("page=x", "'Expected type integer but found type string' on property page"),
        ("include_totals=yes", "'Expected type boolean but found type string'"),
        ("sort=id:1", "on property sort"),
        ("sort=created_at:1:1xx", "'String is too long (16 chars), maximum 15' on property sort"),
    ],
)
def test_invalid_query_strings_are_400_invalid_query_string(query: str, message: str) -> None:
    app = create_app(make_state(3))
    response = get(app, f"{ORGS}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "invalid_query_string"
    assert message in body["message"]
    assert body["message"].startswith("Query validation error: '")


def test_sort_orders_offset_listing() -> None:
    state = LiveState(
        organizations=tuple(
            LiveOrganization({"id": org_id(i), "name": name, "display_name": name.upper()}, ())
            for i, name in enumerate(["bravo", "alpha", "charlie"])
        )
    )
    app = create_app(state)
    names = [o["name"] for o in get(app, f"{ORGS}?sort=name:1").json()]
    assert names == ["alpha", "bravo", "charlie"]
    names = [o["name"] for o in get(app, f"{ORGS}?sort=created_at:-1").json()]
    assert names == ["charlie", "alpha", "bravo"]


def test_sdk_style_parameters_are_accepted() -> None:
    app = create_app(make_state(3))
    response = get(app, f"{ORGS}?include_totals=true&take=50&include_client_association_for=c1")
    assert response.status_code == 200
    assert len(response.json()["organizations"]) == 3


# --- GET /organizations/{id} and /organizations/name/{name} ---------------------------------


def test_get_by_id_and_by_name_return_the_organization() -> None:
    app = create_app(example_state())
    by_id = get(app, f"{ORGS}/org_Ac7mEq2LxT9pRz4K")
    by_name = get(app, f"{ORGS}/name/acme")
    assert by_id.status_code == by_name.status_code == 200
    assert by_id.json() == by_name.json()
    assert by_id.json()["branding"]["colors"]["primary"] == "#0059d6"
    assert "enabled_connections" not in by_id.json()


def test_get_by_name_decodes_the_path_segment() -> None:
    app = create_app(example_state())
    assert get(app, f"{ORGS}/name/pied%2Dpiper").json()["id"] == "org_Pi3dP1p3rS0nX2aF"


@pytest.mark.parametrize("path", ["/org_XXXXXXXXXXXXXXXX", "/name/nobody", "/name/a%2Fb"])
def test_unknown_organization_is_404_without_error_code(path: str) -> None:
    app = create_app(example_state())
    response = get(app, f"{ORGS}{path}")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_name_longer_than_50_is_a_path_validation_error() -> None:
    app = create_app(example_state())
    response = get(app, f"{ORGS}/name/{'a' * 51}")
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_uri"


def test_get_by_id_refuses_query_parameters() -> None:
    app = create_app(example_state())
    response = get(app, f"{ORGS}/org_Ac7mEq2LxT9pRz4K?fields=name")
    assert response.status_code == 400
    assert "Additional properties not allowed: fields" in response.json()["message"]


# --- GET /organizations/{id}/enabled_connections ---------------------------------------------


def _connections_state(count: int) -> LiveState:
    conns = tuple(connection(i, f"conn-{i:02d}") for i in range(count))
    return LiveState(
        organizations=(
            LiveOrganization({"id": org_id(0), "name": "big", "display_name": "Big"}, conns),
            LiveOrganization({"id": org_id(1), "name": "none", "display_name": "None"}, None),
        )
    )


def test_enabled_connections_with_totals_limit_is_the_item_count() -> None:
    app = create_app(_connections_state(3))
    body = get(
        app, f"{ORGS}/{org_id(0)}/enabled_connections?include_totals=true&per_page=50"
    ).json()
    assert list(body) == ["enabled_connections", "start", "limit", "total"]
    assert (body["start"], body["limit"], body["total"]) == (0, 3, 3)


def test_enabled_connections_without_totals_is_a_bare_array() -> None:
    app = create_app(_connections_state(2))
    body = get(app, f"{ORGS}/{org_id(0)}/enabled_connections").json()
    assert isinstance(body, list)
    assert {c["connection"]["name"] for c in body} == {"conn-00", "conn-01"}


def test_enabled_connections_pages_are_stable_complete_and_not_sorted_by_name() -> None:
    app = create_app(_connections_state(25))
    url = f"{ORGS}/{org_id(0)}/enabled_connections?include_totals=true&per_page=10&page="
    pages = [r.json() for r in get_many(app, [url + str(p) for p in range(4)])]
    names = [c["connection"]["name"] for page in pages for c in page["enabled_connections"]]
    assert len(names) == len(set(names)) == 25
    assert names != sorted(names)
    assert [p["limit"] for p in pages] == [10, 10, 5, 0]
    assert [p["start"] for p in pages] == [0, 10, 20, 30]
    again = [c["connection"]["name"] for c in get(app, url + "0").json()["enabled_connections"]]
    assert again == names[:10]


def test_enabled_connections_none_means_none_enabled_and_unknown_org_is_404() -> None:
    app = create_app(_connections_state(1))
    body = get(app, f"{ORGS}/{org_id(1)}/enabled_connections?include_totals=true").json()
    assert body == {"enabled_connections": [], "start": 0, "limit": 0, "total": 0}
    missing = get(app, f"{ORGS}/org_nope/enabled_connections")
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("query", ["take=10", "from=abc", "per_page=101", "page=-1"])
def test_enabled_connections_accepts_only_offset_parameters(query: str) -> None:
    app = create_app(_connections_state(1))
    response = get(app, f"{ORGS}/{org_id(0)}/enabled_connections?{query}")
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_query_string"


# --- headers ----------------------------------------------------------------------------------


def test_every_response_has_json_content_type_and_ratelimit_headers(clock: FakeClock) -> None:
    config = EmulatorConfig(global_bucket=Bucket(rate=1.0, burst=3), clock=clock)
    app = create_app(example_state(), config)
    responses = [
        get(app, ORGS),
        get(app, f"{ORGS}/org_missing"),  # a 404 spends a token; 401s and unknown routes do not
        get(app, ORGS, token="wrong"),
        get(app, ORGS, token=None),
        get(app, "/api/v2/users"),
        get(app, ORGS),
        get(app, ORGS),  # 429
        post_token(app, json=credentials()),
    ]
    assert [r.status_code for r in responses] == [200, 404, 401, 401, 404, 200, 429, 200]
    for response in responses:
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.headers["x-ratelimit-limit"] == "3"
        assert int(response.headers["x-ratelimit-remaining"]) >= 0
        assert int(response.headers["x-ratelimit-reset"]) >= int(clock.now)
    assert responses[0].headers["x-ratelimit-remaining"] == "2"
    assert responses[6].headers["x-ratelimit-remaining"] == "0"
    assert int(responses[6].headers["x-ratelimit-reset"]) == int(clock.now) + 1


# --- authentication and scopes ----------------------------------------------------------------


def test_missing_authorization_is_401() -> None:
    response = get(create_app(example_state()), ORGS, token=None)
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Missing authentication",
    }


def test_non_bearer_authorization_is_a_400_header_format_error() -> None:
    app = create_app(example_state())
    response = send_all(app, [("GET", ORGS, {"headers": {"Authorization": "Basic abc"}})])[0]
    assert response.status_code == 400
    assert response.json()["message"] == "Bad HTTP authentication header format"


def test_unknown_or_garbled_token_is_401_invalid_token_with_attributes() -> None:
    app = create_app(example_state())
    for token in ["emulator-tokenX", "a.b.c", "eyJhbGciOiJub25lIn0.e30.x"]:
        response = get(app, ORGS, token=token)
        assert response.status_code == 401
        assert response.json() == {
            "statusCode": 401,
            "error": "Unauthorized",
            "message": "Invalid token",
            "attributes": {"error": "Invalid token"},
        }


def test_issued_jwt_works_and_tampering_expiry_and_audience_are_401(clock: FakeClock) -> None:
    app = create_app(example_state(), EmulatorConfig(clock=clock, token_lifetime=600))
    token = post_token(app, json=credentials()).json()["access_token"]
    assert get(app, ORGS, token=token).status_code == 200
    head, _payload, signature = token.split(".")
    claims = jwt_claims(token) | {"scope": "read:organizations read:users"}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = get(app, ORGS, token=f"{head}.{forged}.{signature}")
    assert tampered.json()["message"] == "Invalid signature received for JSON Web Token validation"
    other_host = send_all(app, [("GET", f"https://other.test{ORGS}", {"headers": auth(token)})])[0]
    assert other_host.status_code == 401
    assert other_host.json()["message"] == f"Bad audience: {AUDIENCE}"
    assert other_host.json()["attributes"] == {"error": f"Bad audience: {AUDIENCE}"}
    clock.advance(600)
    expired = get(app, ORGS, token=token)
    assert expired.status_code == 401
    assert expired.json()["message"] == "Expired token received for JSON Web Token validation"


def test_a_token_from_another_emulator_instance_has_a_bad_signature() -> None:
    first = create_app(example_state())
    token = post_token(first, json=credentials()).json()["access_token"]
    response = get(create_app(example_state()), ORGS, token=token)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("url", "scopes", "expected"),
    [
        (ORGS, {"read:organization_connections"}, "read:organizations, read:organizations_summary"),
        (f"{ORGS}/org_Ac7mEq2LxT9pRz4K", set(), "read:organizations, read:organizations_summary"),
        (f"{ORGS}/name/acme", {"read:organizations_summary"}, "read:organizations"),
        (
            f"{ORGS}/org_Ac7mEq2LxT9pRz4K/enabled_connections",
            {"read:organizations"},
            "read:organization_connections",
        ),
    ],
)
def test_missing_scope_is_403_insufficient_scope(url: str, scopes: set[str], expected: str) -> None:
    config = EmulatorConfig(tokens={"limited": frozenset(scopes)})
    response = get(create_app(example_state(), config), url, token="limited")
    assert response.status_code == 403
    assert response.json() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": f"Insufficient scope, expected any of: {expected}",
        "errorCode": "insufficient_scope",
    }


def test_organizations_summary_scope_is_enough_to_list_and_get_by_id() -> None:
    config = EmulatorConfig(tokens={"summary": frozenset({"read:organizations_summary"})})
    app = create_app(example_state(), config)
    assert get(app, ORGS, token="summary").status_code == 200
    assert get(app, f"{ORGS}/org_Ac7mEq2LxT9pRz4K", token="summary").status_code == 200


# --- POST /oauth/token ------------------------------------------------------------------------


def test_client_credentials_grant_returns_an_auth0_shaped_token(clock: FakeClock) -> None:
    app = create_app(example_state(), EmulatorConfig(clock=clock))
    response = post_token(app, json=credentials())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert body["expires_in"] == 86400
    assert body["token_type"] == "Bearer"
    assert body["scope"] == (
        "read:organization_client_grants read:organization_connections "
        "read:organization_discovery_domains read:organizations"
    )
    claims = jwt_claims(body["access_token"])
    assert claims == {
        "iss": "https://tenant.test/",
        "sub": f"{DEFAULT_CLIENT_ID}@clients",
        "aud": AUDIENCE,
        "iat": int(clock.now),
        "exp": int(clock.now) + 86400,
        "azp": DEFAULT_CLIENT_ID,
        "scope": body["scope"],
        "gty": "client-credentials",
    }


def test_form_encoded_grant_and_scope_narrowing() -> None:
    app = create_app(example_state())
    response = post_token(app, data=credentials(scope="read:organizations read:users"))
    assert response.status_code == 200
    assert response.json()["scope"] == "read:organizations"
    token = response.json()["access_token"]
    assert (
        get(app, f"{ORGS}/org_Ac7mEq2LxT9pRz4K/enabled_connections", token=token).status_code == 403
    )


@pytest.mark.parametrize(
    ("overrides", "status", "body"),
    [
        (
            {"client_secret": "nope"},
            401,
            {"error": "access_denied", "error_description": "Unauthorized"},
        ),
        (
            {"client_id": "who"},
            401,
            {"error": "access_denied", "error_description": "Unauthorized"},
        ),
        (
            {"audience": "https://elsewhere.test/api/v2/"},
            403,
            {
                "error": "access_denied",
                "error_description": "Service not enabled within domain: https://elsewhere.test/api/v2/",
            },
        ),
        (
            {"grant_type": "password"},
            403,
            {
                "error": "unauthorized_client",
                "error_description": "Grant type 'password' not allowed for the client.",
            },
        ),
    ],
)
def test_token_endpoint_errors(
    overrides: dict[str, str], status: int, body: dict[str, str]
) -> None:
    response = post_token(create_app(example_state()), json=credentials(**overrides))
    assert (response.status_code, response.json()) == (status, body)
    assert DEFAULT_CLIENT_SECRET not in response.text


def test_configured_audience_is_the_only_one_accepted() -> None:
    """Behind a custom domain (tenant.test) the audience is still the canonical domain's."""
    config = EmulatorConfig(audience="https://canonical.auth0.com/api/v2/")
    app = create_app(example_state(), config)
    refused = post_token(app, json=credentials())
    assert (refused.status_code, refused.json()) == (
        403,
        {
            "error": "access_denied",
            "error_description": f"Service not enabled within domain: {AUDIENCE}",
        },
    )
    token = post_token(app, json=credentials(audience=config.audience)).json()["access_token"]
    assert get(app, ORGS, token=token).status_code == 200


def test_unknown_routes_are_404() -> None:
    app = create_app(example_state())
    assert get(app, "/api/v2/clients").status_code == 404
    assert get(app, f"{ORGS}/org_Ac7mEq2LxT9pRz4K/members").status_code == 404
    assert send_all(app, [("PUT", f"{ORGS}/x", {"headers": auth()})])[0].status_code == 404
    # DELETE /organizations/{id} exists (tests/emulator/test_writes_and_logs.py): it needs its scope.
    assert send_all(app, [("DELETE", f"{ORGS}/x", {"headers": auth()})])[0].status_code == 403


# --- rate limits ------------------------------------------------------------------------------


def test_enterprise_endpoint_bucket_gives_429_then_refills(clock: FakeClock) -> None:
    config = EmulatorConfig.enterprise()
    app = create_app(
        example_state(),
        EmulatorConfig(
            global_bucket=config.global_bucket,
            buckets=config.buckets,
            clock=clock,
            send_retry_after=True,
        ),
    )
    responses = get_many(app, [ORGS] * 11)
    assert [r.status_code for r in responses] == [200] * 10 + [429]
    limited = responses[-1]
    assert limited.json() == {
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "Global limit has been reached",
        "errorCode": "too_many_requests",
    }
    assert limited.headers["x-ratelimit-limit"] == "10"  # the refusing (endpoint) bucket
    assert limited.headers["retry-after"] == "1"
    assert get(app, f"{ORGS}/name/acme").status_code == 200  # other groups are unaffected
    clock.advance(0.61)  # 100/min: one token every 0.6 s
    assert get(app, ORGS).status_code == 200
    assert get(app, ORGS).status_code == 429
    assert app.stats.rate_limited == 2
    assert app.stats.requests["organizations"] == 13


def test_global_bucket_429_and_header_countdown(clock: FakeClock) -> None:
    app = create_app(
        example_state(), EmulatorConfig(global_bucket=Bucket(rate=2, burst=3), clock=clock)
    )
    responses = get_many(app, [ORGS, f"{ORGS}/name/acme", ORGS, ORGS])
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert responses[-1].status_code == 429
    assert "retry-after" not in responses[-1].headers
    clock.advance(0.5)
    assert get(app, ORGS).status_code == 200


def test_latency_is_injected() -> None:
    app = create_app(example_state(), EmulatorConfig(latency_ms=60))
    started = time.monotonic()
    assert get(app, ORGS).status_code == 200
    assert time.monotonic() - started >= 0.06


# --- faults -----------------------------------------------------------------------------------


def _app_with(hook: Any, state: LiveState | None = None) -> Any:
    return create_app(state or make_state(5), EmulatorConfig(faults=hook))


def test_fault_status_replaces_the_answer_with_an_auth0_envelope() -> None:
    seen: list[FaultContext] = []

    def hook(context: FaultContext) -> Fault | None:
        seen.append(context)
        return Fault.error(503) if context.group_request_number == 1 else None

    app = _app_with(hook)
    first, second = get_many(app, [f"{ORGS}?take=2", f"{ORGS}?take=2"])
    assert first.status_code == 503
    assert first.json() == {
        "statusCode": 503,
        "error": "Service Unavailable",
        "message": "Service Unavailable",
    }
    assert second.status_code == 200
    assert seen[0].group == "organizations"
    assert seen[0].query == {"take": "2"}
    assert (seen[1].request_number, seen[1].group_request_number) == (2, 2)
    assert sum(n for s, n in app.stats.statuses.items() if s >= 500) == 1


def test_fault_with_a_nonstandard_status() -> None:
    response = get(_app_with(lambda c: Fault.error(520)), ORGS)
    assert (response.status_code, response.json()["error"]) == (520, "Unknown")


def test_fault_custom_body_and_delay() -> None:
    app = _app_with(lambda c: Fault(status=500, body=b'{"oops":1}', delay_ms=30))
    started = time.monotonic()
    response = get(app, ORGS)
    assert time.monotonic() - started >= 0.03
    assert (response.status_code, response.json()) == (500, {"oops": 1})


def test_malformed_html_and_truncated_bodies() -> None:
    html = get(_app_with(lambda c: Fault(malformed="html")), ORGS)
    assert html.status_code == 502
    assert html.headers["content-type"] == "text/html"
    assert html.text.startswith("<html>")
    truncated = get(_app_with(lambda c: Fault(malformed="truncated")), ORGS)
    assert truncated.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        truncated.json()


def test_dropped_connection_raises_a_transport_error_in_process() -> None:
    app = _app_with(lambda c: Fault(drop_connection=True))
    with pytest.raises(httpx.RemoteProtocolError) as info:
        get(app, ORGS)
    assert isinstance(info.value.__cause__, ConnectionDropped)
    assert app.stats.requests["organizations"] == 1


def test_the_app_does_not_depend_on_the_client_library() -> None:
    assert not issubclass(ConnectionDropped, httpx.HTTPError)
    package = Path(emulator.__file__).parent
    server_side = [p for p in package.glob("*.py") if p.name != "transport.py"]
    assert len(server_side) >= 8
    for path in server_side:  # transport.py is the client's side of an in-process connection
        assert not re.search(r"^\s*(import|from) httpx", path.read_text(), re.MULTILINE), path.name


def test_repeat_previous_page_and_stuck_cursor() -> None:
    def hook(context: FaultContext) -> Fault | None:
        if context.group_request_number == 2:
            return Fault(repeat_previous_page=True)
        if context.group_request_number == 3:
            return Fault(stuck_cursor=True)
        return None

    app = _app_with(hook)
    first = get(app, f"{ORGS}?take=2").json()
    repeated = get(app, f"{ORGS}?take=2&from={first['next']}").json()
    assert repeated == first
    stuck = get(app, f"{ORGS}?take=2&from={first['next']}").json()
    assert stuck["next"] == first["next"]
    assert [o["id"] for o in stuck["organizations"]] == [org_id(2), org_id(3)]


def test_stuck_cursor_on_the_first_page_points_at_the_first_page() -> None:
    app = _app_with(lambda c: Fault(stuck_cursor=True) if c.group_request_number == 1 else None)
    first = get(app, f"{ORGS}?take=2").json()
    again = get(app, f"{ORGS}?take=2&from={first['next']}").json()
    assert again["organizations"] == first["organizations"]


@pytest.mark.parametrize("offset", [-3600.0, 86400.0])
def test_ratelimit_reset_offset(clock: FakeClock, offset: float) -> None:
    app = create_app(
        make_state(1),
        EmulatorConfig(faults=lambda c: Fault(ratelimit_reset_offset=offset), clock=clock),
    )
    assert get(app, ORGS).headers["x-ratelimit-reset"] == str(int(clock.now + offset))


def test_fail_rate_is_seeded_and_reproducible() -> None:
    def statuses(seed: int) -> list[int]:
        app = create_app(
            make_state(2), EmulatorConfig(fail_rate=0.4, malformed_rate=0.2, seed=seed)
        )
        return [r.status_code for r in get_many(app, [ORGS] * 40)]

    first = statuses(7)
    assert first == statuses(7)
    assert any(s >= 500 for s in first)
    assert 200 in first
    assert all(s in {200, 500, 502, 503} for s in first)
    everything_fails = create_app(make_state(2), EmulatorConfig(fail_rate=1.0))
    assert all(r.status_code >= 500 for r in get_many(everything_fails, [ORGS] * 5))
    assert sum(n for s, n in everything_fails.stats.statuses.items() if s >= 500) == 5


def test_stats_snapshot_and_reset() -> None:
    app = create_app(example_state())
    get_many(
        app,
        [
            ORGS,
            f"{ORGS}/name/acme",
            f"{ORGS}/org_x",
            f"{ORGS}/org_Ac7mEq2LxT9pRz4K/enabled_connections",
        ],
    )
    snap = app.stats.snapshot()
    assert snap.total == 4
    assert snap.requests == {
        "organizations": 1,
        "organization_by_name": 1,
        "organization_by_id": 1,
        "enabled_connections": 1,
    }
    assert snap.statuses == {200: 3, 404: 1}
    app.stats.reset()
    assert app.stats.total == 0


def test_lifespan_messages_are_answered() -> None:
    app = create_app(make_state(1))
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
