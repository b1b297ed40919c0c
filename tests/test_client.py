"""ManagementClient against canned Auth0 responses (httpx.MockTransport), in virtual time."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest

from orgdrift.auth import REQUIRED_SCOPES, Credentials, Secret
from orgdrift.client import ClientOptions, ManagementClient, RequestEvent
from orgdrift.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    InsufficientScopeError,
    NotFoundError,
    OrgdriftError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TransportError,
)
from orgdrift.models import RawObject
from orgdrift.pacing import Pacer
from orgdrift.sansio import MAX_BODY_BYTES, retry_delay

from .virtual_time import run_virtual

T = TypeVar("T")
EPOCH = 1_700_000_000.0


BASE = "https://tenant.eu.auth0.com"
TOKEN = "static-token-value-123"
CLIENT_SECRET = "client-secret-value-456"
JSON_CT = {"content-type": "application/json; charset=utf-8"}

# Verbatim error bodies as the Management API sends them (its reference and the SDKs' tests).
BODY_401 = (
    b'{"statusCode":401,"error":"Unauthorized","message":"Invalid token",'
    b'"attributes":{"error":"Invalid token"}}'
)
BODY_401_EXPIRED = (
    b'{"statusCode":401,"error":"Unauthorized","message":"Expired token received for JSON Web '
    b'Token validation","attributes":{"error":"Expired token received for JSON Web Token '
    b'validation"}}'
)
BODY_403 = (
    b'{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: '
    b'read:organization_connections","errorCode":"insufficient_scope"}'
)
BODY_404 = (
    b'{"statusCode":404,"error":"Not Found","message":"No organization found by that id or name"}'
)
BODY_400 = (
    b'{"statusCode":400,"error":"Bad Request","message":"Requesting page 10 exceeds the allowed '
    b"maximum of 1000 records. To fetch results beyond 1000, use the checkpoint pagination "
    b'method.","errorCode":"invalid_paging"}'
)
BODY_429 = (
    b'{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached",'
    b'"errorCode":"too_many_requests"}'
)


def make_jwt(claims: Mapping[str, object]) -> str:
    def part(data: Mapping[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def org(i: int) -> RawObject:
    return {"id": f"org_{i:016d}", "name": f"org-{i}", "display_name": f"Org {i}"}


def conn(i: int) -> RawObject:
    return {
        "connection_id": f"con_{i:016d}",
        "assign_membership_on_login": False,
        "connection": {"name": f"c{i}", "strategy": "auth0"},
    }


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Run:
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    events: list[RequestEvent] = field(default_factory=list)
    client: ManagementClient | None = None

    @property
    def paths(self) -> list[str]:
        return [r.url.raw_path.decode() for r in self.requests]


def run_client(
    handler: Handler,
    scenario: Callable[[ManagementClient], Awaitable[T]],
    *,
    credentials: Credentials | None = None,
    options: ClientOptions | None = None,
    base_url: str = BASE,
) -> tuple[T, Run]:
    run = Run()

    def recording(request: httpx.Request) -> httpx.Response:
        run.requests.append(request)
        return handler(request)

    async def main() -> T:
        loop = asyncio.get_running_loop()

        async def sleep(seconds: float) -> None:
            run.sleeps.append(seconds)
            await asyncio.sleep(seconds)

        def wall() -> float:
            return EPOCH + loop.time()

        opts = options or ClientOptions()
        pacer = Pacer(
            concurrency=opts.concurrency,
            max_rps=opts.max_rps,
            clock=loop.time,
            wall_clock=wall,
        )
        async with httpx.AsyncClient(transport=httpx.MockTransport(recording)) as http:
            client = ManagementClient(
                http,
                base_url,
                credentials or Credentials(token=Secret(TOKEN)),
                opts,
                sleep=sleep,
                clock=loop.time,
                wall_clock=wall,
                rng=random.Random(0),
                on_event=run.events.append,
                pacer=pacer,
            )
            run.client = client
            return await scenario(client)

    return run_virtual(main()), run


def respond(
    status: int, body: bytes | object, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers={**JSON_CT, **(headers or {})})


def sequence(*responses: httpx.Response) -> Handler:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def checkpoint_tenant(count: int, *, stuck_at: int | None = None) -> Handler:
    orgs = [org(i) for i in range(count)]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v2/organizations"
        params = dict(request.url.params)
        assert set(params) <= {"take", "from"}
        start = int(base64.b64decode(params["from"]).decode()) if "from" in params else 0
        take = int(params["take"])
        body: dict[str, object] = {"organizations": orgs[start : start + take]}
        if start + take < count:
            nxt = start if stuck_at is not None and start >= stuck_at else start + take
            body["next"] = base64.b64encode(str(nxt).encode()).decode()
        return respond(200, body)

    return handler


async def all_orgs(client: ManagementClient) -> list[RawObject]:
    return await client.list_organizations()


# --- pagination --------------------------------------------------------------------------------


def test_checkpoint_pagination_goes_past_1000() -> None:
    orgs, run = run_client(checkpoint_tenant(2350), all_orgs)
    assert len(orgs) == 2350
    assert len({o["id"] for o in orgs}) == 2350
    assert len(run.requests) == 24
    assert dict(run.requests[0].url.params) == {"take": "100"}
    assert dict(run.requests[1].url.params)["from"] == base64.b64encode(b"100").decode()
    assert run.client is not None
    assert run.client.stats.requests == 24
    assert run.client.stats.retries == 0


def test_exactly_one_page() -> None:
    orgs, run = run_client(checkpoint_tenant(100), all_orgs)
    assert len(orgs) == 100
    assert len(run.requests) == 1


def test_stuck_cursor_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="not advancing"):
        run_client(checkpoint_tenant(500, stuck_at=200), all_orgs)


def connections_tenant(total: int, *, include_total: bool = True) -> Handler:
    items = [conn(i) for i in range(total)]

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        assert params["include_totals"] == "true"
        page, per_page = int(params["page"]), int(params["per_page"])
        chunk = items[page * per_page : (page + 1) * per_page]
        body: dict[str, object] = {"enabled_connections": chunk}
        if include_total:
            body.update(start=page * per_page, limit=len(chunk), total=total)
        return respond(200, body)

    return handler


@pytest.mark.parametrize(
    ("total", "include_total", "requests"),
    [(0, True, 1), (2, True, 1), (100, True, 2), (100, False, 2), (250, True, 3), (300, True, 4)],
)
def test_connections_paging_ends_at_a_short_or_empty_page(
    total: int, include_total: bool, requests: int
) -> None:
    result, run = run_client(
        connections_tenant(total, include_total=include_total),
        lambda c: c.list_part("connections", "org_abc"),
    )
    assert result == [conn(i) for i in range(total)]
    assert len(run.requests) == requests
    assert run.paths[0] == (
        "/api/v2/organizations/org_abc/enabled_connections?page=0&per_page=100&include_totals=true"
    )


def test_path_segments_are_encoded() -> None:
    _, run = run_client(
        sequence(respond(404, BODY_404)), lambda c: c.get_organization_by_name("a/b c?")
    )
    assert run.paths == ["/api/v2/organizations/name/a%2Fb%20c%3F"]


def test_get_organization() -> None:
    body = {"id": "org_B4xhyBttQIcZbNLC", "name": "temp-org", "display_name": "temp-org"}
    found, run = run_client(
        sequence(respond(200, body)), lambda c: c.get_organization("org_B4xhyBttQIcZbNLC")
    )
    assert found == body
    assert run.paths == ["/api/v2/organizations/org_B4xhyBttQIcZbNLC"]
    assert run.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    missing, _ = run_client(sequence(respond(404, BODY_404)), lambda c: c.get_organization("x"))
    assert missing is None
    with pytest.raises(ProtocolError, match="JSON object"):
        run_client(sequence(respond(200, [1])), lambda c: c.get_organization("x"))


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(
            404,
            content=b"<html><h1>404 Not Found</h1></html>",
            headers={"content-type": "text/html"},
        ),
        httpx.Response(404, content=b""),
        httpx.Response(404, content=b'{"message":"route not found"}', headers=JSON_CT),
    ],
    ids=["html", "empty", "other-json"],
)
def test_a_404_that_is_not_the_api_error_proves_nothing(answer: httpx.Response) -> None:
    with pytest.raises(NotFoundError, match="not the API's JSON error") as info:
        run_client(sequence(answer), lambda c: c.get_organization_by_name("acme"))
    assert info.value.exit_code == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"id": "org_other", "name": "acme"}, "answered another organization"),
        ({"id": "org_abc", "name": 5}, "no string 'name'"),
        ({"id": 5, "name": "acme"}, "no string 'id'"),
    ],
)
def test_a_lookup_answer_is_the_organization_asked_for(body: object, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        run_client(sequence(respond(200, body)), lambda c: c.get_organization("org_abc"))


def test_a_body_past_the_cap_is_refused_once_decompressed() -> None:
    bomb = gzip.compress(b" " * (MAX_BODY_BYTES + 1))
    answer = httpx.Response(200, content=bomb, headers={**JSON_CT, "content-encoding": "gzip"})
    with pytest.raises(ProtocolError, match="larger than 8 MiB once decompressed"):
        run_client(sequence(answer), all_orgs)
    plain = respond(200, b"[" + b" " * MAX_BODY_BYTES + b"]")
    with pytest.raises(ProtocolError, match="larger than 8 MiB"):
        run_client(sequence(plain), all_orgs)


def test_a_body_that_echoes_the_credential_is_not_used() -> None:
    body = {"organizations": [{"id": "org_a", "name": f"x{TOKEN}"}]}
    with pytest.raises(ProtocolError, match="carries a credential") as info:
        run_client(sequence(respond(200, body)), all_orgs)
    assert TOKEN not in str(info.value)


def test_hostile_pages_are_exit_3_naming_the_request() -> None:
    with pytest.raises(ProtocolError, match=r"GET /api/v2/organizations\?take=100: .*deeper than"):
        run_client(sequence(respond(200, b"[" * 50_000 + b"]" * 50_000)), all_orgs)


# --- errors and retries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, BODY_401, AuthenticationError),
        (403, BODY_403, InsufficientScopeError),
        (400, BODY_400, BadRequestError),
        (404, BODY_404, NotFoundError),
        (302, b"", ApiError),
    ],
)
def test_client_errors_are_not_retried(status: int, body: bytes, error: type[ApiError]) -> None:
    with pytest.raises(error) as info:
        run_client(sequence(respond(status, body)), lambda c: c.list_part("connections", "org_1"))
    assert type(info.value) is error
    assert info.value.path.startswith("/api/v2/organizations/org_1/enabled_connections?")
    assert info.value.exit_code == 3


def test_429_with_retry_after_is_retried() -> None:
    handler = sequence(
        respond(429, BODY_429, {"retry-after": "2"}),
        respond(429, BODY_429, {"retry-after": "3"}),
        respond(200, {"organizations": [org(1)]}),
    )
    orgs, run = run_client(handler, all_orgs)
    assert orgs == [org(1)]
    assert run.sleeps == [2.0, 3.0]
    assert run.client is not None
    assert run.client.stats.requests == 3
    assert run.client.stats.retries == 2
    assert run.client.stats.rate_limited == 2
    assert [e.attempt for e in run.events] == [1, 2, 3]
    assert [e.status for e in run.events] == [429, 429, 200]
    assert run.events[0].error == "HTTP 429 Too Many Requests"


def test_429_with_ratelimit_reset_waits_until_reset() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if len(calls) == 0:
            calls.append(1)
            now = EPOCH + asyncio.get_running_loop().time()
            reset = {"x-ratelimit-limit": "50", "x-ratelimit-remaining": "0"}
            return respond(429, BODY_429, {**reset, "x-ratelimit-reset": str(int(now) + 3)})
        return respond(200, {"organizations": []})

    calls: list[int] = []
    _, run = run_client(handler, all_orgs)
    assert len(run.sleeps) >= 1
    retry_wait = run.sleeps[0]
    assert 2.0 <= retry_wait <= 3.0 * 1.2 + 0.1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_transient_statuses_are_retried(status: int) -> None:
    handler = sequence(respond(status, b"<html>busy</html>"), respond(200, {"organizations": []}))
    orgs, run = run_client(handler, all_orgs)
    assert orgs == []
    assert len(run.requests) == 2
    assert 0.375 <= run.sleeps[0] <= 0.5


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (429, BODY_429, RateLimitError, "Global limit has been reached (after 5 attempts)"),
        (503, b"", ServerError, "Service Unavailable"),
    ],
)
def test_retries_run_out_into_a_typed_error(
    status: int, body: bytes, error: type[ApiError], text: str
) -> None:
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        run_client(sequence(respond(status, body)), all_orgs)


def test_retries_are_bounded_by_max_attempts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond(503, b"")

    with pytest.raises(ServerError):
        run_client(handler, all_orgs, options=ClientOptions(max_attempts=3))
    assert len(seen) == 3


def test_partial_listing_is_never_returned_as_whole() -> None:
    pages = checkpoint_tenant(300)
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        return pages(request) if count == 1 else respond(500, b"")

    with pytest.raises(ServerError):
        run_client(handler, all_orgs)


def test_truncated_body_is_retried_then_a_protocol_error() -> None:
    good = respond(200, {"organizations": [org(1)]})
    truncated = respond(200, b'{"organizations":[{"id":"org_')
    orgs, run = run_client(sequence(truncated, good), all_orgs)
    assert orgs == [org(1)]
    assert run.events[0].error == "invalid JSON body"
    with pytest.raises(ProtocolError, match="not valid JSON") as info:
        run_client(sequence(truncated), all_orgs)
    assert "org_" not in str(info.value)


def test_truncated_body_gives_up_after_two_retries() -> None:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        return respond(200, b"<html>proxy</html>")

    with pytest.raises(ProtocolError):
        run_client(handler, all_orgs)
    assert len(seen) == 3


@pytest.mark.parametrize(
    "exc",
    [httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError],
)
def test_transport_errors_are_retried_then_typed(exc: type[httpx.TransportError]) -> None:
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise exc("boom", request=request)
        return respond(200, {"organizations": []})

    _, run = run_client(flaky, all_orgs)
    assert len(calls) == 2
    assert run.events[0].status is None
    assert run.events[0].error == exc.__name__

    def broken(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    with pytest.raises(TransportError) as info:
        run_client(broken, all_orgs)
    rng = random.Random(0)  # the client's: its waits are the only draws
    waited = sum(retry_delay(n, {}, EPOCH, rng, status=None) for n in range(4))
    assert str(info.value) == (
        f"GET /api/v2/organizations?take=100: no response from {BASE.split('//')[1]} after 5 "
        f"attempts over {waited:.1f} s ({exc.__name__}: boom)"
    )


def test_a_refused_loopback_connection_fails_at_once_naming_the_host() -> None:
    """Nothing listens on the emulator's port: one attempt, no back-off, and what to do."""

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(TransportError) as info:
        run_client(refused, all_orgs, base_url="http://127.0.0.1:8765")
    assert str(info.value) == (
        "GET /api/v2/organizations?take=100: could not connect to 127.0.0.1:8765 (ConnectError: "
        "[Errno 111] Connection refused); nothing listens there: start the emulator (`orgdrift "
        "emulator`) or check --domain / AUTH0_DOMAIN"
    )


