"""The emulator as an ASGI app: the routes, the steps every request goes through, handlers.

Steps of an API request: route -> latency -> authentication -> scope -> rate limits (global,
then the endpoint group's) -> fault hook -> handler -> fault post-processing -> headers.
`POST /oauth/token` skips authentication, scopes and rate limits (the Authentication API has its
own limits, not emulated). Every response carries `Content-Type: application/json;
charset=utf-8` (except an injected HTML page) and the `x-ratelimit-*` headers: they describe
the global bucket (limit = burst, remaining = whole tokens left, reset = epoch second at which
the next token arrives), except on a 429, where they describe the bucket that refused (the
global one or the endpoint group's), so that waiting until `reset` is enough. Only requests
that pass authentication spend tokens. An unlimited global bucket reports 1000000/1000000.

`app.stats` counts requests per endpoint group (the reads' `config.ENDPOINT_GROUPS`, "token",
"logs", "log_by_id", "connections", one per write operation of `writes.WRITES`,
"emulator_admin", "unknown") and responses per status.

Writes: every write the Management API allows on the parts of an organization orgdrift reads
(`writes.py`), each logged as a `sapi` entry; and `POST /_emulator/admin-writes`, which is not
an Auth0 endpoint, for the writes an organization's own admins make outside the Management API
(My Organization API, self-service SSO), logged with their own event types.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import functools
import json
import re
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.client import responses  # the phrase of each status
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import Receive, Scope, Send

from orgdrift.emulator import queries, writes
from orgdrift.emulator.auth import AuthFailure, authenticate, grant_client_credentials
from orgdrift.emulator.config import REQUIRED_SCOPES, EmulatorConfig
from orgdrift.emulator.faults import (
    ConnectionDropped,
    Fault,
    FaultContext,
    FaultHook,
    random_faults,
)
from orgdrift.emulator.queries import NO_QUERY, Param, QueryError, QueryValue, parse_query
from orgdrift.emulator.ratelimit import Quota, RateLimiter
from orgdrift.emulator.tenant import START_KEY, TenantOrg, TenantState, decode_cursor, encode_cursor
from orgdrift.emulator.tenantlog import SEARCH_CAP, TenantLog, other_entry, sapi_entry
from orgdrift.emulator.writes import WRITE_SCOPES, WRITES, Refused, WriteOperation, Written
from orgdrift.models import LiveState, RawObject

RATE_LIMITED = "Global limit has been reached"
DEFAULT_PAGE_SIZE = 50
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
FEATURE_NOT_ENABLED = "The Organization Connections feature is not enabled for this tenant."
API = "/api/v2"
ADMIN_WRITES = "/_emulator/admin-writes"  # writes made outside the Management API

# The scopes each endpoint group needs (any one of them): the reads, the tenant log, the write
# endpoints (`writes.WRITES`) and the emulator's own route for admin writes (any write scope).
_SCOPES: Mapping[str, tuple[str, ...]] = {
    **REQUIRED_SCOPES,
    "logs": ("read:logs",),
    "log_by_id": ("read:logs",),
    **{w.group: w.scopes for w in WRITES},
    "emulator_admin": tuple(sorted(WRITE_SCOPES)),
    "connections": ("read:connections",),
}

_HTML_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)

Handler = Callable[[Request, Fault], Awaitable[Response]]
_Method = Callable[["EmulatorApp", Request, Fault], Awaitable[Response]]
_ROUTES: list[tuple[str, str, str, _Method]] = []  # method, path, group, handler


def _route(method: str, path: str, group: str) -> Callable[[_Method], _Method]:
    """Registers an `EmulatorApp` handler; the first route that matches a request serves it."""

    def register(handler: _Method) -> _Method:
        _ROUTES.append((method, path, group, handler))
        return handler

    return register


@functools.cache
def _pattern(path: str) -> re.Pattern[str]:
    return compile_path(path)[0]


# --- responses ---------------------------------------------------------------------------------


def json_response(status: int, payload: Any) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(body, status, media_type=JSON_CONTENT_TYPE)


def error_response(
    status: int, message: str, error_code: str | None = None, *, attributes: bool = False
) -> Response:
    """Auth0's error envelope: statusCode, error, message, then errorCode / attributes if any."""
    phrase = responses.get(status, "Unknown")  # a fault hook may make a status up
    body: dict[str, Any] = {"statusCode": status, "error": phrase, "message": message}
    if error_code is not None:
        body["errorCode"] = error_code
    if attributes:
        body["attributes"] = {"error": message}
    return json_response(status, body)


