"""The emulator as a Starlette app: the routes, the steps every request goes through, handlers.

Steps of an API request: route -> latency -> authentication -> scope -> rate limits (global,
then the endpoint group's) -> fault hook -> handler -> fault post-processing -> headers.
`POST /oauth/token` skips authentication, scopes and rate limits (the Authentication API has its
own limits, not emulated). Every response carries `Content-Type: application/json;
charset=utf-8` (except an injected HTML page) and the `x-ratelimit-*` headers: they describe
the global bucket (limit = burst, remaining = whole tokens left, reset = epoch second at which
the next token arrives), except on a 429, where they describe the bucket that refused (the
global one or the endpoint group's), so that waiting until `reset` is enough. Only requests
that pass authentication spend tokens. An unlimited global bucket reports 1000000/1000000.

`app.stats` counts requests per endpoint group ("organizations", "organization_by_id",
"organization_by_name", "enabled_connections", "organization_connections",
"organization_client_grants", "organization_discovery_domains", "token", "logs", "log_by_id",
one per write operation of `writes.WRITES`, "emulator_admin", "unknown") and responses per
status.

Writes: every write the Management API allows on the parts of an organization orgdrift reads
(`writes.py`), each logged as a `sapi` entry; and `POST /_emulator/admin-writes`, which is not
an Auth0 endpoint, for the writes an organization's own admins make outside the Management API
(My Organization API, self-service SSO), logged with their own event types.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from orgdrift.emulator.auth import AuthFailure, authenticate, grant_client_credentials
from orgdrift.emulator.config import EmulatorConfig
from orgdrift.emulator.faults import (
    ConnectionDropped,
    Fault,
    FaultContext,
    FaultHook,
    random_faults,
)
from orgdrift.emulator.queries import (
    CLIENT_GRANTS_QUERY,
    DISCOVERY_DOMAINS_QUERY,
    ENABLED_CONNECTIONS_QUERY,
    LOGS_QUERY,
    NO_QUERY,
    ORGANIZATION_CONNECTIONS_QUERY,
    ORGANIZATIONS_QUERY,
    TENANT_CLIENT_GRANTS_QUERY,
    Param,
    QueryError,
    QueryValue,
    parse_query,
)
from orgdrift.emulator.ratelimit import Quota, RateLimiter
from orgdrift.emulator.tenant import (
    START_KEY,
    TenantOrg,
    TenantState,
    decode_cursor,
    encode_cursor,
)
from orgdrift.emulator.tenantlog import SEARCH_CAP, TenantLog, other_entry, sapi_entry
from orgdrift.emulator.writes import WRITES, Refused, WriteOperation, Written, check_body
from orgdrift.models import LiveState, RawObject

NOT_FOUND_ORG = "No organization found by that id or name"
RATE_LIMITED = "Global limit has been reached"
DEFAULT_PAGE_SIZE = 50
OFFSET_RECORD_LIMIT = 1000
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

REQUIRED_SCOPES: Mapping[str, tuple[str, ...]] = {
    "organizations": ("read:organizations", "read:organizations_summary"),
    "organization_by_id": ("read:organizations", "read:organizations_summary"),
    "organization_by_name": ("read:organizations",),
    "enabled_connections": ("read:organization_connections",),
    "organization_connections": ("read:organization_connections",),
    "organization_client_grants": ("read:organization_client_grants",),
    "organization_discovery_domains": ("read:organization_discovery_domains",),
    "enabled_connection": ("read:organization_connections",),
    "organization_connection": ("read:organization_connections",),
    "organization_discovery_domain": ("read:organization_discovery_domains",),
    "client_grants": ("read:client_grants",),
}
FEATURE_NOT_ENABLED = "The Organization Connections feature is not enabled for this tenant."

# The tenant log, the write endpoints (their scopes in `writes.WRITES`) and the emulator's own
# route for writes made outside the Management API (any write scope).
ADMIN_WRITES = "/_emulator/admin-writes"
LOG_AND_WRITE_SCOPES: Mapping[str, tuple[str, ...]] = {
    "logs": ("read:logs",),
    "log_by_id": ("read:logs",),
    **{w.group: w.scopes for w in WRITES},
    "emulator_admin": tuple(sorted({s for w in WRITES for s in w.scopes})),
    "connections": ("read:connections",),
}

_HTML_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)

_ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
Handler = Callable[[Request, Fault | None], Awaitable[Response]]


# --- responses ---------------------------------------------------------------------------------


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status a fault hook made up
        return "Unknown"


def json_response(status: int, payload: Any) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(body, status, media_type=JSON_CONTENT_TYPE)


def error_response(
    status: int, message: str, error_code: str | None = None, *, attributes: bool = False
) -> Response:
    """Auth0's error envelope: statusCode, error, message, then errorCode / attributes if any."""
    body: dict[str, Any] = {"statusCode": status, "error": _phrase(status), "message": message}
    if error_code is not None:
        body["errorCode"] = error_code
    if attributes:
        body["attributes"] = {"error": message}
    return json_response(status, body)