def test_a_request_cut_off_during_its_retry_wait_says_so() -> None:
    """The run's time limit lives in the pipeline (an asyncio.timeout); the client only keeps
    what each unfinished request last got, for the message."""

    async def scenario(client: ManagementClient) -> list[str]:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(10.0):
                await all_orgs(client)
        return client.unfinished()

    handler = sequence(respond(429, BODY_429, {"retry-after": "30"}))
    unfinished, _ = run_client(handler, scenario)
    expected = (
        "GET /api/v2/organizations?take=100 (attempt 1, last answer: HTTP 429 Too Many Requests, "
        "during the 30.0 s wait before its retry)"
    )
    assert unfinished == [expected]


# --- scopes and tokens ------------------------------------------------------------------------


def test_early_scope_check_with_a_static_jwt() -> None:
    token = make_jwt({"scope": "read:organizations"})
    with pytest.raises(InsufficientScopeError, match="read:organization_connections") as info:
        run_client(
            sequence(respond(200, {})),
            lambda c: c.check_scopes(),
            credentials=Credentials(token=Secret(token)),
        )
    assert token not in str(info.value)
    good = make_jwt({"scope": " ".join(REQUIRED_SCOPES)})
    _, run = run_client(
        sequence(respond(200, {})),
        lambda c: c.check_scopes(),
        credentials=Credentials(token=Secret(good)),
    )
    assert run.requests == []
    _, run = run_client(sequence(respond(200, {})), lambda c: c.check_scopes())  # opaque: unknown
    assert run.requests == []


