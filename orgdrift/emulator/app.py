"""The ASGI application: routing, the pipeline every request goes through, the handlers.

Pipeline of an API request: route -> latency -> authentication -> scope -> rate limits (global,
then the endpoint group's) -> fault hook -> handler -> fault post-processing -> headers.
`POST /oauth/token` skips authentication, scopes and rate limits (the Authentication API has its
own limits, not emulated). Every response carries `Content-Type: application/json;
charset=utf-8` (except an injected HTML page) and the `x-ratelimit-*` headers: they describe
the global bucket (limit = burst, remaining = whole tokens left, reset = epoch second at which
the next token arrives), except on a 429, where they describe the bucket that refused (the
global one or the endpoint group's), so that waiting until `reset` is enough. Only requests
that pass authentication spend tokens. An unlimited global bucket reports 1000000/1000000.

Request statistics are in `app.stats` (an `EmulatorStats`): `app.stats.requests[group]` counts
requests per endpoint group ("organizations", "organization_by_id", "organization_by_name",
"enabled_connections", "token", "unknown"); `app.stats.statuses[code]` counts responses by
status; `app.stats.total`, `.rate_limited` (429s) and `.server_errors` (5xx) sum them;
`app.stats.snapshot()` returns a frozen copy and `app.stats.reset()` zeroes everything.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from orgdrift.emulator.auth import (
    AuthFailure,
    Principal,
    TokenFailure,
    authenticate,
    grant_client_credentials,
)
from orgdrift.emulator.config import EmulatorConfig
from orgdrift.emulator.faults import Fault, FaultContext, FaultHook, compose, random_faults
from orgdrift.emulator.http import (
    Receive,
    Request,
    Response,
    Scope,
    Send,
    error_response,
    json_response,
    read_request,
    reason,
    send_response,
)
from orgdrift.emulator.queries import (
    ENABLED_CONNECTIONS_QUERY,
    NO_QUERY,
    ORGANIZATIONS_QUERY,
    Param,
    QueryError,
    QueryValue,
    parse_query,
)
from orgdrift.emulator.ratelimit import Quota, RateLimiter
from orgdrift.emulator.tenant import START_KEY, Tenant, TenantOrg, decode_cursor, encode_cursor
from orgdrift.models import LiveState

NOT_FOUND_ORG = "No organization found by that id or name"
RATE_LIMITED = "Global limit has been reached"
DEFAULT_PAGE_SIZE = 50
OFFSET_RECORD_LIMIT = 1000

REQUIRED_SCOPES: Mapping[str, tuple[str, ...]] = {
    "organizations": ("read:organizations", "read:organizations_summary"),
    "organization_by_id": ("read:organizations", "read:organizations_summary"),
    "organization_by_name": ("read:organizations",),
    "enabled_connections": ("read:organization_connections",),
}

_HTML_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


# --- statistics --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    total: int
    requests: Mapping[str, int]
    statuses: Mapping[int, int]
    rate_limited: int
    server_errors: int


class EmulatorStats:
    """Counters of what the app answered; see the module docstring."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    def record(self, group: str, status: int) -> None:
        self.requests[group] += 1
        self.statuses[status] += 1

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def rate_limited(self) -> int:
        return self.statuses[429]

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def snapshot(self) -> StatsSnapshot:
        return StatsSnapshot(
            total=self.total,
            requests=dict(self.requests),
            statuses=dict(self.statuses),
            rate_limited=self.rate_limited,
            server_errors=self.server_errors,
        )

    def reset(self) -> None:
        self.requests.clear()
        self.statuses.clear()


# --- routing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    group: str
    arg: str | None = None  # organization id or name


def match_route(request: Request) -> Route | None:
    parts = request.segments
    if any(part == "" for part in parts):
        return None
    if parts == ("oauth", "token"):
        return Route("token") if request.method == "POST" else None
    if request.method != "GET" or parts[:3] != ("api", "v2", "organizations"):
        return None
    rest = parts[3:]
    if not rest:
        return Route("organizations")
    if len(rest) == 2 and rest[0] == "name":
        return Route("organization_by_name", rest[1])
    if len(rest) == 1:
        return Route("organization_by_id", rest[0])
    if len(rest) == 2 and rest[1] == "enabled_connections":
        return Route("enabled_connections", rest[0])
    return None


# --- small helpers ------------------------------------------------------------------------------