def fault_response(fault: Fault) -> Response:
    """The answer a fault with a `status` gives: its body, or Auth0's envelope for the status."""
    status = fault.status if fault.status is not None else 500
    if fault.body is not None:
        return Response(fault.body, status, media_type=JSON_CONTENT_TYPE)
    if status == 429:
        return error_response(429, RATE_LIMITED, "too_many_requests")
    message = "An internal server error occurred" if status == 500 else _phrase(status)
    return error_response(status, message)


class _Dropped(Response):
    """Sends the headers and half the body, then aborts the connection (fault `drop_connection`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }
        await send(start)
        half = self.body[: len(self.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise ConnectionDropped("emulator fault: connection dropped mid-body")


def _apply_malformed(response: Response, fault: Fault | None) -> Response:
    if fault is None:
        return response
    if fault.malformed == "html":
        response = Response(_HTML_PAGE, 502, headers={"content-type": "text/html"})
    elif fault.malformed == "truncated":
        body = response.body[: len(response.body) // 2]
        response = Response(body, response.status_code, media_type=JSON_CONTENT_TYPE)
    if fault.drop_connection:
        content_type = response.headers["content-type"]
        response = _Dropped(
            response.body, response.status_code, headers={"content-type": content_type}
        )
    return response


def _ratelimit_headers(quota: Quota, reset_offset: float | None, now: float) -> dict[str, str]:
    reset = quota.reset if reset_offset is None else int(now + reset_offset)
    return {
        "x-ratelimit-limit": str(quota.limit),
        "x-ratelimit-remaining": str(quota.remaining),
        "x-ratelimit-reset": str(reset),
    }


def _int(values: Mapping[str, QueryValue], name: str, default: int) -> int:
    value = values.get(name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _page(
    items: list[Any], key: str, values: Mapping[str, QueryValue], limit: int, total: int
) -> Response:
    """A bare array, or with `include_totals=true` an object with start, limit and total."""
    if values.get("include_totals") is not True:
        return json_response(200, items)
    start = _int(values, "page", 0) * _int(values, "per_page", DEFAULT_PAGE_SIZE)
    return json_response(200, {key: items, "start": start, "limit": limit, "total": total})


def _offset_page(
    every: Sequence[Any], key: str, values: Mapping[str, QueryValue], *, counted: bool = False
) -> Response:
    """Page `page` of `every`, `per_page` long; its `limit` is `per_page`, or with `counted`
    the number of items on the page."""
    page, per_page = _int(values, "page", 0), _int(values, "per_page", DEFAULT_PAGE_SIZE)
    items = list(every[page * per_page : (page + 1) * per_page])
    return _page(items, key, values, len(items) if counted else per_page, len(every))


# --- statistics --------------------------------------------------------------------------------


class EmulatorStats:
    """Requests per endpoint group and responses per status; `snapshot()` and `reset()`."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def rate_limited(self) -> int:
        return self.statuses[429]

    def snapshot(self) -> EmulatorStats:
        """A copy that later requests leave unchanged."""
        return copy.deepcopy(self)

    def reset(self) -> None:
        self.requests.clear()
        self.statuses.clear()