CC = Credentials(
    client_id="orgdrift-ci",
    client_secret=Secret(CLIENT_SECRET),
    audience="https://tenant.eu.auth0.com/api/v2/",
)


class TokenTenant:
    """Serves /oauth/token and checkpoint listings; can expire tokens."""

    def __init__(self, scope: str = " ".join(REQUIRED_SCOPES), lifetime: int = 86400) -> None:
        self.scope = scope
        self.lifetime = lifetime
        self.issued: list[str] = []
        self.expired: set[str] = set()
        self.token_bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            assert request.method == "POST"
            assert "authorization" not in request.headers
            self.token_bodies.append(json.loads(request.content))
            token = make_jwt({"scope": self.scope, "n": len(self.issued)})
            self.issued.append(token)
            return respond(
                200,
                {
                    "access_token": token,
                    "expires_in": self.lifetime,
                    "scope": self.scope,
                    "token_type": "Bearer",
                },
            )
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") in self.expired:
            return respond(401, BODY_401_EXPIRED)
        if auth.removeprefix("Bearer ") not in self.issued:
            return respond(401, BODY_401)
        return respond(200, {"organizations": [org(len(self.issued))]})


def test_client_credentials_token_is_cached() -> None:
    tenant = TokenTenant()

    async def scenario(client: ManagementClient) -> list[list[RawObject]]:
        await client.check_scopes()
        return await asyncio.gather(*(all_orgs(client) for _ in range(10)))

    _, run = run_client(tenant, scenario, credentials=CC)
    assert len(tenant.issued) == 1
    assert run.paths.count("/oauth/token") == 1
    assert tenant.token_bodies[0] == {
        "grant_type": "client_credentials",
        "client_id": "orgdrift-ci",
        "client_secret": CLIENT_SECRET,
        "audience": "https://tenant.eu.auth0.com/api/v2/",
    }
    assert all(e.path in ("/oauth/token", "/api/v2/organizations?take=100") for e in run.events)


