"""Pure Management API protocol logic: error mapping, retry policy, rate-limit headers, paging.

No I/O and no httpx here (gidgethub's sans-I/O split): every function takes status codes,
header mappings, bodies and clocks as values, so it is table-tested without a network. The
client in `orgdrift.client` is the thin I/O adapter around it.

The facts: the Management API reference (https://auth0.com/docs/api/management/v2) and its
OpenAPI file for the error envelope and page shapes; the rate-limit policy
(https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy)
for the `x-ratelimit-*` headers; the retry policies of auth0-python, node-auth0 and go-auth0,
which this one combines.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

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
)
from orgdrift.models import RawObject

# --- retry policy ----------------------------------------------------------------------------

MAX_RETRY_DELAY = 60.0
"""No single wait between attempts is longer than this (the official SDKs' cap)."""

MIN_RETRY_DELAY = 0.05
"""A reset already in the past still waits this long, so a retry never hammers."""

RATE_LIMIT_JITTER = 0.2
"""A wait derived from `x-ratelimit-reset` is stretched by 0 to 20 % (spreads the herd)."""

BACKOFF_429_BASE = 1.0
"""429 without any timing header: 1 s * 2**n (the v5 SDKs' third rule)."""

BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
"""5xx, 408 and transport errors: min(0.5 s * 2**n, 8 s) minus up to 25 % jitter (openai-python)."""

PAGE = 100
"""Items per listing page (the API's maximum)."""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _parse_number(text: str | None) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _parse_int(text: str | None) -> int | None:
    value = _parse_number(text)
    return None if value is None or value != int(value) or value < 0 else int(value)


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The tenant's global bucket as the `x-ratelimit-*` headers describe it; `reset` is a UNIX
    timestamp in seconds (when more requests are added)."""

    limit: int | None
    remaining: int | None
    reset: float | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """None when the response carries none of the three headers (or only garbage)."""
        info = cls(
            _parse_int(_header(headers, "x-ratelimit-limit")),
            _parse_int(_header(headers, "x-ratelimit-remaining")),
            _parse_number(_header(headers, "x-ratelimit-reset")),
        )
        return None if info == cls(None, None, None) else info


def should_retry(status: int) -> bool:
    """429, 408 and every 5xx are transient; no other status is worth a second try."""
    return status in (408, 429) or 500 <= status <= 599


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait per `retry-after-ms`, or `Retry-After` as seconds or an HTTP date (`now`
    is the wall clock, in UNIX seconds). None when absent or unparseable; the past gives 0."""
    millis = _parse_number(_header(headers, "retry-after-ms"))
    if millis is not None:
        return max(millis / 1000.0, 0.0)
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    seconds = _parse_number(raw)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return None if when.tzinfo is None else max(when.timestamp() - now, 0.0)


def _clamp(delay: float) -> float:
    return min(max(delay, MIN_RETRY_DELAY), MAX_RETRY_DELAY)


def backoff_delay(attempt: int, rng: random.Random) -> float:
    """Capped exponential backoff: min(0.5 s * 2**attempt, 8 s) minus up to 25 % jitter."""
    nominal = min(BACKOFF_BASE * 2.0 ** min(attempt, 30), BACKOFF_MAX)
    return _clamp(nominal * (1.0 - 0.25 * rng.random()))


def retry_delay(
    attempt: int,
    headers: Mapping[str, str] | None,
    now: float,
    rng: random.Random,
    *,
    status: int | None = 429,
) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first) of a request that failed
    with `status` (None: a transport error); `now` is the wall clock. In order: 1. `Retry-After`
    (or `retry-after-ms`) when present; 2. on 429, `x-ratelimit-reset - now` stretched by 0-20 %
    jitter; 3. on 429 without either, 1 s * 2**attempt +-10 %; 4. else `backoff_delay`. Always
    within [MIN_RETRY_DELAY, MAX_RETRY_DELAY]: a reset hours ahead waits 60 s, one in the past a
    short positive time."""
    headers = headers or {}
    server = parse_retry_after(headers, now)
    if server is not None:
        return _clamp(server)
    if status == 429:
        info = RateLimitInfo.from_headers(headers)
        if info is not None and info.reset is not None:
            wait = max(info.reset - now, 0.0)
            return _clamp(wait * (1.0 + RATE_LIMIT_JITTER * rng.random()) + MIN_RETRY_DELAY)
        nominal = min(BACKOFF_429_BASE * 2.0 ** min(attempt, 30), MAX_RETRY_DELAY)
        return _clamp(nominal * (0.9 + 0.2 * rng.random()))
    return backoff_delay(attempt, rng)


# --- bodies --------------------------------------------------------------------------------------


class BodyDecodeError(ProtocolError):
    """A body that is not valid JSON: often a truncated transfer, so the client retries it."""


class HostileBodyError(ProtocolError):
    """A body that is valid JSON but that no API would send: nested past MAX_RESPONSE_DEPTH, or with
    non-finite numbers. Retrying cannot help; the read ends with exit 3."""


MAX_RESPONSE_DEPTH = 32
"""JSON nesting allowed in a response (a page is 5 deep; Auth0 metadata values are strings).
Deeper bodies are refused before anything recurses over them (the comparison included)."""

MAX_BODY_BYTES = 8 * 1024 * 1024
"""Decompressed size allowed for one response body (a page of 100 organizations is ~0.1 MiB)."""

MAX_COUNT = 10**9
"""Largest `start`/`total` believed; past it a number is a lie, not a tenant."""


class Redactor:
    """The one place that knows every credential value: each is registered the moment it exists
    (the environment's token or client secret, every token the grant issues), and every message
    built from server or transport data goes through `__call__` before it is stored or shown."""

    __slots__ = ("_values",)

    def __init__(self, values: tuple[str, ...] = ()) -> None:
        self._values: list[str] = []
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        if value and value not in self._values:
            self._values.append(value)
            self._values.sort(key=len, reverse=True)  # a longer secret first: no partial leftovers

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "***")
        return text

    def scrub(self, error: BaseException) -> BaseException:
        """`error` with every text it carries redacted and its chained causes dropped (they may
        quote server bytes); returned for `raise redactor.scrub(exc) from None`."""
        if isinstance(error, OrgdriftError):
            error.message = self(error.message)
            error.args = (error.message,)
            if isinstance(error, ApiError):
                error.api_message = self(error.api_message)
                error.error_code = None if error.error_code is None else self(error.error_code)
                error.path = self(error.path)
        error.__cause__ = None
        error.__context__ = None
        return error

    def echoed_in(self, body: bytes) -> bool:
        """Whether a response body carries a credential (a server echoing what it was sent)."""
        return any(value.encode() in body for value in self._values)


MAX_INT_DIGITS = 30
"""Longest integer believed in a response or a JSON file orgdrift reads (Python's own limit,
4,300 digits, would raise a ValueError of its own, and converting one costs quadratic time)."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise HostileBodyError(f"a number is out of range ({len(text)} characters)")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise HostileBodyError(f"an integer has {len(text)} digits")
    return int(text)


def _constant(name: str) -> object:
    raise HostileBodyError(f"it contains {name}, which is not JSON")


def loads(text: str | bytes) -> Any:
    """`json.loads` for every JSON orgdrift reads: finite numbers, integers of at most
    MAX_INT_DIGITS digits, no NaN or Infinity (else HostileBodyError)."""
    return json.loads(text, parse_float=_finite, parse_int=_bounded_int, parse_constant=_constant)


def depth_within(value: object, limit: int) -> bool:
    """Whether `value` nests at most `limit` containers deep (walked without recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def parse_json(body: bytes) -> object:
    """Decode a JSON body or raise BodyDecodeError (never echoing the body). HostileBodyError:
    NaN/Infinity, numbers that overflow a float, integers of more than 30 digits and nesting past
    MAX_RESPONSE_DEPTH (checked without recursion, as is the decoder's own recursion limit)."""
    too_deep = f"response body nests deeper than {MAX_RESPONSE_DEPTH} levels"
    if len(body) > MAX_BODY_BYTES:
        raise HostileBodyError(f"response body is larger than {MAX_BODY_BYTES // 2**20} MiB")
    try:
        value = loads(body)
    except RecursionError:
        raise HostileBodyError(too_deep) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyDecodeError(
            f"response body is not valid JSON ({len(body)} bytes, {type(exc).__name__})"
        ) from None
    if not depth_within(value, MAX_RESPONSE_DEPTH):
        raise HostileBodyError(too_deep)
    return value


def _error_json(body: bytes) -> object:
    try:
        return parse_json(body) if body else None
    except ProtocolError:
        return None


def _phrase(status: int, unknown: str) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return unknown


def status_text(status: int) -> str:
    """`HTTP 429 Too Many Requests`; `HTTP 599` for a status without a standard phrase."""
    return f"HTTP {status} {_phrase(status, '')}".rstrip()


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True, slots=True)
class ErrorBody:
    message: str
    error_code: str | None
    oauth_error: str | None  # `error` of an OAuth body such as {"error":"access_denied",...}
    json: bool = True  # False: the body was empty, not JSON or hostile (message is the phrase)


def parse_error_body(status: int, body: bytes) -> ErrorBody:
    """Read Auth0's envelope {statusCode,error,message,errorCode} or an OAuth error body
    {error, error_description}. Missing keys, wrong types, non-JSON and hostile bodies fall back
    to the HTTP reason phrase. The one reader of error bodies (the token endpoint's included)."""
    data = _error_json(body)
    phrase = _phrase(status, "HTTP error")
    if not isinstance(data, dict):
        suffix = " (response body is not JSON)" if body else " (empty response body)"
        return ErrorBody(phrase + suffix, None, None, json=False)
    description = _text(data.get("error_description"))
    if description is not None:  # OAuth style (POST /oauth/token)
        code = _text(data.get("error"))
        return ErrorBody(description, code, code)
    message = _text(data.get("message")) or _text(data.get("error")) or phrase
    return ErrorBody(message, _text(data.get("errorCode")) or _text(data.get("code")), None)


def is_api_not_found(status: int, body: bytes) -> bool:
    """Whether a 404 is the Management API's own answer (so the resource does not exist):
    `{"statusCode": 404, "error": "Not Found", "message": "...", "errorCode"?: "..."}`.
    An HTML or empty 404 from a proxy or CDN, or any other shape, proves nothing."""
    data = _error_json(body)
    return (
        status == 404
        and isinstance(data, dict)
        and type(data.get("statusCode")) is int
        and data.get("statusCode") == 404
        and data.get("error") == "Not Found"
        and isinstance(data.get("message"), str)
        and isinstance(data.get("errorCode", ""), str)
    )


def part_unavailable(error: ApiError) -> bool:
    """Whether an error answer says the tenant lacks an optional part of the organization model
    (client grants, discovery domains, the Early Access connections view), not that a request
    went wrong: `feature_not_enabled` (400 or 403; Auth0 answers
    `{"errorCode": "feature_not_enabled", "message": "Feature not enabled for this tenant."}`),
    or the bare 404 Auth0 answers for a route the tenant's API does not have
    (`{"statusCode": 404, "error": "Not Found", "message": "Not Found"}`: no error code)."""
    if error.status in (400, 403) and error.error_code == "feature_not_enabled":
        return True
    return isinstance(error, NotFoundError) and (error.error_code, error.api_message) == (
        None,
        "Not Found",
    )


_ERROR_CLASSES: Mapping[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,  # an OAuth body; else InsufficientScopeError or ApiError
    404: NotFoundError,
    429: RateLimitError,
}


def error_from_response(
    status: int,
    body: bytes,
    *,
    method: str = "GET",
    path: str = "",
    secrets: tuple[str, ...] | Redactor = (),
    attempts: int = 1,
) -> ApiError:
    """The typed exception for an error response; every text from the body is redacted."""
    redact = secrets if isinstance(secrets, Redactor) else Redactor(secrets)
    parsed = parse_error_body(status, body)
    message = redact(parsed.message)
    code = None if parsed.error_code is None else redact(parsed.error_code)
    cls = _ERROR_CLASSES.get(status, ServerError if 500 <= status <= 599 else ApiError)
    if status == 403 and parsed.oauth_error is None:
        scope = code == "insufficient_scope" or message.lower().startswith("insufficient scope")
        cls = InsufficientScopeError if scope else ApiError
    if attempts > 1:
        message += f" (after {attempts} attempts)"
    return cls(message, status=status, error_code=code, method=method, path=path)


# --- pages ---------------------------------------------------------------------------------------

ACCESS_LEVELS: frozenset[str] = frozenset({"none", "readonly", "limited", "full"})
"""`organization_access_level` values (OAS `OrganizationAccessLevelEnum`)."""


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _object(item: object) -> str | None:
    return None if isinstance(item, dict) else f" is {type(item).__name__}, not an object"


def _organization(item: RawObject) -> str | None:
    missing = next((key for key in ("id", "name") if not _is_text(item.get(key))), None)
    return None if missing is None else f": the organization has no string {missing!r}"


def _not_bool(item: RawObject, *keys: str, default: bool = False) -> str | None:
    wrong = next((key for key in keys if not isinstance(item.get(key, default), bool)), None)
    return None if wrong is None else f".{wrong} is not true or false"


def _connection(item: RawObject) -> str | None:
    connection = item.get("connection")
    if connection is not None and (
        not isinstance(connection, dict) or not isinstance(connection.get("name", ""), str)
    ):
        return " has a 'connection' without a string 'name'"
    return _not_bool(item, "assign_membership_on_login", "is_signup_enabled", "show_as_button")


def _connection_view(item: RawObject) -> str | None:
    """`GET /organizations/{id}/connections` (Early Access) adds three fields to a connection."""
    level = item.get("organization_access_level")
    name = item.get("organization_connection_name")
    if not isinstance(item.get("is_enabled", False), bool):
        return ".is_enabled is not true or false"
    if level is not None and not (isinstance(level, str) and level in ACCESS_LEVELS):
        return ".organization_access_level is not a known level"
    if name is not None and not isinstance(name, str):
        return ".organization_connection_name is not a string"
    return None


def _grant_scope(item: RawObject) -> str | None:
    scope = item.get("scope", [])
    if isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        return None
    return ".scope is not a list of strings"


def _domain(item: RawObject) -> str | None:
    if item.get("status") not in ("pending", "verified"):
        return ".status is not pending or verified"
    return _not_bool(item, "use_for_organization_discovery", default=True)


_ITEM_CHECKS: Mapping[str, tuple[str | Callable[[RawObject], str | None], ...]] = {
    "tenant_connections": ("id", "name"),
    "organizations": (_organization,),
    "enabled_connections": ("connection_id", _connection),
    "connections": ("connection_id", _connection, _connection_view),
    "client_grants": ("id", "client_id", "audience", _grant_scope),
    "domains": ("id", "domain", _domain),
}
"""How the items of each listing are checked, by the key of their list: pass after pass over
the items, a key for a non-empty string, a function for what is wrong with an item (or None)."""


def decode_organization(data: object, key: str, wanted: str) -> RawObject:
    """A looked-up organization: an object with string `id` and `name`, the one asked for."""
    if not isinstance(data, dict):
        got = type(data).__name__
        raise ProtocolError(f"expected the organization as a JSON object, got {got}")
    problem = _organization(data)
    if problem is not None:
        raise ProtocolError(f"lookup of {wanted}{problem}")
    if data[key] != wanted:
        raise ProtocolError(f"lookup of organization {key} {wanted} answered another organization")
    return data


def _listing(
    body: object, key: str, kind: str, per_page: int | None = None
) -> tuple[Mapping[str, Any], list[RawObject]]:
    """The wrapper object and its list of objects under `key`, each checked as a `kind` item."""
    if not isinstance(body, dict):
        raise ProtocolError(f"expected a JSON object with {key!r}, got {type(body).__name__}")
    items = body.get(key)
    if not isinstance(items, list):
        raise ProtocolError(f"response has no {key!r} list")
    for check in (_object, *_ITEM_CHECKS[kind]):
        for index, item in enumerate(items):
            if isinstance(check, str):
                problem = None if _is_text(item.get(check)) else f" has no string {check!r}"
            else:
                problem = check(item)
            if problem is not None:
                raise ProtocolError(f"{key}[{index}]{problem}")
    if per_page is not None and len(items) > per_page:
        raise ProtocolError(f"page has {len(items)} items, more than per_page={per_page}")
    return body, items


def _optional_count(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise ProtocolError(f"{key!r} is not a whole number from 0 to {MAX_COUNT}")
    return value


def _check_start(wrapper: Mapping[str, Any], page: int, per_page: int) -> None:
    start = _optional_count(wrapper, "start")
    if start is not None and start != page * per_page:
        raise ProtocolError(f"page {page} starts at {start}, expected {page * per_page}")


def decode_offset_page(body: object, page: int, per_page: int) -> tuple[list[RawObject], int]:
    """`{"organizations": [...], "start", "limit", "total"}` -> (items, total). `total` is required
    but only an estimate: Auth0 has answered `total: 0` beside two organizations, so it never
    ends a listing."""
    wrapper, items = _listing(body, "organizations", "organizations", per_page)
    total = _optional_count(wrapper, "total")
    if total is None:
        raise ProtocolError("offset page has no 'total'")
    _check_start(wrapper, page, per_page)
    if len({o["id"] for o in items}) != len(items):
        raise ProtocolError(f"offset page {page} repeats an organization id")
    return items, total


@dataclass(slots=True)
class CheckpointPager:
    """One checkpoint listing (take, from=next) of organizations or (`key`) discovery domains:
    `params()` is the next query (None when finished), `feed(body)` checks a page and returns its
    items. Any id or cursor seen before is a ProtocolError, so a misbehaving server cannot loop us."""

    take: int = PAGE
    cursor: str | None = None
    finished: bool = False
    pages: int = 0
    key: str = "organizations"
    _seen_ids: set[str] = field(default_factory=set)
    _seen_cursors: set[str | None] = field(default_factory=set)

    def params(self) -> dict[str, str] | None:
        if self.finished:
            return None
        return {"take": str(self.take)} | ({} if self.cursor is None else {"from": self.cursor})

    def feed(self, body: object) -> list[RawObject]:
        """An absent, null or empty `next` ends the listing (the SDKs' `has_next`); one equal to
        the cursor just sent is not advancing."""
        if self.finished:
            raise ProtocolError("checkpoint listing already finished")
        wrapper, items = _listing(body, self.key, self.key)
        nxt = wrapper.get("next")
        if not isinstance(nxt, str | None):
            raise ProtocolError(f"'next' is {type(nxt).__name__}, not a string")
        nxt = nxt or None
        if nxt is not None and nxt == self.cursor:
            raise ProtocolError("checkpoint cursor is not advancing ('next' equals 'from')")
        ids = [str(item["id"]) for item in items]
        if len(items) > self.take:
            raise ProtocolError(f"checkpoint page has {len(items)} items, take={self.take}")
        if nxt is not None and len(items) < self.take:
            raise ProtocolError(
                f"checkpoint page {self.pages} has {len(items)} of {self.take} {self.key} "
                "but a 'next' cursor: the listing is not consistent"
            )
        repeated = sorted(
            {i for i, n in Counter(ids).items() if n > 1} | (set(ids) & self._seen_ids)
        )
        if repeated:
            raise ProtocolError(
                f"checkpoint page {self.pages} repeats {self.key} id(s) {', '.join(repeated[:3])}"
            )
        if nxt is not None and nxt in self._seen_cursors:
            raise ProtocolError("checkpoint cursor went back to an earlier position")
        self._seen_ids.update(ids)
        self._seen_cursors.add(self.cursor)
        self.pages += 1
        self.cursor = nxt
        self.finished = nxt is None
        return items


@dataclass(slots=True)
class OffsetPager:
    """One offset listing (`page`, `per_page`, `include_totals`) to a short or empty page, of
    enabled connections or (`key`) another list; `params()` and `feed(body)` as CheckpointPager."""

    per_page: int = PAGE
    page: int = 0
    finished: bool = False
    _seen_ids: set[str] = field(default_factory=set)
    key: str = "enabled_connections"
    items_of: str = ""  # what its items are (`_ITEM_CHECKS`), when `key` does not say

    def params(self) -> dict[str, str] | None:
        if self.finished:
            return None
        return {"page": str(self.page), "per_page": str(self.per_page), "include_totals": "true"}

    def feed(self, body: object) -> list[RawObject]:
        """Done only at a short or empty page: `total` is checked (no item past it, no short page
        before it) but never trusted to end the listing; `limit` is not in every answer."""
        if self.finished:
            raise ProtocolError("connection listing already finished")
        kind = self.items_of or self.key
        wrapper, items = _listing(body, self.key, kind, self.per_page)
        _check_start(wrapper, self.page, self.per_page)
        total = _optional_count(wrapper, "total")
        end = self.page * self.per_page + len(items)
        if total is not None and end > total:
            raise ProtocolError(f"page ends at {end}, beyond total={total}")
        done = len(items) < self.per_page
        if total is not None and done and end < total:
            raise ProtocolError(f"short page ends at {end} but total={total}: listing cut short")
        id_key = "id" if kind in ("client_grants", "tenant_connections") else "connection_id"
        ids = [str(item[id_key]) for item in items]
        if len(set(ids)) != len(ids) or self._seen_ids & set(ids):
            what = "connections" if self.key == "enabled_connections" else self.key
            raise ProtocolError(f"{what} page {self.page} repeats a {id_key}")
        self._seen_ids.update(ids)
        self.page += 1
        self.finished = done
        return items
