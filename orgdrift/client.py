"""The async Management API client: the thin I/O adapter around `orgdrift.sansio`.

The caller injects the `httpx.AsyncClient` (and so its transport: a real connection pool,
`httpx.ASGITransport` for the in-process emulator, `httpx.MockTransport` in tests) and owns its
lifetime. Every request goes through one `Pacer` (concurrency, `--max-rps`, adaptive rates),
is retried per the sans-I/O policy with a bounded number of attempts, and either returns whole
data or raises a typed error from `orgdrift.errors`: never partial data as if it were whole.
"""

from __future__ import annotations

import asyncio
import math
import random
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import httpx

from orgdrift import __version__
from orgdrift.auth import (
    ClientCredentialsProvider,
    Credentials,
    RawResponse,
    Secret,
    StaticTokenProvider,
    check_required_scopes,
    required_scopes,
)
from orgdrift.errors import (
    ApiError,
    AuthenticationError,
    FeatureUnavailableError,
    InsufficientScopeError,
    NotFoundError,
    OrgdriftError,
    ProtocolError,
    TransportError,
)
from orgdrift.models import RawObject, Stats
from orgdrift.pacing import TOKEN_GROUP, Pacer, Sleep
from orgdrift.sansio import (
    MAX_BODY_BYTES,
    PAGE,
    BodyDecodeError,
    CheckpointPager,
    HostileBodyError,
    OffsetPager,
    Redactor,
    decode_offset_page,
    decode_organization,
    error_from_response,
    is_api_not_found,
    parse_json,
    part_unavailable,
    retry_delay,
    should_retry,
    status_text,
)

MAX_BODY_RETRIES = 2
"""A 200 whose body is not JSON (usually truncated) is retried at most this many times."""

API_PREFIX = "/api/v2"

_TRANSIENT = (httpx.TransportError, httpx.DecodingError, BodyDecodeError)
"""An attempt that failed in a retryable way without a usable response."""


_LISTINGS: Mapping[str, tuple[str, str, type[OffsetPager | CheckpointPager], str]] = {
    "connections": (
        "/enabled_connections",
        "enabled_connections",
        OffsetPager,
        "enabled_connections",
    ),
    # Early Access: connections with is_enabled, organization_access_level and
    # organization_connection_name
    "connection_view": ("/connections", "organization_connections", OffsetPager, "connections"),
    "client_grants": ("/client-grants", "organization_client_grants", OffsetPager, "client_grants"),
    "discovery_domains": (
        "/discovery-domains",
        "organization_discovery_domains",
        CheckpointPager,
        "domains",
    ),
}
"""Each part of an organization (named as in `LiveOrganization`): the path under the
organization, its pacing group, its pager, and the key of its list."""


@dataclass(frozen=True)
class ClientOptions:
    concurrency: int = 8
    max_rps: float | None = None
    max_attempts: int = 5  # attempts per request, the first one included
    request_timeout: float = 30.0  # seconds, for each attempt


@dataclass(frozen=True)
class RequestEvent:
    """One HTTP attempt, for `-v` logs and progress. Never contains credentials."""

    method: str
    path: str  # with the query string, e.g. /api/v2/organizations?take=100
    status: int | None  # None: no response (transport error)
    attempt: int  # 1 for the first try of a request
    seconds: float
    error: str | None  # short reason when the attempt failed


@dataclass(slots=True, eq=False)
class _Request:
    """One logical request while it is being sent (its attempts, and what the last one got),
    so that a run cut off by its time limit can say which requests were not read."""

    method: str
    shown: str  # the path with its query string
    group: str
    json_body: Mapping[str, str] | None
    since: float
    attempts: int = 0
    last: str | None = None  # what the last attempt got: "HTTP 429 Too Many Requests", ...
    waiting: float | None = None  # seconds of the wait before the next retry, while waiting

    def describe(self) -> str:
        tried = "not sent yet" if self.attempts == 0 else f"attempt {self.attempts}"
        if self.last is not None:
            tried += f", last answer: {self.last}"
        elif self.attempts:
            tried += ", no answer yet"
        if self.waiting is not None:
            tried += f", during the {self.waiting:.1f} s wait before its retry"
        return f"{self.method} {self.shown} ({tried})"


@dataclass(frozen=True, slots=True)
class _Reply:
    request: _Request
    status: int
    headers: httpx.Headers
    body: bytes
    data: object  # decoded JSON for a 200 when JSON was expected, else None