def test_client_credentials_scope_check_after_the_grant() -> None:
    tenant = TokenTenant(scope="read:organizations")
    with pytest.raises(InsufficientScopeError, match="read:organization_connections"):
        run_client(tenant, lambda c: c.check_scopes(), credentials=CC)
    assert len(tenant.issued) == 1


def test_expired_client_credentials_token_is_refreshed_once() -> None:
    tenant = TokenTenant()

    async def scenario(client: ManagementClient) -> list[RawObject]:
        first = await all_orgs(client)
        tenant.expired.update(tenant.issued)  # the server now rejects it
        return first + await all_orgs(client)

    orgs, run = run_client(tenant, scenario, credentials=CC)
    assert len(orgs) == 2
    assert len(tenant.issued) == 2
    assert [e.status for e in run.events] == [200, 200, 401, 200, 200]


def test_token_refreshed_near_expiry() -> None:
    tenant = TokenTenant(lifetime=30)

    async def scenario(client: ManagementClient) -> None:
        await all_orgs(client)
        await asyncio.sleep(25)  # virtual: within 10 s of expiry
        await all_orgs(client)

    run_client(tenant, scenario, credentials=CC)
    assert len(tenant.issued) == 2


def test_a_401_after_refresh_is_an_authentication_error() -> None:
    tenant = TokenTenant()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return tenant(request)
        return respond(401, BODY_401)

    with pytest.raises(AuthenticationError, match="Invalid token"):
        run_client(handler, all_orgs, credentials=CC)
    assert len(tenant.issued) == 2


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            403,
            (
                b'{"error":"access_denied","error_description":"Service not enabled within domain: '
                b'https://tenant.eu.auth0.com/api/v2/"}'
            ),
            AuthenticationError,
        ),
        (401, b'{"error":"access_denied","error_description":"Unauthorized"}', AuthenticationError),
        (503, b"", ServerError),
    ],
)
def test_token_endpoint_errors(status: int, body: bytes, error: type[ApiError]) -> None:
    with pytest.raises(error) as info:
        run_client(sequence(respond(status, body)), all_orgs, credentials=CC)
    assert CLIENT_SECRET not in str(info.value)
    assert info.value.path == "/oauth/token"