def _int(values: Mapping[str, QueryValue], name: str, default: int) -> int:
    value = values.get(name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _str(values: Mapping[str, QueryValue], name: str) -> str | None:
    value = values.get(name)
    return value if isinstance(value, str) and value else None


def _bad_query(error: QueryError) -> Response:
    return error_response(400, error.message, "invalid_query_string")


def _org_not_found() -> Response:
    return error_response(404, NOT_FOUND_ORG)


def _ratelimit_headers(
    quota: Quota, reset_offset: float | None, now: float
) -> list[tuple[str, str]]:
    reset = quota.reset if reset_offset is None else int(now + reset_offset)
    return [
        ("x-ratelimit-limit", str(quota.limit)),
        ("x-ratelimit-remaining", str(quota.remaining)),
        ("x-ratelimit-reset", str(reset)),
    ]


def fault_response(fault: Fault) -> Response:
    """The answer a fault with a `status` gives: its body, or Auth0's envelope for the status."""
    status = fault.status if fault.status is not None else 500
    if fault.body is not None:
        return Response(status=status, body=fault.body)
    if status == 429:
        return error_response(429, RATE_LIMITED, "too_many_requests")
    message = "An internal server error occurred" if status == 500 else reason(status)
    return error_response(status, message)


def _apply_malformed(response: Response, fault: Fault | None) -> Response:
    if fault is None:
        return response
    if fault.malformed == "html":
        response = Response(status=502, body=_HTML_PAGE, content_type="text/html")
    elif fault.malformed == "truncated":
        response = replace(response, body=response.body[: len(response.body) // 2])
    if fault.drop_connection:
        response = replace(response, drop_after=len(response.body) // 2)
    return response


# --- the app ------------------------------------------------------------------------------------


class EmulatorApp:
    """An ASGI app emulating the Management API endpoints orgdrift uses."""

    def __init__(self, state: LiveState, config: EmulatorConfig) -> None:
        self.config = config
        self.tenant = Tenant(state)
        self.stats = EmulatorStats()
        self._limiter = RateLimiter(config.global_bucket, config.buckets, config.clock)
        self._key = secrets.token_bytes(32)
        random_hook: FaultHook | None = None
        if config.fail_rate > 0 or config.malformed_rate > 0:
            random_hook = random_faults(config.fail_rate, config.malformed_rate, config.seed)
        self._faults = compose(config.faults, random_hook)
        self._request_number = 0
        self._group_numbers: Counter[str] = Counter()
        self._last_ok: dict[str, Response] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        route = match_route(request)
        group = route.group if route is not None else "unknown"
        response = await self._respond(request, route, group)
        self.stats.record(group, response.status)
        await send_response(response, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def audience_for(self, request: Request) -> str:
        if self.config.audience is not None:
            return self.config.audience
        return f"{request.scheme}://{request.host}/api/v2/"

    async def _respond(self, request: Request, route: Route | None, group: str) -> Response:
        self._request_number += 1
        self._group_numbers[group] += 1
        if self.config.latency_ms > 0:
            await asyncio.sleep(self.config.latency_ms / 1000.0)
        if route is None:
            response = error_response(404, "Not Found")
            return self._with_headers(response, self._limiter.global_quota(), None)
        if route.group != "token":
            refused = self._authorize(request, route.group)
            if refused is not None:
                return self._with_headers(refused, self._limiter.global_quota(), None)
            decision = self._limiter.check(route.group)
            if not decision.allowed:
                return self._rate_limited(decision.quota)
            quota = decision.quota
        else:
            quota = self._limiter.global_quota()
        fault = self._fault_for(request, group)
        if fault is not None and fault.delay_ms > 0:
            await asyncio.sleep(fault.delay_ms / 1000.0)
        response = self._dispatch(request, route, fault)
        response = _apply_malformed(response, fault)
        offset = fault.ratelimit_reset_offset if fault is not None else None
        return self._with_headers(response, quota, offset)

    def _with_headers(self, response: Response, quota: Quota, offset: float | None) -> Response:
        headers = _ratelimit_headers(quota, offset, self.config.clock())
        return replace(response, headers=[*response.headers, *headers])

    def _rate_limited(self, quota: Quota) -> Response:
        response = error_response(429, RATE_LIMITED, "too_many_requests")
        if self.config.send_retry_after:
            response.headers.append(("retry-after", str(max(1, quota.retry_after))))
        return self._with_headers(response, quota, None)

    def _fault_for(self, request: Request, group: str) -> Fault | None:
        if self._faults is None:
            return None
        context = FaultContext(
            method=request.method,
            path=request.raw_path,
            group=group,
            query=request.query_map,
            request_number=self._request_number,
            group_request_number=self._group_numbers[group],
        )
        return self._faults(context)

    def _authorize(self, request: Request, group: str) -> Response | None:
        result = authenticate(
            request.header("authorization"),
            static_tokens=self.config.tokens,
            key=self._key,
            audience=self.audience_for(request),
            now=self.config.clock(),
        )
        if isinstance(result, AuthFailure):
            return error_response(
                result.status,
                result.message,
                result.error_code,
                attributes=result.with_attributes,
            )
        return self._check_scope(result, group)

    @staticmethod
    def _check_scope(principal: Principal, group: str) -> Response | None:
        expected = REQUIRED_SCOPES[group]
        if principal.scopes.isdisjoint(expected):
            message = "Insufficient scope, expected any of: " + ", ".join(expected)
            return error_response(403, message, "insufficient_scope")
        return None

    def _dispatch(self, request: Request, route: Route, fault: Fault | None) -> Response:
        if fault is not None and fault.status is not None:
            return fault_response(fault)
        if fault is not None and fault.repeat_previous_page and route.group in self._last_ok:
            return replace(self._last_ok[route.group], headers=[])
        response = self._handle(request, route, fault)
        if response.status == 200:
            self._last_ok[route.group] = response
        return response

    def _handle(self, request: Request, route: Route, fault: Fault | None) -> Response:
        if route.group == "token":
            return self._token(request)
        if route.group == "organizations":
            return self._list_organizations(request, stuck=fault is not None and fault.stuck_cursor)
        if route.group == "enabled_connections":
            return self._enabled_connections(request, str(route.arg))
        if route.group == "organization_by_name":
            return self._get_by_name(request, str(route.arg))
        return self._get_by_id(request, str(route.arg))

    # --- handlers --------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        params = _token_params(request)
        if params is None:
            return json_response(
                400, {"error": "invalid_request", "error_description": "Invalid request body"}
            )
        issuer = f"{request.scheme}://{request.host}/"
        result = grant_client_credentials(
            params,
            config=self.config,
            key=self._key,
            issuer=issuer,
            audience=self.audience_for(request),
            now=self.config.clock(),
        )
        if isinstance(result, TokenFailure):
            return json_response(result.status, result.body())
        return json_response(200, result)

    def _list_organizations(self, request: Request, *, stuck: bool) -> Response:
        values = parse_query(request.query, ORGANIZATIONS_QUERY)
        if isinstance(values, QueryError):
            return _bad_query(values)
        if "take" in values or "from" in values:
            return self._checkpoint_page(values, stuck=stuck)
        page = _int(values, "page", 0)
        per_page = _int(values, "per_page", DEFAULT_PAGE_SIZE)
        if (page + 1) * per_page > OFFSET_RECORD_LIMIT:
            message = (
                f"Requesting page {page} exceeds the allowed maximum of 1000 records. "
                "To fetch results beyond 1000, use the checkpoint pagination method."
            )
            return error_response(400, message, "invalid_paging")
        orgs = self.tenant.sorted_by(_str(values, "sort"))
        items = [org.body for org in orgs[page * per_page : (page + 1) * per_page]]
        if values.get("include_totals") is True:
            body = {
                "organizations": items,
                "start": page * per_page,
                "limit": per_page,
                "total": len(orgs),
            }
            return json_response(200, body)
        return json_response(200, items)

    def _checkpoint_page(self, values: Mapping[str, QueryValue], *, stuck: bool) -> Response:
        take = _int(values, "take", DEFAULT_PAGE_SIZE)
        cursor = _str(values, "from")
        key = START_KEY if cursor is None else decode_cursor(cursor)
        if key is None:
            return error_response(
                400, "Invalid value for the 'from' parameter.", "invalid_query_string"
            )
        page, more = self.tenant.after(key, take)
        body: dict[str, Any] = {"organizations": [org.body for org in page]}
        if stuck:
            body["next"] = cursor if cursor is not None else encode_cursor(START_KEY)
        elif more and page:
            body["next"] = encode_cursor(page[-1].key)
        return json_response(200, body)

    def _lookup(
        self, request: Request, org: TenantOrg | None, spec: Mapping[str, Param] = NO_QUERY
    ) -> Response | TenantOrg:
        values = parse_query(request.query, spec)
        if isinstance(values, QueryError):
            return _bad_query(values)
        return _org_not_found() if org is None else org

    def _get_by_id(self, request: Request, org_id: str) -> Response:
        found = self._lookup(request, self.tenant.by_id(org_id))
        return found if isinstance(found, Response) else json_response(200, found.body)

    def _get_by_name(self, request: Request, name: str) -> Response:
        if len(name) > 50:
            message = (
                f"Path validation error: 'String is too long ({len(name)} chars), maximum 50' "
                "on property name (name of the organization to retrieve)."
            )
            return error_response(400, message, "invalid_uri")
        found = self._lookup(request, self.tenant.by_name(name))
        return found if isinstance(found, Response) else json_response(200, found.body)

    def _enabled_connections(self, request: Request, org_id: str) -> Response:
        values = parse_query(request.query, ENABLED_CONNECTIONS_QUERY)
        if isinstance(values, QueryError):
            return _bad_query(values)
        org = self.tenant.by_id(org_id)
        if org is None:
            return _org_not_found()
        page = _int(values, "page", 0)
        per_page = _int(values, "per_page", DEFAULT_PAGE_SIZE)
        items: Sequence[Any] = org.connections[page * per_page : (page + 1) * per_page]
        if values.get("include_totals") is True:
            body = {
                "enabled_connections": list(items),
                "start": page * per_page,
                "limit": len(items),
                "total": len(org.connections),
            }
            return json_response(200, body)
        return json_response(200, list(items))


def _token_params(request: Request) -> dict[str, Any] | None:
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            decoded = json.loads(request.body or b"{}")
        except ValueError:
            return None
        return decoded if isinstance(decoded, dict) else None
    try:
        return dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return None


def create_app(state: LiveState, config: EmulatorConfig | None = None) -> EmulatorApp:
    """The emulator as an ASGI app serving `state` (organizations in creation order)."""
    return EmulatorApp(state, config if config is not None else EmulatorConfig())