class ManagementClient:
    """Reads organizations and their enabled connections from the Management API v2."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        options: ClientOptions | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_event: Callable[[RequestEvent], None] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self._http = http
        self.base_url = base_url  # normalised and checked once, by `reads.Tenant.base_url`
        self._options = options if options is not None else ClientOptions()
        if self._options.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._sleep = sleep
        self._clock = clock
        self._wall = wall_clock
        self._rng = rng if rng is not None else random.Random()
        self._on_event = on_event
        self.pacer = pacer or Pacer(
            concurrency=self._options.concurrency,
            max_rps=self._options.max_rps,
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
        )
        self.redact = Redactor(credentials.secrets())
        # Issued tokens are registered with the redactor.
        self._tokens: StaticTokenProvider | ClientCredentialsProvider = (
            StaticTokenProvider(credentials.token)
            if credentials.token is not None
            else ClientCredentialsProvider(
                credentials, self._post_token, clock=clock, redactor=self.redact
            )
        )
        self._requests = 0
        self._retries = 0
        self._rate_limited = 0
        self._scopes_required: tuple[str, ...] = ()
        self._scopes_granted: tuple[str, ...] | None = None
        self._first_start: float | None = None
        self._last_end = -math.inf
        self._pending: dict[_Request, None] = {}  # a set in the order the requests began
        self._cut_off: list[str] | None = None

    # --- public API ---------------------------------------------------------------------------

    def unfinished(self) -> list[str]:
        """The requests unfinished when the run was first cut off (time limit, cancellation),
        or else those unfinished now; oldest first, for a message saying what was not read."""
        if self._cut_off is not None:
            return list(self._cut_off)
        pending = sorted(self._pending, key=lambda p: p.since)
        return [self.redact(p.describe()) for p in pending]

    @property
    def stats(self) -> Stats:
        """Requests sent (retries and token requests included), retries, 429s, busy seconds."""
        first = self._first_start
        seconds = 0.0 if first is None else max(self._last_end - first, 0.0)
        return Stats(
            requests=self._requests,
            retries=self._retries,
            rate_limited=self._rate_limited,
            seconds=seconds,
            scopes_required=self._scopes_required,
            scopes_granted=self._scopes_granted,
        )

    async def check_scopes(self, extra: tuple[str, ...] = ()) -> None:
        """Fail before any API request when the token's scopes are known and one is missing (for
        client credentials this runs the grant); an opaque token passes, the API's 403 will tell."""
        granted = await self._tokens.scopes()
        self._scopes_required = required_scopes(extra)
        self._scopes_granted = None if granted is None else tuple(sorted(granted))
        check_required_scopes(granted, extra)

    async def granted_scopes(self) -> frozenset[str] | None:
        """The token's scopes when known (a JWT or a client-credentials grant), else None."""
        return await self._tokens.scopes()

    async def get_organization(self, org_id: str) -> RawObject | None:
        """`GET /organizations/{id}`; None when the API says it does not exist (its JSON 404)."""
        return await self._lookup(_org_path(org_id), "organization_by_id", "id", org_id)

    async def get_organization_by_name(self, name: str) -> RawObject | None:
        """`GET /organizations/name/{name}`; None when the API says no such name (its JSON 404)."""
        path = f"/organizations/name/{quote(name, safe='')}"
        return await self._lookup(path, "organization_by_name", "name", name)

    async def list_organizations(self) -> list[RawObject]:
        """Every organization, 100 per request, by checkpoint (`take`/`from`): no 1000 ceiling."""
        return await self._collect("/organizations", "organizations", CheckpointPager())

    async def organization_page(
        self, page: int, per_page: int = PAGE
    ) -> tuple[list[RawObject], int]:
        """One offset page of organizations: (items, total). Offset paging stops at 1000 records
        (Auth0 answers 400 invalid_paging beyond); `list_organizations` reads whole listings."""
        params = {"page": str(page), "per_page": str(per_page), "include_totals": "true"}
        data = await self._get_json("/organizations", params, "organizations")
        with _naming("/organizations", params):
            return decode_offset_page(data, page, per_page)

    async def list_part(self, part: str, org_id: str) -> list[RawObject]:
        """Every item of one part of `org_id` (`_LISTINGS`), verbatim, 100 per request, to a short
        or empty offset page (never on `total` alone) or a checkpoint page without `next`. An
        unknown organization raises NotFoundError."""
        suffix, group, pager, key = _LISTINGS[part]
        try:
            return await self._collect(_org_path(org_id, suffix), group, pager(key=key))
        except ApiError as exc:
            if part != "connection_view":
                raise
            raise _feature_error(exc) from None

    async def list_connection_names(self) -> frozenset[str]:
        """The name of every connection of the tenant (`GET /connections`: `read:connections`)."""
        pager = OffsetPager(key="connections", items_of="tenant_connections")
        items = await self._collect("/connections", "connections", pager)
        return frozenset(str(item["name"]) for item in items)

    # --- the tenant log (incremental audits) -------------------------------------------------

    async def newest_log_id(self) -> str | None:
        """The newest log id the tenant shows (None: an empty log). Search mode sorts by date,
        and log_id order is not date order, so the highest id of the ten newest by date is
        taken: an id at most as new as the real newest, so the next read sees at least
        everything after it."""
        params = {"sort": "date:-1", "per_page": "10", "page": "0"}
        data = await self._get_json("/logs", params, "logs")
        if not isinstance(data, list):
            raise ProtocolError("GET /api/v2/logs answered something other than a list")
        ids = [e.get("log_id") for e in data if isinstance(e, dict)]
        if any(not isinstance(i, str) or not i for i in ids) or len(ids) != len(data):
            raise ProtocolError("GET /api/v2/logs answered an entry without a log_id")
        return max((str(i) for i in ids), default=None)

    async def log_retained(self, log_id: str) -> bool:
        """`GET /logs/{id}`: whether the tenant still has that entry (its JSON 404: no)."""
        path = f"/logs/{quote(log_id, safe='')}"
        return await self._get_json(path, None, "log_by_id", none_on_404=True) is not None

    async def iter_log_pages(self, checkpoint: str) -> AsyncIterator[list[RawObject]]:
        """The entries after `checkpoint`, 100 per request (checkpoint mode, log_id order),
        until an empty page. Ids must ascend past the checkpoint: anything else would loop or
        skip, so it is a ProtocolError."""
        last = checkpoint
        while True:
            data = await self._get_json("/logs", {"from": last, "take": "100"}, "logs")
            if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
                raise ProtocolError("GET /api/v2/logs answered something other than a list")
            if not data:
                return
            for entry in data:
                log_id = entry.get("log_id")
                if not isinstance(log_id, str) or (len(log_id), log_id) <= (len(last), last):
                    raise ProtocolError(
                        f"GET /api/v2/logs?from={last} answered log id {log_id!r}, not newer"
                    )
                last = log_id
            yield data

    # --- plumbing -----------------------------------------------------------------------------

    async def _lookup(self, path: str, group: str, key: str, wanted: str) -> RawObject | None:
        data = await self._get_json(path, None, group, none_on_404=True)
        with _naming(path, None):
            return None if data is None else decode_organization(data, key, wanted)

    async def _collect(
        self, path: str, group: str, pager: CheckpointPager | OffsetPager
    ) -> list[RawObject]:
        items: list[RawObject] = []
        while (params := pager.params()) is not None:
            data = await self._get_json(path, params, group)
            with _naming(path, params):
                items.extend(pager.feed(data))
        return items

    async def _get_json(
        self,
        path: str,
        params: Mapping[str, str] | None,
        group: str,
        *,
        none_on_404: bool = False,
    ) -> object:
        """The decoded JSON of a 200; None for the API's own 404 when `none_on_404`. A 404 that is
        not the API's JSON error (an HTML or empty page from a proxy) proves nothing."""
        shown = _shown(path, params)
        reply = await self._send("GET", shown, group, authorize=True)
        if reply.status == 200:
            return reply.data
        api_not_found = is_api_not_found(reply.status, reply.body)
        if none_on_404 and api_not_found:
            return None
        error = self._error(reply)
        if isinstance(error, NotFoundError) and not api_not_found:
            error = NotFoundError(
                f"{error.api_message}, not the API's JSON error: not proof that it does not exist",
                status=404,
                method="GET",
                path=shown,
            )
        raise error

    async def _post_token(self, body: Mapping[str, str]) -> RawResponse:
        reply = await self._send(
            "POST", "/oauth/token", TOKEN_GROUP, authorize=False, json_body=body
        )
        if reply.status != 200 and should_retry(reply.status):
            raise self._error(reply)
        return RawResponse(reply.status, reply.body)

    def _error(self, reply: _Reply) -> ApiError:
        request = reply.request
        return error_from_response(
            reply.status,
            reply.body,
            method=request.method,
            path=request.shown,
            secrets=self.redact,
            attempts=request.attempts,
        )

    async def _send(
        self,
        method: str,
        shown: str,
        group: str,
        *,
        authorize: bool,
        json_body: Mapping[str, str] | None = None,
    ) -> _Reply:
        """One request with retries: the final reply, or a typed error once transients run out.
        Registered while it runs, so that a run cut off by its time limit (or a signal) can say
        which requests were not read. Every error leaving here is redacted."""
        request = _Request(method, shown, group, json_body, self._clock())
        self._pending[request] = None
        try:
            return await self._send_with_retries(request, authorize=authorize)
        except asyncio.CancelledError:
            if self._cut_off is None:  # the first request cancelled sees all still pending
                self._cut_off = self.unfinished()
            raise
        except OrgdriftError as exc:
            raise self.redact.scrub(exc) from None
        finally:
            del self._pending[request]

    async def _send_with_retries(self, request: _Request, *, authorize: bool) -> _Reply:
        """Retried: transport errors, 408/429/5xx, and (at most MAX_BODY_RETRIES times) a GET
        answered 200 with a body that is not JSON. A 401 with a client-credentials token fetches
        a new token once, without spending an attempt. Waits follow `sansio.retry_delay`."""
        spent = 0  # attempts counted against max_attempts
        refreshed = False
        body_failures = 0
        while True:
            spent += 1
            token = await self._tokens.token() if authorize else None
            try:
                reply = await self._attempt(request, token)
            except _TRANSIENT as error:
                body_failures += isinstance(error, BodyDecodeError)
                self._give_up(request, error, spent, body_failures)
                status: int | None = None
                headers: Mapping[str, str] = {}
            else:
                status, headers = reply.status, reply.headers
                request.last = status_text(status)
                if (
                    status == 401
                    and token is not None
                    and self._tokens.refreshable
                    and not refreshed
                ):
                    refreshed = True
                    spent -= 1
                    self._tokens.invalidate(token)
                    continue
                if not should_retry(status) or spent >= self._options.max_attempts:
                    return reply
            delay = retry_delay(spent - 1, headers, self._wall(), self._rng, status=status)
            request.waiting = delay  # left set when cut off, for the message
            await self._sleep(delay)
            request.waiting = None

    def _give_up(self, request: _Request, error: Exception, spent: int, body_failures: int) -> None:
        """Raise the request's final error when a transient failure is not to be retried."""
        where = f"{request.method} {request.shown}"
        last_try = spent >= self._options.max_attempts
        if isinstance(error, BodyDecodeError):
            request.last = "a body that is not JSON"
            if body_failures > MAX_BODY_RETRIES or last_try:
                raise ProtocolError(f"{where}: {error.message}") from None
            return
        request.last = f"no response ({type(error).__name__})"
        # A loopback address (the emulator) that refuses a connection answers at once and will
        # not start listening during a back-off: retrying only delays the message.
        refused = self.base_url.startswith("http://") and isinstance(error, httpx.ConnectError)
        if not (refused or last_try):
            return
        host = httpx.URL(self.base_url).netloc.decode("ascii")
        reason = _error_summary(error, self.redact)
        if refused:
            raise TransportError(
                f"{where}: could not connect to {host} ({reason}); nothing listens there: start "
                "the emulator (`orgdrift emulator`) or check --domain / AUTH0_DOMAIN"
            ) from None
        waited = self._clock() - request.since
        raise TransportError(
            f"{where}: no response from {host} after {spent} attempts over {waited:.1f} s "
            f"({reason})"
        ) from None

    async def _attempt(self, request: _Request, token: Secret | None) -> _Reply:
        """One HTTP exchange inside a pacer slot; a `_TRANSIENT` error is to be retried. The body
        is streamed and refused past MAX_BODY_BYTES once decompressed, so a compression bomb or
        an endless body costs at most that much memory."""
        where = f"{request.method} {request.shown}"
        headers = {"Accept": "application/json", "User-Agent": f"orgdrift/{__version__}"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        outgoing = self._http.build_request(
            request.method,
            self.base_url + request.shown,
            headers=headers,
            json=None if request.json_body is None else dict(request.json_body),
            timeout=self._options.request_timeout,
        )
        async with self.pacer.slot(request.group) as permit:
            request.attempts += 1
            started = self._clock()
            self._requests += 1
            self._retries += request.attempts > 1
            if self._first_start is None:
                self._first_start = started
            try:
                response = await self._http.send(outgoing, stream=True, follow_redirects=False)
                try:
                    body = await _read_capped(response)
                finally:
                    await response.aclose()
            except (httpx.TransportError, httpx.DecodingError) as exc:
                self.pacer.record(permit, None, {})
                self._finish(request, None, started, type(exc).__name__)
                refused = _certificate_error(exc)
                if refused is not None:  # not transient: retrying cannot make it trusted
                    raise TransportError(
                        f"{where}: TLS certificate verification failed for "
                        f"{outgoing.url.host}: {refused}. If a proxy re-signs TLS traffic, "
                        "set SSL_CERT_FILE to a bundle that includes its CA"
                    ) from None
                raise
            except HostileBodyError as exc:
                self.pacer.record(permit, response.status_code, response.headers)
                self._finish(request, response.status_code, started, "body too large")
                raise ProtocolError(f"{where}: {exc.message}") from None
            self.pacer.record(permit, response.status_code, response.headers)
        status = response.status_code
        if status == 429:
            self._rate_limited += 1
        data = self._decode(request, status, body, started)
        self._finish(request, status, started, None if status < 400 else status_text(status))
        return _Reply(request, status, response.headers, body, data)

    def _decode(self, request: _Request, status: int, body: bytes, started: float) -> object:
        """The JSON of a 200 answering a GET (else None): refused when it echoes a credential."""
        if status != 200 or request.method != "GET":
            return None
        where = f"{request.method} {request.shown}"
        if self.redact.echoed_in(body):
            self._finish(request, status, started, "credential in body")
            raise ProtocolError(
                f"{where}: the response carries a credential orgdrift sent; refusing to use it"
            )
        try:
            return parse_json(body)
        except BodyDecodeError:
            self._finish(request, status, started, "invalid JSON body")
            raise
        except ProtocolError as exc:
            self._finish(request, status, started, "refused body")
            raise ProtocolError(f"{where}: {exc.message}") from None

    def _finish(
        self, request: _Request, status: int | None, started: float, error: str | None
    ) -> None:
        end = self._clock()
        self._last_end = max(self._last_end, end)
        if self._on_event is not None:
            shown = self.redact(request.shown)
            seconds = end - started
            self._on_event(
                RequestEvent(request.method, shown, status, request.attempts, seconds, error)
            )


def _certificate_error(exc: BaseException) -> str | None:
    """The reason when `exc` comes from a TLS certificate that failed verification."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return str(cause.verify_message or cause.reason or "certificate not trusted")
        cause = cause.__cause__ or cause.__context__
    return None


async def _read_capped(response: httpx.Response) -> bytes:
    """The decompressed body, or HostileBodyError once it grows past MAX_BODY_BYTES."""
    length = response.headers.get("content-length", "")
    encoded = "content-encoding" in response.headers
    if length.isdigit() and len(length) < 20 and int(length) > MAX_BODY_BYTES and not encoded:
        raise HostileBodyError(f"response body is larger than {MAX_BODY_BYTES // 2**20} MiB")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HostileBodyError(
                f"response body is larger than {MAX_BODY_BYTES // 2**20} MiB once decompressed"
            )
    return bytes(body)


def _error_summary(error: Exception, redact: Redactor) -> str:
    """`ConnectError: [Errno 111] Connection refused`: the type and a short message. The text may
    quote the server's bytes (`illegal header line: ...`): redacted before it is shortened, so
    no part of a credential survives the cut."""
    text = redact(" ".join(str(error).split()))[:160]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@contextmanager
def _naming(path: str, params: Mapping[str, str] | None) -> Iterator[None]:
    """A ProtocolError about a decoded body names the request that got it."""
    try:
        yield
    except ProtocolError as exc:
        raise ProtocolError(f"GET {_shown(path, params)}: {exc.message}") from None


def _shown(path: str, params: Mapping[str, str] | None) -> str:
    return API_PREFIX + path + (f"?{urlencode(params)}" if params else "")


def _org_path(org_id: str, suffix: str = "") -> str:
    return f"/organizations/{quote(org_id, safe='')}{suffix}"


def _feature_error(exc: ApiError) -> ApiError:
    """A 404 (inferred: Auth0 does not document it), or a 403 that is not about scopes or the
    token, from the Early Access endpoint GET /organizations/{id}/connections, which a tenant
    has only with the feature enabled: FeatureUnavailableError naming the feature (exit 3).
    Others stay as they are."""
    refused = exc.status == 403 and not isinstance(
        exc, InsufficientScopeError | AuthenticationError
    )
    if not (refused or isinstance(exc, NotFoundError) or part_unavailable(exc)):
        return exc
    error = FeatureUnavailableError(
        exc.api_message,
        status=exc.status,
        error_code=exc.error_code,
        method=exc.method,
        path=exc.path,
    )
    error.message = (
        "the tenant does not offer the Early Access endpoint GET /organizations/{id}/connections "
        "(organization connections with organization_access_level, is_enabled and "
        "organization_connection_name), which reading those fields needs "
        f"({exc.method} {exc.path} answered HTTP {exc.status}: {exc.api_message}). Enable the "
        "feature for the tenant, or remove those fields from the spec (export: --without "
        "connection-access)"
    )
    error.args = (error.message,)
    return error