# --- secrets never leak ---------------------------------------------------------------------------


def test_secrets_absent_from_errors_and_events() -> None:
    echo_token = respond(401, {"statusCode": 401, "message": f"Invalid token {TOKEN}"})
    echo_secret = respond(
        401, {"error": "invalid_client", "error_description": f"bad {CLIENT_SECRET}"}
    )
    failures: list[OrgdriftError] = []
    events: list[RequestEvent] = []
    for handler, creds in [
        (sequence(echo_token), None),
        (sequence(echo_secret), CC),
        (sequence(respond(429, BODY_429)), CC),
        (sequence(respond(200, b"{trunc")), None),
    ]:
        try:
            run_client(handler, all_orgs, credentials=creds)
        except OrgdriftError as exc:
            failures.append(exc)
    assert len(failures) == 4
    _, run = run_client(TokenTenant(), all_orgs, credentials=CC)
    events.extend(run.events)
    texts = (
        [str(f) for f in failures] + [repr(f.args) for f in failures] + [repr(e) for e in events]
    )
    for text in texts:
        assert TOKEN not in text
        assert CLIENT_SECRET not in text
    assert any("***" in str(f) for f in failures)


def test_max_rps_applies_to_every_request() -> None:
    _, run = run_client(checkpoint_tenant(1000), all_orgs, options=ClientOptions(max_rps=2.0))
    assert run.client is not None
    starts = run.client.pacer.starts
    assert len(starts) == 10
    assert starts[-1] - starts[0] >= 9 / 2.0


def test_a_field_of_the_wrong_type_is_exit_3_naming_the_request() -> None:
    body = {"organizations": [{"id": "org_a", "name": 123}], "start": 0, "limit": 100, "total": 1}
    with pytest.raises(ProtocolError) as info:
        run_client(sequence(respond(200, body)), lambda c: c.organization_page(0))
    assert info.value.message == (
        "GET /api/v2/organizations?page=0&per_page=100&include_totals=true: "
        "organizations[0]: the organization has no string 'name'"
    )
    assert info.value.exit_code == 3
