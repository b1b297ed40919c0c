"""Table tests for the pure protocol logic: error bodies, retry policy, headers, pages."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from orgdrift.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ExitCode,
    InsufficientScopeError,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
)
from orgdrift.sansio import (
    MAX_RESPONSE_DEPTH,
    MAX_RETRY_DELAY,
    MIN_RETRY_DELAY,
    BodyDecodeError,
    CheckpointPager,
    HostileBodyError,
    OffsetPager,
    RateLimitInfo,
    Redactor,
    backoff_delay,
    decode_offset_page,
    error_from_response,
    is_api_not_found,
    parse_error_body,
    parse_json,
    parse_retry_after,
    retry_delay,
    should_retry,
)

NOW = 1_700_000_000.0

# --- error bodies: one row per body Auth0 was seen to send (verbatim) ----------------------

ERROR_ROWS = [
    (
        400,
        (
            '{"statusCode":400,"error":"Bad Request","message":"Requesting page 10 exceeds the allowed '
            "maximum of 1000 records. To fetch results beyond 1000, use the checkpoint pagination "
            'method.","errorCode":"invalid_paging"}'
        ),
        BadRequestError,
        "invalid_paging",
        "Requesting page 10 exceeds the allowed maximum of 1000 records.",
    ),
    (
        400,
        (
            '{"statusCode":400,"error":"Bad Request","message":"Query validation error: '
            '\'Additional properties not allowed: name\'.","errorCode":"invalid_query_string"}'
        ),
        BadRequestError,
        "invalid_query_string",
        "Query validation error: 'Additional properties not allowed: name'.",
    ),
    (
        400,
        (
            '{"statusCode":400,"error":"Bad Request","message":"Bad HTTP authentication header '
            'format","errorCode":"Bearer"}'
        ),
        BadRequestError,
        "Bearer",
        "Bad HTTP authentication header format",
    ),
    (
        401,
        (
            '{"statusCode":401,"error":"Unauthorized","message":"Invalid token",'
            '"attributes":{"error":"Invalid token"}}'
        ),
        AuthenticationError,
        None,
        "Invalid token",
    ),
    (
        401,
        (
            '{"statusCode":401,"error":"Unauthorized","message":"Expired token received for JSON Web '
            'Token validation","attributes":{"error":"Expired token received for JSON Web Token '
            'validation"}}'
        ),
        AuthenticationError,
        None,
        "Expired token received for JSON Web Token validation",
    ),
    (
        401,
        '{"statusCode":401,"error":"Unauthorized","message":"Client is not global"}',
        AuthenticationError,
        None,
        "Client is not global",
    ),
    (
        401,
        (
            '{"statusCode":401,"error":"Unauthorized","message":"Bad audience: '
            'https://myaudience.com/api/v2"}'
        ),
        AuthenticationError,
        None,
        "Bad audience: https://myaudience.com/api/v2",
    ),
    (
        403,
        (
            '{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: '
            'read:organization_client_grants","errorCode":"insufficient_scope"}'
        ),
        InsufficientScopeError,
        "insufficient_scope",
        "Insufficient scope, expected any of: read:organization_client_grants",
    ),
    (
        403,
        (
            '{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: '
            'read:clients, read:client_summary"}'
        ),
        InsufficientScopeError,
        None,
        "Insufficient scope, expected any of: read:clients, read:client_summary",
    ),
    (
        403,
        (
            '{"error":"access_denied","error_description":"Service not enabled within domain: '
            'https://x.auth0.com/api/v2/"}'
        ),
        AuthenticationError,
        "access_denied",
        "Service not enabled within domain: https://x.auth0.com/api/v2/",
    ),
    (
        404,
        '{"statusCode":404,"error":"Not Found","message":"No organization found by that id or name"}',
        NotFoundError,
        None,
        "No organization found by that id or name",
    ),
    (
        429,
        (
            '{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached",'
            '"errorCode":"too_many_requests"}'
        ),
        RateLimitError,
        "too_many_requests",
        "Global limit has been reached",
    ),
    (
        429,
        '{"statusCode":429,"error":"Too Many Requests"}',
        RateLimitError,
        None,
        "Too Many Requests",
    ),
    (500, "<html><body>Bad gateway</body></html>", ServerError, None, "Internal Server Error"),
    (503, "", ServerError, None, "Service Unavailable (empty response body)"),
    (502, '{"statusCode":502', ServerError, None, "(response body is not JSON)"),
    (403, '{"statusCode":403,"error":"Forbidden","message":"IP blocked"}', ApiError, None, "IP"),
    (409, '["not", "an", "object"]', ApiError, None, "Conflict"),
    (400, '{"statusCode":400,"message":42,"errorCode":7}', BadRequestError, None, "Bad Request"),
]


@pytest.mark.parametrize(("status", "body", "cls", "code", "text"), ERROR_ROWS)
def test_error_mapping(
    status: int, body: str, cls: type[ApiError], code: str | None, text: str
) -> None:
    error = error_from_response(status, body.encode(), method="GET", path="/api/v2/organizations")
    assert type(error) is cls
    assert error.status == status
    assert error.error_code == code
    assert text in error.api_message
    assert str(error).startswith(f"GET /api/v2/organizations: HTTP {status}")
    assert error.exit_code is ExitCode.INCOMPLETE


def test_error_mapping_redacts_echoed_secrets_and_counts_attempts() -> None:
    body = json.dumps({"statusCode": 401, "message": "Invalid token sekret-123"}).encode()
    error = error_from_response(401, body, secrets=("sekret-123",), attempts=3)
    assert "sekret-123" not in str(error)
    assert "***" in str(error)
    assert "(after 3 attempts)" in str(error)


def test_parse_json() -> None:
    assert parse_json(b'{"a": 1}') == {"a": 1}
    with pytest.raises(BodyDecodeError, match="not valid JSON"):
        parse_json(b'{"organizations":[{"id":')
    with pytest.raises(BodyDecodeError):
        parse_json(b"\xff\xfe")


# --- retry policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry"),
    [
        (200, False),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (409, False),
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (599, True),
    ],
)
def test_should_retry(status: int, retry: bool) -> None:
    assert should_retry(status) is retry


def _http_date(ts: float) -> str:
    return format_datetime(datetime.fromtimestamp(ts, tz=UTC), usegmt=True)


@pytest.mark.parametrize(
    ("headers", "status", "low", "high"),
    [
        ({"Retry-After": "3"}, 429, 3.0, 3.0),
        ({"retry-after": "2.5"}, 503, 2.5, 2.5),
        ({"retry-after-ms": "1500"}, 429, 1.5, 1.5),
        ({"Retry-After": _http_date(NOW + 7)}, 429, 7.0, 7.0),
        ({"Retry-After": "7200"}, 429, MAX_RETRY_DELAY, MAX_RETRY_DELAY),
        ({"Retry-After": "0"}, 429, MIN_RETRY_DELAY, MIN_RETRY_DELAY),
        ({"x-ratelimit-reset": str(int(NOW + 2))}, 429, 2.0 + MIN_RETRY_DELAY, 2.4 + 0.06),
        ({"X-RateLimit-Reset": str(int(NOW + 4 * 3600))}, 429, MAX_RETRY_DELAY, MAX_RETRY_DELAY),
        ({"x-ratelimit-reset": str(int(NOW - 30))}, 429, MIN_RETRY_DELAY, MIN_RETRY_DELAY),
        ({}, 429, 0.9, 1.1),
        ({"x-ratelimit-reset": "garbage"}, 429, 0.9, 1.1),
        ({"Retry-After": "soon"}, 429, 0.9, 1.1),
        ({}, 500, 0.375, 0.5),
        ({"x-ratelimit-reset": str(int(NOW + 30))}, 503, 0.375, 0.5),
        ({}, None, 0.375, 0.5),
    ],
)
def test_retry_delay_first_retry(
    headers: dict[str, str], status: int | None, low: float, high: float
) -> None:
    for seed in range(20):
        delay = retry_delay(0, headers, NOW, random.Random(seed), status=status)
        assert low - 1e-9 <= delay <= high + 1e-9, (headers, delay)


def test_retry_delay_grows_and_is_capped() -> None:
    rng = random.Random(1)
    no_header_429 = [retry_delay(n, {}, NOW, rng, status=429) for n in range(10)]
    assert 1.8 <= no_header_429[1] <= 2.2
    assert 3.6 <= no_header_429[2] <= 4.4
    assert max(no_header_429) <= MAX_RETRY_DELAY
    server = [retry_delay(n, {}, NOW, rng, status=502) for n in range(10)]
    assert 0.75 <= server[1] <= 1.0
    assert all(d <= 8.0 for d in server)
    assert server[9] >= 6.0
    assert all(MIN_RETRY_DELAY <= backoff_delay(n, rng) <= 8.0 for n in range(50))


def test_parse_retry_after() -> None:
    assert parse_retry_after({}, NOW) is None
    assert parse_retry_after({"Retry-After": _http_date(NOW - 60)}, NOW) == 0.0
    assert parse_retry_after({"Retry-After": "Mon, 99 Foo"}, NOW) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {
                "x-ratelimit-limit": "1000",
                "x-ratelimit-remaining": "50",
                "x-ratelimit-reset": "1675452600",
            },
            RateLimitInfo(1000, 50, 1675452600.0),
        ),
        ({"X-RateLimit-Remaining": "0"}, RateLimitInfo(None, 0, None)),
        ({"x-ratelimit-limit": "-3", "x-ratelimit-remaining": "1.5"}, None),
        ({"content-type": "application/json"}, None),
    ],
)
def test_rate_limit_info(headers: dict[str, str], expected: RateLimitInfo | None) -> None:
    assert RateLimitInfo.from_headers(headers) == expected


# --- pages ------------------------------------------------------------------------------


def _orgs(*ids: str) -> list[dict[str, str]]:
    return [{"id": i, "name": i.lower()} for i in ids]


def test_checkpoint_page_shapes() -> None:
    body = {"organizations": _orgs("org_A", "org_B"), "next": "MjAy"}
    pager = CheckpointPager(take=2)
    assert pager.feed(body) == body["organizations"]
    assert (pager.cursor, pager.finished) == ("MjAy", False)
    for last in ({"organizations": []}, {"organizations": _orgs("org_A"), "next": ""}):
        pager = CheckpointPager()
        assert pager.feed(last) == last["organizations"]
        assert (pager.cursor, pager.finished) == (None, True)
    pager = CheckpointPager()
    pager.feed({"organizations": _orgs("org_A"), "next": None})
    assert (pager.cursor, pager.finished) == (None, True)


@pytest.mark.parametrize(
    ("body", "cursor", "message"),
    [
        ([{"id": "org_A"}], None, "expected a JSON object"),
        ({"orgs": []}, None, "no 'organizations' list"),
        ({"organizations": {"id": "org_A"}}, None, "no 'organizations' list"),
        ({"organizations": ["org_A"]}, None, r"organizations\[0\] is str"),
        ({"organizations": [{"name": "x"}]}, None, "no string 'id'"),
        ({"organizations": _orgs("org_A"), "next": 5}, None, "'next' is int"),
        ({"organizations": _orgs("org_A"), "next": "c1"}, "c1", "not advancing"),
    ],
)
def test_checkpoint_page_rejects(body: object, cursor: str | None, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        CheckpointPager(cursor=cursor).feed(body)


def test_checkpoint_pager_follows_next_and_detects_repeats() -> None:
    pager = CheckpointPager(take=1)
    assert pager.params() == {"take": "1"}
    assert pager.feed({"organizations": _orgs("org_A"), "next": "c1"}) == _orgs("org_A")
    assert pager.params() == {"take": "1", "from": "c1"}
    with pytest.raises(ProtocolError, match="repeats organizations id"):
        pager.feed({"organizations": _orgs("org_A"), "next": "c2"})

    short = CheckpointPager(take=2)
    with pytest.raises(ProtocolError, match="has 1 of 2 organizations but a 'next' cursor"):
        short.feed({"organizations": _orgs("org_A"), "next": "c1"})
    with pytest.raises(ProtocolError, match="2 items, take=1"):
        CheckpointPager(take=1).feed({"organizations": _orgs("org_A", "org_B")})

    cycling = CheckpointPager(take=1)
    cycling.feed({"organizations": _orgs("org_A"), "next": "c1"})
    cycling.feed({"organizations": _orgs("org_B"), "next": "c2"})
    with pytest.raises(ProtocolError, match="earlier position"):
        cycling.feed({"organizations": _orgs("org_C"), "next": "c1"})

    within = CheckpointPager()
    with pytest.raises(ProtocolError, match="repeats"):
        within.feed({"organizations": _orgs("org_A", "org_A")})

    done = CheckpointPager()
    done.feed({"organizations": _orgs("org_A")})
    assert done.params() is None
    with pytest.raises(ProtocolError, match="already finished"):
        done.feed({"organizations": []})


def _conns(start: int, count: int) -> list[dict[str, object]]:
    return [{"connection_id": f"con_{start + i:04d}"} for i in range(count)]


@pytest.mark.parametrize(
    ("body", "page", "per_page", "count", "done"),
    [
        (
            {"enabled_connections": _conns(0, 2), "start": 0, "limit": 2, "total": 2},
            0,
            100,
            2,
            True,
        ),
        (
            {"enabled_connections": _conns(0, 100), "start": 0, "limit": 100, "total": 250},
            0,
            100,
            100,
            False,
        ),
        (
            {"enabled_connections": _conns(100, 100), "start": 100, "limit": 100, "total": 200},
            1,
            100,
            100,
            False,  # a full page never ends the listing, whatever `total` says
        ),
        (
            {"enabled_connections": _conns(0, 100), "start": 0, "limit": 100, "total": 100},
            0,
            100,
            100,
            False,
        ),
        ({"enabled_connections": [], "start": 0, "limit": 0, "total": 0}, 0, 100, 0, True),
        ({"enabled_connections": _conns(0, 3)}, 0, 100, 3, True),
        ({"enabled_connections": _conns(0, 5)}, 0, 5, 5, False),
    ],
)
def test_connections_page(body: object, page: int, per_page: int, count: int, done: bool) -> None:
    pager = OffsetPager(per_page=per_page, page=page)
    assert len(pager.feed(body)) == count
    assert pager.finished is done


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "expected a JSON object"),
        ({"connections": []}, "no 'enabled_connections' list"),
        ({"enabled_connections": [1]}, "is int, not an object"),
        ({"enabled_connections": [{"connection": {}}]}, "no string 'connection_id'"),
        ({"enabled_connections": _conns(0, 1), "start": 50, "total": 1}, "starts at 50"),
        ({"enabled_connections": _conns(0, 1), "total": "x"}, "'total' is not"),
        ({"enabled_connections": _conns(0, 2), "start": 0, "total": 5}, "cut short"),
        ({"enabled_connections": _conns(0, 3), "start": 0, "total": 2}, "beyond total=2"),
        ({"enabled_connections": _conns(0, 3), "total": 1.5}, "whole number"),
    ],
)
def test_connections_page_rejects(body: object, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        OffsetPager().feed(body)


def test_connections_page_larger_than_per_page() -> None:
    with pytest.raises(ProtocolError, match="more than per_page"):
        OffsetPager(per_page=2).feed({"enabled_connections": _conns(0, 3)})


def test_offset_pager() -> None:
    pager = OffsetPager(per_page=2)
    assert pager.params() == {"page": "0", "per_page": "2", "include_totals": "true"}
    pager.feed({"enabled_connections": _conns(0, 2), "start": 0, "limit": 2, "total": 3})
    assert pager.params() == {"page": "1", "per_page": "2", "include_totals": "true"}
    with pytest.raises(ProtocolError, match="repeats a connection_id"):
        pager.feed({"enabled_connections": _conns(1, 1), "start": 2, "limit": 1, "total": 3})
    ok = OffsetPager(per_page=2)
    first = ok.feed({"enabled_connections": _conns(0, 2), "start": 0, "total": 3})
    second = ok.feed({"enabled_connections": _conns(2, 1), "start": 2, "total": 3})
    assert ok.params() is None
    assert [c["connection_id"] for c in first + second] == ["con_0000", "con_0001", "con_0002"]


def test_offset_page() -> None:
    body = {"organizations": _orgs("org_A", "org_B"), "start": 100, "limit": 100, "total": 102}
    assert decode_offset_page(body, 1, 100) == (body["organizations"], 102)
    with pytest.raises(ProtocolError, match="no 'total'"):
        decode_offset_page({"organizations": []}, 0, 100)
    with pytest.raises(ProtocolError, match="starts at 100"):
        decode_offset_page(body, 0, 100)
    with pytest.raises(ProtocolError, match="repeats"):
        decode_offset_page({"organizations": _orgs("org_A", "org_A"), "total": 2}, 0, 100)
    with pytest.raises(ProtocolError, match="more than per_page"):
        decode_offset_page(body, 1, 1)


# --- hostile bodies, odd numbers, the API's own 404, the redactor (issue 17) ----------------------


def _nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"total": NaN}', "NaN, which is not JSON"),
        (b'{"total": Infinity}', "Infinity, which is not JSON"),
        (b'{"total": -Infinity}', "-Infinity, which is not JSON"),
        (b'{"total": 1e400}', "out of range"),
        (b'{"total": ' + b"9" * 400 + b"}", "400 digits"),
        (_nested(100_000), f"deeper than {MAX_RESPONSE_DEPTH} levels"),
        (_nested(MAX_RESPONSE_DEPTH + 1), f"deeper than {MAX_RESPONSE_DEPTH} levels"),
    ],
)
def test_hostile_bodies_are_refused_without_recursion(body: bytes, message: str) -> None:
    with pytest.raises(HostileBodyError, match=message):
        parse_json(body)


def test_nesting_up_to_the_cap_is_read() -> None:
    assert parse_json(_nested(MAX_RESPONSE_DEPTH)) is not None
    assert parse_json(b'{"total": 12, "x": 1.5}') == {"total": 12, "x": 1.5}


@pytest.mark.parametrize(
    ("total", "message"),
    [
        (-1, "'total' is not a whole number"),
        (10**10, "'total' is not a whole number"),
        (True, "'total' is not"),
        (2.5, "'total' is not"),
    ],
)
def test_offset_totals_are_finite_whole_numbers_in_range(total: object, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_offset_page({"organizations": [], "total": total}, 0, 100)


def test_a_total_below_the_items_listed_is_only_an_estimate() -> None:
    """Auth0 answered `total: 0` beside two organizations (seen in a recording of a real tenant)."""
    items, total = decode_offset_page(
        {"organizations": _orgs("org_A", "org_B"), "total": 0}, 0, 100
    )
    assert len(items) == 2 and total == 0


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"id": "org_A", "name": 123}, "no string 'name'"),
        ({"id": "org_A", "name": None}, "no string 'name'"),
        ({"id": 7, "name": "a"}, "no string 'id'"),
        ({"id": "org_A"}, "no string 'name'"),
    ],
)
def test_listed_organizations_have_string_ids_and_names(
    item: dict[str, object], message: str
) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_offset_page({"organizations": [item], "total": 1}, 0, 100)
    with pytest.raises(ProtocolError, match=message):
        CheckpointPager().feed({"organizations": [item]})


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"connection_id": "con_1", "assign_membership_on_login": "true"}, "is not true or false"),
        ({"connection_id": "con_1", "show_as_button": 1}, "is not true or false"),
        ({"connection_id": "con_1", "connection": {"name": 7}}, "without a string 'name'"),
        ({"connection_id": "con_1", "connection": "db"}, "without a string 'name'"),
    ],
)
def test_connection_fields_are_typed(item: dict[str, object], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        OffsetPager().feed({"enabled_connections": [item]})


@pytest.mark.parametrize(
    ("body", "proof"),
    [
        (
            b'{"statusCode":404,"error":"Not Found","message":"No organization found by that id or name"}',
            True,
        ),
        (
            b'{"statusCode":404,"error":"Not Found","message":"x","errorCode":"inexistent_organization"}',
            True,
        ),
        (b"<html><h1>404 Not Found</h1></html>", False),
        (b"", False),
        (b'{"message":"route not found"}', False),
        (b'{"statusCode":"404","error":"Not Found","message":"x"}', False),
        (b'{"statusCode":404,"error":"Not Found","message":"x","errorCode":7}', False),
        (_nested(100_000), False),
    ],
)
def test_only_the_api_json_404_proves_absence(body: bytes, proof: bool) -> None:
    assert is_api_not_found(404, body) is proof
    assert is_api_not_found(502, body) is False


def test_error_bodies_that_are_deep_or_odd_fall_back_to_the_phrase() -> None:
    assert (
        parse_error_body(503, _nested(100_000)).message
        == "Service Unavailable (response body is not JSON)"
    )
    assert (
        parse_error_body(401, b'{"message": NaN}').message
        == "Unauthorized (response body is not JSON)"
    )


def test_one_redactor_for_every_text() -> None:
    redact = Redactor(("client-secret-1",))
    redact.add("issued.jwt.token")
    redact.add("")
    text = "client-secret-1 and issued.jwt.token and Bearer issued.jwt.token"
    assert redact(text) == "*** and *** and Bearer ***"
    assert redact.echoed_in(b'{"name": "issued.jwt.token"}')
    assert not redact.echoed_in(b'{"name": "acme"}')
    error = error_from_response(
        401,
        b'{"statusCode":401,"error":"Unauthorized","message":"bad issued.jwt.token","errorCode":"issued.jwt.token"}',
        secrets=redact,
    )
    assert "issued" not in f"{error} {error.error_code} {error.api_message}"
    assert error.error_code == "***"
    scrubbed = redact.scrub(ProtocolError("organization issued.jwt.token was listed twice"))
    assert str(scrubbed) == "organization *** was listed twice"