# --- the app -----------------------------------------------------------------------------------


class EmulatorApp:
    """An ASGI app emulating the Management API endpoints orgdrift uses."""

    def __init__(self, state: LiveState, config: EmulatorConfig) -> None:
        self.config = config
        self.tenant = TenantState(state)
        self.stats = EmulatorStats()
        self._limiter = RateLimiter(config.global_bucket, config.buckets, config.clock)
        self._key = secrets.token_bytes(32)
        # The configured hook, then random faults: the first that returns a fault wins.
        self._faults: list[FaultHook] = [config.faults] if config.faults is not None else []
        if config.fail_rate > 0 or config.malformed_rate > 0:
            self._faults.append(random_faults(config.fail_rate, config.malformed_rate, config.seed))
        self._numbers: Counter[str] = Counter()  # requests per group; "" counts them all
        self._last_ok: dict[str, bytes] = {}
        orgs = "/api/v2/organizations"
        self._router = Router(
            [
                self._route("/oauth/token", "POST", "token", self._token),
                self._route(orgs, "GET", "organizations", self._list),
                self._route(
                    f"{orgs}/name/{{name:path}}", "GET", "organization_by_name", self._by_name
                ),
                self._route(f"{orgs}/{{id}}", "GET", "organization_by_id", self._by_id),
                self._route(
                    f"{orgs}/{{id}}/enabled_connections",
                    "GET",
                    "enabled_connections",
                    self._enabled_connections,
                ),
                self._route(
                    f"{orgs}/{{id}}/connections",
                    "GET",
                    "organization_connections",
                    self._organization_connections,
                ),
                self._route(
                    f"{orgs}/{{id}}/client-grants",
                    "GET",
                    "organization_client_grants",
                    self._client_grants,
                ),
                self._route(
                    f"{orgs}/{{id}}/discovery-domains",
                    "GET",
                    "organization_discovery_domains",
                    self._discovery_domains,
                ),
                # One item each (what a remediation reads back), and the tenant's grants.
                self._route(
                    f"{orgs}/{{id}}/enabled_connections/{{cid}}",
                    "GET",
                    "enabled_connection",
                    self._enabled_connection,
                ),
                self._route(
                    f"{orgs}/{{id}}/connections/{{cid}}",
                    "GET",
                    "organization_connection",
                    self._organization_connection,
                ),
                self._route(
                    f"{orgs}/{{id}}/discovery-domains/{{domain_id}}",
                    "GET",
                    "organization_discovery_domain",
                    self._discovery_domain,
                ),
                self._route("/api/v2/client-grants", "GET", "client_grants", self._tenant_grants),
            ],
            redirect_slashes=False,
            default=self._not_found,
        )
        self._init_tenant_log()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._router(scope, receive, send)

    def _route(self, path: str, method: str, group: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            if request.method != method:
                return await self._respond(request, "unknown", None)
            return await self._respond(request, group, handler)

        return Route(path, endpoint, methods=list(_ANY_METHOD))  # other methods: 404

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._respond(Request(scope, receive), "unknown", None)
        await response(scope, receive, send)

    async def _respond(self, request: Request, group: str, handler: Handler | None) -> Response:
        self._numbers[""] += 1
        self._numbers[group] += 1
        response = await self._steps(request, group, handler)
        self.stats.requests[group] += 1
        self.stats.statuses[response.status_code] += 1
        return response

    async def _steps(self, request: Request, group: str, handler: Handler | None) -> Response:
        if self.config.latency_ms > 0:
            await asyncio.sleep(self.config.latency_ms / 1000.0)
        quota = self._limiter.global_quota()
        if handler is None:
            return self._finish(error_response(404, "Not Found"), quota)
        if group != "token":
            refused, quota = self._admit(request, group)
            if refused is not None:
                return self._finish(refused, quota)
        fault = self._fault_for(request, group)
        if fault is not None and fault.delay_ms > 0:
            await asyncio.sleep(fault.delay_ms / 1000.0)
        if fault is not None and fault.status is not None:
            response = fault_response(fault)
        elif fault is not None and fault.repeat_previous_page and group in self._last_ok:
            response = Response(self._last_ok[group], 200, media_type=JSON_CONTENT_TYPE)
        else:
            response = await handler(request, fault)
            if response.status_code == 200:
                self._last_ok[group] = bytes(response.body)
        offset = fault.ratelimit_reset_offset if fault is not None else None
        return self._finish(_apply_malformed(response, fault), quota, offset)

    def _admit(self, request: Request, group: str) -> tuple[Response | None, Quota]:
        """Authentication, scope, then the rate limits: the refusal if any, and the quota the
        headers describe."""
        quota = self._limiter.global_quota()
        refused = self._authorize(request, group)
        if refused is not None:
            return refused, quota
        decision = self._limiter.check(group)
        if decision.allowed:
            return None, decision.quota
        limited = error_response(429, RATE_LIMITED, "too_many_requests")
        if self.config.send_retry_after:
            limited.headers["retry-after"] = str(max(1, decision.quota.retry_after))
        return limited, decision.quota

    def _finish(self, response: Response, quota: Quota, offset: float | None = None) -> Response:
        response.headers.update(_ratelimit_headers(quota, offset, self.config.clock()))
        return response

    def _fault_for(self, request: Request, group: str) -> Fault | None:
        if not self._faults:
            return None
        context = FaultContext(
            method=request.method,
            path=request.url.path,
            group=group,
            query=dict(request.query_params),
            request_number=self._numbers[""],
            group_request_number=self._numbers[group],
        )
        return next((fault for hook in self._faults if (fault := hook(context))), None)

    def _audience(self, request: Request) -> str:
        if self.config.audience is not None:
            return self.config.audience
        return f"{request.url.scheme}://{request.url.netloc}/api/v2/"

    def _authorize(self, request: Request, group: str) -> Response | None:
        result = authenticate(
            request.headers.get("authorization"),
            static_tokens=self.config.tokens,
            key=self._key,
            audience=self._audience(request),
            now=self.config.clock(),
        )
        if isinstance(result, AuthFailure):
            return error_response(
                result.status, result.message, result.error_code, attributes=result.with_attributes
            )
        expected = REQUIRED_SCOPES.get(group) or LOG_AND_WRITE_SCOPES[group]
        if result.isdisjoint(expected):
            message = "Insufficient scope, expected any of: " + ", ".join(expected)
            return error_response(403, message, "insufficient_scope")
        return None

    def _query(
        self, request: Request, spec: Mapping[str, Param]
    ) -> dict[str, QueryValue] | Response:
        values = parse_query(request.query_params.multi_items(), spec)
        if isinstance(values, QueryError):
            return error_response(400, values.message, "invalid_query_string")
        return values

    # --- handlers ------------------------------------------------------------------------------

    async def _token(self, request: Request, fault: Fault | None) -> Response:
        params = _token_params(request.headers.get("content-type", ""), await request.body())
        if params is None:
            error = {"error": "invalid_request", "error_description": "Invalid request body"}
            return json_response(400, error)
        status, body = grant_client_credentials(
            params,
            config=self.config,
            key=self._key,
            issuer=f"{request.url.scheme}://{request.url.netloc}/",
            audience=self._audience(request),
            now=self.config.clock(),
        )
        return json_response(status, body)

    async def _list(self, request: Request, fault: Fault | None) -> Response:
        values = self._query(request, ORGANIZATIONS_QUERY)
        if isinstance(values, Response):
            return values
        if "take" in values or "from" in values:
            return self._checkpoint_page(values, stuck=fault is not None and fault.stuck_cursor)
        page, per_page = _int(values, "page", 0), _int(values, "per_page", DEFAULT_PAGE_SIZE)
        if (page + 1) * per_page > OFFSET_RECORD_LIMIT:
            message = (
                f"Requesting page {page} exceeds the allowed maximum of 1000 records. "
                "To fetch results beyond 1000, use the checkpoint pagination method."
            )
            return error_response(400, message, "invalid_paging")
        sort = values.get("sort")
        orgs = self.tenant.sorted_by(sort if isinstance(sort, str) else None)
        items = [org.body for org in orgs[page * per_page : (page + 1) * per_page]]
        return _page(items, "organizations", values, per_page, len(orgs))

    def _checkpoint_page(self, values: Mapping[str, QueryValue], *, stuck: bool) -> Response:
        cursor = values.get("from")
        cursor = cursor if isinstance(cursor, str) and cursor else None
        key = START_KEY if cursor is None else decode_cursor(cursor)
        if key is None:
            message = "Invalid value for the 'from' parameter."
            return error_response(400, message, "invalid_query_string")
        page, more = self.tenant.after(key, _int(values, "take", DEFAULT_PAGE_SIZE))
        body: dict[str, Any] = {"organizations": [org.body for org in page]}
        if stuck:
            body["next"] = cursor if cursor is not None else encode_cursor(START_KEY)
        elif more and page:
            body["next"] = encode_cursor(page[-1].key)
        return json_response(200, body)

    async def _by_id(self, request: Request, fault: Fault | None) -> Response:
        found = self._org_query(request)
        return found if isinstance(found, Response) else json_response(200, found[0].body)

    async def _by_name(self, request: Request, fault: Fault | None) -> Response:
        name: str = request.path_params["name"]
        if len(name) > 50:
            message = (
                f"Path validation error: 'String is too long ({len(name)} chars), maximum 50' "
                "on property name (name of the organization to retrieve)."
            )
            return error_response(400, message, "invalid_uri")
        values = self._query(request, NO_QUERY)
        if isinstance(values, Response):
            return values
        org = self.tenant.by_name(name)
        return _one(None if org is None else org.body, NOT_FOUND_ORG)

    async def _enabled_connections(self, request: Request, fault: Fault | None) -> Response:
        found = self._org_query(request, ENABLED_CONNECTIONS_QUERY)
        if isinstance(found, Response):
            return found
        org, values = found
        return _offset_page(org.enabled_connections, "enabled_connections", values, counted=True)

    # --- the tenant log and the write endpoints ---------------------------------------------

    def _init_tenant_log(self) -> None:
        """The log (seeded with the token exchange that set the tenant up), and the write and
        log routes ahead of the read routes (a route that only takes its methods lets the
        others fall through to the read routes)."""
        config = self.config
        self.log = TenantLog(
            config.clock, delay_ms=config.log_delay_ms, retention=config.log_retention
        )
        self.log.append(other_entry("seccft", "Client Credentials for Access Token", "emulator"))
        routes = [
            self._method_route(f"/api/v2{w.path}", w.method, w.group, self._write_handler(w))
            for w in WRITES
        ]
        routes.append(
            self._method_route("/api/v2/connections", "GET", "connections", self._connections)
        )
        routes.append(self._method_route("/api/v2/logs", "GET", "logs", self._logs))
        routes.append(
            self._method_route("/api/v2/logs/{log_id}", "GET", "log_by_id", self._log_by_id)
        )
        routes.append(self._method_route(ADMIN_WRITES, "POST", "emulator_admin", self._admin_write))
        # Other methods on the paths only these routes know: Auth0's JSON 404, as elsewhere
        # (Starlette would answer a plain-text 405).
        known = {r.path for r in self._router.routes if isinstance(r, Route)}
        for path in sorted({r.path for r in routes} - known):
            routes.append(
                Route(
                    path, self._unknown_method, methods=list(_ANY_METHOD), include_in_schema=False
                )
            )
        self._router.routes[0:0] = routes

    async def _unknown_method(self, request: Request) -> Response:
        return await self._respond(request, "unknown", None)

    def _method_route(self, path: str, method: str, group: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self._respond(request, group, handler)

        return Route(path, endpoint, methods=[method], include_in_schema=False)

    def _write_handler(self, operation: WriteOperation) -> Handler:
        async def handler(request: Request, fault: Fault | None) -> Response:
            data: RawObject = {}
            if operation.body is not None:
                body = await self._body(request)
                if isinstance(body, Response):
                    return body
                data = body
            try:
                written = self._write(operation, request.path_params, data)
            except Refused as refused:
                return error_response(refused.status, refused.message, refused.error_code)
            self.log.append(
                sapi_entry(
                    description=written.description,
                    method=request.method,
                    path=request.url.path,
                    body=data,
                    status=written.status,
                    response=written.payload,
                    client_id="emulator",
                )
            )
            if written.status in (202, 204):
                return Response(b"", written.status)
            return json_response(written.status, written.payload)

        return handler

    def _write(
        self, operation: WriteOperation, params: Mapping[str, str], data: RawObject
    ) -> Written:
        if operation.early_access and not self.config.organization_connections:
            raise Refused(403, FEATURE_NOT_ENABLED, "feature_not_enabled")
        check_body(operation.body, data)
        return operation.run(self.tenant, params, data)

    async def _admin_write(self, request: Request, fault: Fault | None) -> Response:
        """`POST /_emulator/admin-writes`, not an Auth0 endpoint: a write made outside the
        Management API, by an organization's own admins through the My Organization API or by a
        self-service SSO ticket. Body: `{"type": "my_organization_api_org_details_succeeded",
        "organization_id": "org_..." or null, "method": "PATCH", "path": "/organizations/org_...",
        "body": {...}, "details": {...}}`. The tenant changes as the Management API write
        `method path` (under /api/v2) would change it, and the log gets an entry of `type`
        naming `organization_id`, not a `sapi` one. The answer is the write's."""
        data = await self._body(request)
        if isinstance(data, Response):
            return data
        method, path, kind = data.get("method"), data.get("path"), data.get("type")
        if not (isinstance(method, str) and isinstance(path, str) and isinstance(kind, str)):
            return error_response(400, "type, method and path must be strings", "invalid_body")
        body = data.get("body") or {}
        for operation in WRITES:
            params = _match_path(operation, method, path)
            if params is None:
                continue
            try:
                written = self._write(operation, params, body)
            except Refused as refused:
                return error_response(refused.status, refused.message, refused.error_code)
            entry = other_entry(kind, written.description, "my-organization-api")
            entry["organization_id"] = data.get("organization_id")
            request_logged = {"method": method.lower(), "path": path, "body": body}
            entry["details"] = {**(data.get("details") or {}), "request": request_logged}
            self.log.append(entry)
            return json_response(written.status, written.payload)
        return error_response(404, f"no write operation {method} {path}")

    async def _body(self, request: Request) -> RawObject | Response:
        raw = await request.body()
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return error_response(400, "Invalid request payload JSON format", "invalid_body")
        if not isinstance(data, dict):
            return error_response(
                400, "Payload validation error: 'Expected type object'", "invalid_body"
            )
        return data

    async def _logs(self, request: Request, fault: Fault | None) -> Response:
        values = self._query(request, LOGS_QUERY)
        if isinstance(values, Response):
            return values
        if "from" in values or "take" in values:  # checkpoint mode: other parameters ignored
            start = values.get("from")
            take = _int(values, "take", DEFAULT_PAGE_SIZE)
            return json_response(
                200, self.log.after(start if isinstance(start, str) else None, take)
            )
        query = values.get("q")
        kind: str | None = None
        if isinstance(query, str) and query.strip():
            field, _, wanted = query.strip().partition(":")
            if field != "type" or not wanted:
                return error_response(
                    400, "the emulator only searches q=type:<type>", "invalid_query_string"
                )
            kind = wanted.strip('"')
        page, per_page = _int(values, "page", 0), _int(values, "per_page", DEFAULT_PAGE_SIZE)
        if (page + 1) * per_page > SEARCH_CAP:
            message = (
                f"You can only page through the first {SEARCH_CAP} records. "
                "Use the checkpoint pagination method (from and take) instead."
            )
            return error_response(400, message, "invalid_paging")
        sort = values.get("sort")
        entries = self.log.search(kind=kind, sort=sort if isinstance(sort, str) else "date:-1")
        entries = entries[:SEARCH_CAP]
        items = list(entries[page * per_page : (page + 1) * per_page])
        if values.get("include_totals") is not True:
            return json_response(200, items)
        return json_response(
            200,
            {
                "start": page * per_page,
                "limit": per_page,
                "length": len(items),
                "total": len(entries),
                "logs": items,
            },
        )

    async def _log_by_id(self, request: Request, fault: Fault | None) -> Response:
        values = self._query(request, NO_QUERY)
        if isinstance(values, Response):
            return values
        return _one(self.log.by_id(request.path_params["log_id"]), "log not found")

    # --- the whole organization model -------------------------------------------------------

    async def _connections(self, request: Request, fault: Fault | None) -> Response:
        """`GET /connections`: the tenant's connections, offset pages (`page`, `per_page`,
        `include_totals`), in id order."""
        values = self._query(request, ENABLED_CONNECTIONS_QUERY)
        if isinstance(values, Response):
            return values
        every = [{"id": cid, **conn} for cid, conn in sorted(self.tenant.connections.items())]
        return _offset_page(every, "connections", values, counted=True)

    async def _organization_connections(self, request: Request, fault: Fault | None) -> Response:
        """`GET /organizations/{id}/connections` (Early Access): offset pages, `is_enabled`."""
        if not self.config.organization_connections:
            return error_response(403, FEATURE_NOT_ENABLED, "feature_not_enabled")
        found = self._org_query(request, ORGANIZATION_CONNECTIONS_QUERY)
        if isinstance(found, Response):
            return found
        org, values = found
        every = [
            c
            for c in org.connection_view
            if "is_enabled" not in values or c.get("is_enabled", True) is values["is_enabled"]
        ]
        return _offset_page(every, "connections", values)

    async def _client_grants(self, request: Request, fault: Fault | None) -> Response:
        """`GET /organizations/{id}/client-grants`: offset pages, filters audience, client_id
        and grant_ids (comma-separated)."""
        found = self._org_query(request, CLIENT_GRANTS_QUERY)
        if isinstance(found, Response):
            return found
        org, values = found
        ids = str(values["grant_ids"]).split(",") if "grant_ids" in values else None
        every = [
            g
            for g in self.tenant.client_grants_of(org)
            if all(
                key not in values or g.get(key) == values[key] for key in ("audience", "client_id")
            )
            and (ids is None or g.get("id") in ids)
        ]
        return _offset_page(every, "client_grants", values)

    def _org_query(
        self, request: Request, spec: Mapping[str, Param] = NO_QUERY
    ) -> tuple[TenantOrg, dict[str, QueryValue]] | Response:
        """The organization the path's `{id}` names and the query, or the error answer: 400 for
        the query, then 404 for the organization."""
        values = self._query(request, spec)
        if isinstance(values, Response):
            return values
        org = self.tenant.by_id(request.path_params["id"])
        return error_response(404, NOT_FOUND_ORG) if org is None else (org, values)

    async def _enabled_connection(self, request: Request, fault: Fault | None) -> Response:
        found = self._org_query(request)
        if isinstance(found, Response):
            return found
        org = found[0]
        cid = request.path_params["cid"]
        item = next((c for c in org.enabled_connections if c["connection_id"] == cid), None)
        return _one(item, "No connection found for that organization")

    async def _organization_connection(self, request: Request, fault: Fault | None) -> Response:
        if not self.config.organization_connections:
            return error_response(403, FEATURE_NOT_ENABLED, "feature_not_enabled")
        found = self._org_query(request)
        if isinstance(found, Response):
            return found
        org = found[0]
        return _one(
            org.association(request.path_params["cid"]), "No connection found for that organization"
        )

    async def _discovery_domain(self, request: Request, fault: Fault | None) -> Response:
        found = self._org_query(request)
        if isinstance(found, Response):
            return found
        org = found[0]
        return _one(org.domain(request.path_params["domain_id"]), "Discovery domain not found.")

    async def _tenant_grants(self, request: Request, fault: Fault | None) -> Response:
        """`GET /client-grants`: the tenant's grants, offset pages or checkpoint pages (`from`,
        `take`; `next` left out on the last page), filters audience and client_id."""
        values = self._query(request, TENANT_CLIENT_GRANTS_QUERY)
        if isinstance(values, Response):
            return values
        every = [
            g
            for g in self.tenant.client_grants.values()
            if all(k not in values or g.get(k) == values[k] for k in ("audience", "client_id"))
        ]
        if "from" in values or "take" in values:
            return _checkpoint(every, "client_grants", values)
        return _offset_page(every, "client_grants", values)

    async def _discovery_domains(self, request: Request, fault: Fault | None) -> Response:
        """`GET /organizations/{id}/discovery-domains`: checkpoint pages only (`from`, `take`),
        `{"domains": [...], "next": ...}` with `next` left out on the last page."""
        found = self._org_query(request, DISCOVERY_DOMAINS_QUERY)
        if isinstance(found, Response):
            return found
        org, values = found
        return _checkpoint(list(org.discovery_domains), "domains", values)


def _one(item: Mapping[str, Any] | None, message: str) -> Response:
    return error_response(404, message) if item is None else json_response(200, item)


def _match_path(operation: WriteOperation, method: str, path: str) -> dict[str, str] | None:
    """The path parameters of `operation` in `method path` (under /api/v2), or None."""
    if method.upper() != operation.method:
        return None
    pattern = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(operation.path)) + "$"
    found = re.match(pattern, path)
    return None if found is None else dict(found.groupdict())


def _checkpoint(items: list[RawObject], key: str, values: Mapping[str, QueryValue]) -> Response:
    """A checkpoint page of `items`: `{key: [...], "next": cursor}`, `next` left out on the
    last page."""
    start = 0
    if "from" in values:
        decoded = _decode_position(str(values["from"]))
        if decoded is None:
            return error_response(400, "Invalid value for from", "invalid_query_string")
        start = decoded
    take = _int(values, "take", DEFAULT_PAGE_SIZE)
    body: dict[str, Any] = {key: items[start : start + take]}
    if start + take < len(items):
        body["next"] = _encode_position(start + take)
    return json_response(200, body)


def _encode_position(position: int) -> str:
    return base64.urlsafe_b64encode(f"dd:{position}".encode()).rstrip(b"=").decode("ascii")


def _decode_position(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, _, number = raw.partition(":")
    return int(number) if prefix == "dd" and number.isdigit() and len(number) < 10 else None


def _token_params(content_type: str, body: bytes) -> dict[str, Any] | None:
    """The token request's parameters, from a JSON or a form-encoded body."""
    try:
        if content_type.split(";")[0].strip().lower() == "application/json":
            decoded = json.loads(body or b"{}")
            return decoded if isinstance(decoded, dict) else None
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (ValueError, UnicodeDecodeError):
        return None


def create_app(state: LiveState, config: EmulatorConfig | None = None) -> EmulatorApp:
    """The emulator as an ASGI app serving `state` (organizations in creation order)."""
    return EmulatorApp(state, config if config is not None else EmulatorConfig())