def fault_response(status: int, body: bytes | None) -> Response:
    """The answer a fault with a `status` gives: its body, or Auth0's envelope for the status."""
    if body is not None:
        return Response(body, status, media_type=JSON_CONTENT_TYPE)
    if status == 429:
        return error_response(429, RATE_LIMITED, "too_many_requests")
    message = "An internal server error occurred" if status == 500 else responses.get(status)
    return error_response(status, message or "Unknown")


class _Dropped(Response):
    """Sends the headers and half the body, then aborts the connection (fault `drop_connection`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        half = self.body[: len(self.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise ConnectionDropped("emulator fault: connection dropped mid-body")


def _apply_malformed(response: Response, fault: Fault) -> Response:
    if fault.malformed == "html":
        response = Response(_HTML_PAGE, 502, headers={"content-type": "text/html"})
    elif fault.malformed == "truncated":
        body = response.body[: len(response.body) // 2]
        response = Response(body, response.status_code, media_type=JSON_CONTENT_TYPE)
    if fault.drop_connection:
        headers = {"content-type": response.headers["content-type"]}
        response = _Dropped(response.body, response.status_code, headers=headers)
    return response


# --- queries and pages -------------------------------------------------------------------------


def _query(request: Request, spec: Mapping[str, Param]) -> dict[str, QueryValue]:
    try:
        return parse_query(request.query_params.multi_items(), spec)
    except QueryError as error:
        raise Refused(400, str(error), "invalid_query_string") from None


def _offsets(values: Mapping[str, QueryValue]) -> tuple[int, int]:
    """The first item and the size of page `page`, `per_page` long."""
    per_page = int(values.get("per_page", DEFAULT_PAGE_SIZE))  # integers, as parsed
    return int(values.get("page", 0)) * per_page, per_page


def _offset_page(
    every: Sequence[Any], key: str, values: Mapping[str, QueryValue], *, counted: bool = False
) -> Response:
    """Page `page` of `every`, `per_page` long: a bare array, or with `include_totals=true` an
    object with start, limit and total; its `limit` is `per_page`, or with `counted` the number
    of items on the page."""
    start, per_page = _offsets(values)
    items = list(every[start : start + per_page])
    if values.get("include_totals") is not True:
        return json_response(200, items)
    limit = len(items) if counted else per_page
    return json_response(200, {key: items, "start": start, "limit": limit, "total": len(every)})


def _checkpoint(items: list[RawObject], key: str, values: Mapping[str, QueryValue]) -> Response:
    """A checkpoint page of `items`: `{key: [...], "next": cursor}`, `next` left out on the
    last page."""
    start = 0
    if "from" in values:
        decoded = _decode_position(str(values["from"]))
        if decoded is None:
            raise Refused(400, "Invalid value for from", "invalid_query_string")
        start = decoded
    take = int(values.get("take", DEFAULT_PAGE_SIZE))
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
    digits = number.isascii() and number.isdigit()  # "²" is a digit that int() refuses
    return int(number) if prefix == "dd" and digits and len(number) < 10 else None


def _one(item: Mapping[str, Any] | None, message: str) -> Response:
    if item is None:
        raise Refused(404, message)
    return json_response(200, item)


def _grants(grants: Sequence[RawObject], values: Mapping[str, QueryValue]) -> list[RawObject]:
    """The grants the `audience` and `client_id` filters keep."""
    keys = ("audience", "client_id")
    return [g for g in grants if all(k not in values or g.get(k) == values[k] for k in keys)]


# --- statistics --------------------------------------------------------------------------------


@dataclass
class EmulatorStats:
    """Requests per endpoint group and responses per status; `snapshot()` and `reset()`."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

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
        # The tenant log, seeded with the token exchange that set the tenant up.
        self.log = TenantLog(
            config.clock, delay_ms=config.log_delay_ms, retention=config.log_retention
        )
        self.log.append(other_entry("seccft", "Client Credentials for Access Token", "emulator"))
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = [
            (method, _pattern(path), group, functools.partial(handler, self))
            for method, path, group, handler in _ROUTES
        ]
        self._routes += [
            (w.method, _pattern(API + w.path), w.group, functools.partial(self._write_endpoint, w))
            for w in WRITES
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Any other method or path: Auth0's JSON 404 (group "unknown")."""
        if scope["type"] == "lifespan":  # nothing to start or stop
            for phase in ("startup", "shutdown"):
                await receive()
                await send({"type": f"lifespan.{phase}.complete"})
            return
        group, handler = "unknown", None
        for method, pattern, route_group, route_handler in self._routes:
            if method == scope["method"] and (found := pattern.match(scope["path"])):
                scope["path_params"] = found.groupdict()
                group, handler = route_group, route_handler
                break
        self._numbers[""] += 1
        self._numbers[group] += 1
        response = await self._steps(Request(scope, receive), group, handler)
        self.stats.requests[group] += 1
        self.stats.statuses[response.status_code] += 1
        await response(scope, receive, send)

    async def _steps(self, request: Request, group: str, handler: Handler | None) -> Response:
        if self.config.latency_ms > 0:
            await asyncio.sleep(self.config.latency_ms / 1000.0)
        quota = self._limiter.global_quota()
        if handler is None:
            return self._finish(error_response(404, "Not Found"), quota)
        if group != "token":
            refused, quota = self._admit(request, group, quota)
            if refused is not None:
                return self._finish(refused, quota)
        fault = self._fault_for(request, group)
        if fault.delay_ms > 0:
            await asyncio.sleep(fault.delay_ms / 1000.0)
        if fault.status is not None:
            response = fault_response(fault.status, fault.body)
        elif fault.repeat_previous_page and group in self._last_ok:
            response = Response(self._last_ok[group], 200, media_type=JSON_CONTENT_TYPE)
        else:
            try:
                response = await handler(request, fault)
            except Refused as refused:
                response = error_response(refused.status, refused.message, refused.error_code)
            if response.status_code == 200:
                self._last_ok[group] = bytes(response.body)
        return self._finish(_apply_malformed(response, fault), quota, fault.ratelimit_reset_offset)

    def _admit(self, request: Request, group: str, quota: Quota) -> tuple[Response | None, Quota]:
        """Authentication, scope, then the rate limits: the refusal if any, and the quota the
        headers describe."""
        granted = authenticate(
            request.headers.get("authorization"),
            static_tokens=self.config.tokens,
            key=self._key,
            audience=self._audience(request),
            now=self.config.clock(),
        )
        if isinstance(granted, AuthFailure):
            failure = (granted.status, granted.message, granted.error_code)
            return error_response(*failure, attributes=granted.with_attributes), quota
        if granted.isdisjoint(_SCOPES[group]):
            message = "Insufficient scope, expected any of: " + ", ".join(_SCOPES[group])
            return error_response(403, message, "insufficient_scope"), quota
        decision = self._limiter.check(group)
        if decision.allowed:
            return None, decision.quota
        limited = error_response(429, RATE_LIMITED, "too_many_requests")
        if self.config.send_retry_after:
            limited.headers["retry-after"] = str(max(1, decision.quota.retry_after))
        return limited, decision.quota

    def _finish(self, response: Response, quota: Quota, offset: float | None = None) -> Response:
        reset = quota.reset if offset is None else int(self.config.clock() + offset)
        response.headers["x-ratelimit-limit"] = str(quota.limit)
        response.headers["x-ratelimit-remaining"] = str(quota.remaining)
        response.headers["x-ratelimit-reset"] = str(reset)
        return response

    def _fault_for(self, request: Request, group: str) -> Fault:
        if not self._faults:
            return Fault()
        context = FaultContext(
            method=request.method,
            path=request.url.path,
            group=group,
            query=dict(request.query_params),
            request_number=self._numbers[""],
            group_request_number=self._numbers[group],
        )
        return next((fault for hook in self._faults if (fault := hook(context))), Fault())

    def _audience(self, request: Request) -> str:
        if self.config.audience is not None:
            return self.config.audience
        return f"{request.url.scheme}://{request.url.netloc}/api/v2/"

    def _org_query(
        self, request: Request, spec: Mapping[str, Param] = NO_QUERY
    ) -> tuple[TenantOrg, dict[str, QueryValue]]:
        """The organization the path's `{id}` names and the query; refused with 400 for the
        query, then 404 for the organization."""
        values = _query(request, spec)
        return writes.find_org(self.tenant, request.path_params), values

    def _early_access(self) -> None:
        # A tenant without the Early Access connections answers 403 there, not a scope error
        # [INF: the OAS lists no 404 for it].
        if not self.config.organization_connections:
            raise Refused(403, FEATURE_NOT_ENABLED, "feature_not_enabled")

    # --- handlers, in matching order (by name before the `{id}` routes) ------------------------

    @_route("POST", "/oauth/token", "token")
    async def _token(self, request: Request, fault: Fault) -> Response:
        """The client-credentials grant, its parameters in a JSON or a form-encoded body."""
        raw, content_type = await request.body(), request.headers.get("content-type", "")
        try:
            if content_type.split(";")[0].strip().lower() == "application/json":
                params = json.loads(raw or b"{}")
            else:
                params = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError):
            params = None
        if not isinstance(params, dict):
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

    @_route("GET", f"{API}/organizations", "organizations")
    async def _list(self, request: Request, fault: Fault) -> Response:
        values = _query(request, queries.ORGANIZATIONS_QUERY)
        if "take" in values or "from" in values:
            return self._checkpoint_page(values, stuck=fault.stuck_cursor)
        start, per_page = _offsets(values)
        if start + per_page > 1000:
            message = (
                f"Requesting page {start // per_page} exceeds the allowed maximum of 1000 "
                "records. To fetch results beyond 1000, use the checkpoint pagination method."
            )
            raise Refused(400, message, "invalid_paging")
        sort = values.get("sort")
        orgs = self.tenant.sorted_by(sort if isinstance(sort, str) else None)
        return _offset_page([org.body for org in orgs], "organizations", values)

    def _checkpoint_page(self, values: Mapping[str, QueryValue], *, stuck: bool) -> Response:
        """Organizations created after the `from` cursor (Auth0's: the last one's key)."""
        cursor = str(values.get("from", "")) or None
        key = START_KEY if cursor is None else decode_cursor(cursor)
        if key is None:
            message = "Invalid value for the 'from' parameter."
            raise Refused(400, message, "invalid_query_string")
        page, more = self.tenant.after(key, int(values.get("take", DEFAULT_PAGE_SIZE)))
        body: dict[str, Any] = {"organizations": [org.body for org in page]}
        if stuck:
            body["next"] = cursor if cursor is not None else encode_cursor(START_KEY)
        elif more and page:
            body["next"] = encode_cursor(page[-1].key)
        return json_response(200, body)

    @_route("GET", f"{API}/organizations/name/{{name:path}}", "organization_by_name")
    async def _by_name(self, request: Request, fault: Fault) -> Response:
        name: str = request.path_params["name"]
        if len(name) > 50:
            message = (
                f"Path validation error: 'String is too long ({len(name)} chars), maximum 50' "
                "on property name (name of the organization to retrieve)."
            )
            raise Refused(400, message, "invalid_uri")
        _query(request, NO_QUERY)
        org = self.tenant.by_name(name)
        return _one(None if org is None else org.body, writes.NOT_FOUND_ORG)

    @_route("GET", f"{API}/organizations/{{id}}", "organization_by_id")
    async def _by_id(self, request: Request, fault: Fault) -> Response:
        return json_response(200, self._org_query(request)[0].body)

    @_route("GET", f"{API}/organizations/{{id}}/enabled_connections", "enabled_connections")
    async def _enabled_connections(self, request: Request, fault: Fault) -> Response:
        org, values = self._org_query(request, queries.ENABLED_CONNECTIONS_QUERY)
        return _offset_page(org.enabled_connections, "enabled_connections", values, counted=True)

    @_route("GET", f"{API}/organizations/{{id}}/connections", "organization_connections")
    async def _organization_connections(self, request: Request, fault: Fault) -> Response:
        """The Early Access endpoint: every association, filter `is_enabled`."""
        self._early_access()
        org, values = self._org_query(request, queries.ORGANIZATION_CONNECTIONS_QUERY)
        every = [
            c
            for c in org.associations
            if "is_enabled" not in values or c.get("is_enabled", True) is values["is_enabled"]
        ]
        return _offset_page(every, "connections", values)

    @_route("GET", f"{API}/organizations/{{id}}/client-grants", "organization_client_grants")
    async def _client_grants(self, request: Request, fault: Fault) -> Response:
        """Filters audience, client_id and grant_ids (comma-separated)."""
        org, values = self._org_query(request, queries.CLIENT_GRANTS_QUERY)
        ids = str(values["grant_ids"]).split(",") if "grant_ids" in values else None
        every = [
            g
            for g in _grants(self.tenant.client_grants_of(org), values)
            if ids is None or g.get("id") in ids
        ]
        return _offset_page(every, "client_grants", values)

    @_route(
        "GET", f"{API}/organizations/{{id}}/discovery-domains", "organization_discovery_domains"
    )
    async def _discovery_domains(self, request: Request, fault: Fault) -> Response:
        """Checkpoint pages only: `{"domains": [...], "next": ...}`."""
        org, values = self._org_query(request, queries.DISCOVERY_DOMAINS_QUERY)
        return _checkpoint(list(org.discovery_domains), "domains", values)

    # One item each (what a remediation reads back), and the tenant's grants.

    @_route("GET", f"{API}/organizations/{{id}}/enabled_connections/{{cid}}", "enabled_connection")
    async def _enabled_connection(self, request: Request, fault: Fault) -> Response:
        org, cid = self._org_query(request)[0], request.path_params["cid"]
        item = next((c for c in org.enabled_connections if c["connection_id"] == cid), None)
        return _one(item, "No connection found for that organization")

    @_route("GET", f"{API}/organizations/{{id}}/connections/{{cid}}", "organization_connection")
    async def _organization_connection(self, request: Request, fault: Fault) -> Response:
        self._early_access()
        _query(request, NO_QUERY)
        found = writes.find_association(self.tenant, request.path_params, enabled_only=False)
        return json_response(200, found[1])

    @_route(
        "GET",
        f"{API}/organizations/{{id}}/discovery-domains/{{domain_id}}",
        "organization_discovery_domain",
    )
    async def _discovery_domain(self, request: Request, fault: Fault) -> Response:
        _query(request, NO_QUERY)
        return json_response(200, writes.find_domain(self.tenant, request.path_params)[1])

    @_route("GET", f"{API}/client-grants", "client_grants")
    async def _tenant_grants(self, request: Request, fault: Fault) -> Response:
        """Offset pages or checkpoint pages (`from`, `take`), filters audience and client_id."""
        values = _query(request, queries.TENANT_CLIENT_GRANTS_QUERY)
        every = _grants(list(self.tenant.client_grants.values()), values)
        if "from" in values or "take" in values:
            return _checkpoint(every, "client_grants", values)
        return _offset_page(every, "client_grants", values)

    @_route("GET", f"{API}/connections", "connections")
    async def _connections(self, request: Request, fault: Fault) -> Response:
        """The tenant's connections in id order, offset pages."""
        values = _query(request, queries.ENABLED_CONNECTIONS_QUERY)
        every = [{"id": cid, **conn} for cid, conn in sorted(self.tenant.connections.items())]
        return _offset_page(every, "connections", values, counted=True)

    # --- the tenant log and the writes --------------------------------------------------------

    @_route("GET", f"{API}/logs", "logs")
    async def _logs(self, request: Request, fault: Fault) -> Response:
        values = _query(request, queries.LOGS_QUERY)
        if "from" in values or "take" in values:  # checkpoint mode: other parameters ignored
            take = int(values.get("take", DEFAULT_PAGE_SIZE))
            return json_response(200, self.log.after(str(values.get("from", "")), take))
        query = str(values.get("q", "")).strip()
        field, _, wanted = query.partition(":")
        if query and (field != "type" or not wanted):
            raise Refused(400, "the emulator only searches q=type:<type>", "invalid_query_string")
        start, per_page = _offsets(values)
        if start + per_page > SEARCH_CAP:
            message = (
                f"You can only page through the first {SEARCH_CAP} records. "
                "Use the checkpoint pagination method (from and take) instead."
            )
            raise Refused(400, message, "invalid_paging")
        sort = str(values.get("sort", "date:-1"))
        entries = self.log.search(kind=wanted.strip('"') if query else None, sort=sort)
        entries = entries[:SEARCH_CAP]
        items = list(entries[start : start + per_page])
        if values.get("include_totals") is not True:
            return json_response(200, items)
        page = {"start": start, "limit": per_page, "length": len(items), "total": len(entries)}
        return json_response(200, {**page, "logs": items})

    @_route("GET", f"{API}/logs/{{log_id}}", "log_by_id")
    async def _log_by_id(self, request: Request, fault: Fault) -> Response:
        _query(request, NO_QUERY)
        return _one(self.log.by_id(request.path_params["log_id"]), "log not found")

    async def _write_endpoint(
        self, operation: WriteOperation, request: Request, fault: Fault
    ) -> Response:
        data = await _body(request) if operation.body is not None else {}
        written = self._write(operation, request.path_params, data)
        entry = sapi_entry(
            description=written.description,
            method=request.method,
            path=request.url.path,
            body=data,
            status=written.status,
            response=written.payload,
            client_id="emulator",
        )
        self.log.append(entry)
        return _answer(written)

    def _write(
        self, operation: WriteOperation, params: Mapping[str, str], data: RawObject
    ) -> Written:
        if operation.early_access:
            self._early_access()
        writes.check_body(operation.body, data)
        return operation.run(self.tenant, params, data)

    @_route("POST", ADMIN_WRITES, "emulator_admin")
    async def _admin_write(self, request: Request, fault: Fault) -> Response:
        """`POST /_emulator/admin-writes`, not an Auth0 endpoint: a write made outside the
        Management API, by an organization's own admins through the My Organization API or by a
        self-service SSO ticket. Body: `{"type": "my_organization_api_org_details_succeeded",
        "organization_id": "org_..." or null, "method": "PATCH", "path": "/organizations/org_...",
        "body": {...}, "details": {...}}`. The tenant changes as the Management API write
        `method path` (under /api/v2) would change it, and the log gets an entry of `type`
        naming `organization_id`, not a `sapi` one. The answer is the write's."""
        data = await _body(request)
        method, path, kind = data.get("method"), data.get("path"), data.get("type")
        if not (isinstance(method, str) and isinstance(path, str) and isinstance(kind, str)):
            raise Refused(400, "type, method and path must be strings", "invalid_body")
        body = data.get("body") or {}
        for operation in WRITES:
            found = _pattern(operation.path).match(path)
            if method.upper() != operation.method or found is None:
                continue
            written = self._write(operation, found.groupdict(), body)
            logged = {"method": method.lower(), "path": path, "body": body}
            details = {**(data.get("details") or {}), "request": logged}
            organization = data.get("organization_id")
            entry = other_entry(kind, written.description, "my-organization-api", details=details)
            self.log.append({**entry, "organization_id": organization})
            return _answer(written)
        raise Refused(404, f"no write operation {method} {path}")


def _answer(written: Written) -> Response:
    """A write's answer: 202 and 204 have no body."""
    if written.status in (202, 204):
        return Response(b"", written.status)
    return json_response(written.status, written.payload)


async def _body(request: Request) -> RawObject:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise Refused(400, "Invalid request payload JSON format", "invalid_body") from None
    if not isinstance(data, dict):
        raise Refused(400, "Payload validation error: 'Expected type object'", "invalid_body")
    return data


def create_app(state: LiveState, config: EmulatorConfig | None = None) -> EmulatorApp:
    """The emulator as an ASGI app serving `state` (organizations in creation order)."""
    return EmulatorApp(state, config if config is not None else EmulatorConfig())
