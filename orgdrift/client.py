"""The async Management API client: the thin I/O adapter around `orgdrift.sansio`.

The caller injects the `httpx.AsyncClient` (and so its transport: a real connection pool,
`httpx.ASGITransport` for the in-process emulator, `httpx.MockTransport` in tests) and owns its
lifetime. Every request goes through one `Pacer` (concurrency, `--max-rps`, adaptive rates),
is retried per the sans-I/O policy with a bounded number of attempts, and either returns whole
data or raises a typed error from `orgdrift.errors`: never partial data as if it were whole.
"""

from __future__ import annotations

import asyncio
import itertools
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
    Credentials,
    RawResponse,
    Secret,
    check_required_scopes,
    provider_for,
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
    ORGANIZATIONS_PAGE_SIZE,
    BodyDecodeError,
    CheckpointPager,
    HostileBodyError,
    OffsetPager,
    Redactor,
    check_organization,
    decode_offset_page,
    error_from_response,
    is_api_not_found,
    parse_json,
    retry_delay,
    should_retry,
    status_text,
)

MAX_BODY_RETRIES = 2
"""A 200 whose body is not JSON (usually truncated) is retried at most this many times."""

API_PREFIX = "/api/v2"


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


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    data: object  # decoded JSON for a 200 when JSON was expected, else None
    attempts: int


@dataclass(slots=True)
class _Request:
    """One logical request while it is being sent (its attempts, and what the last one got),
    so that a run cut off by its time limit can say which requests were not read."""

    method: str
    path: str
    params: Mapping[str, str] | None
    group: str
    json_body: Mapping[str, str] | None
    since: float
    attempts: int = 0
    last: str | None = None  # what the last attempt got: "HTTP 429 Too Many Requests", ...
    waiting: float | None = None  # seconds of the wait before the next retry, while waiting

    @property
    def shown(self) -> str:
        return _shown(self.path, self.params)

    def describe(self) -> str:
        tried = "not sent yet" if self.attempts == 0 else f"attempt {self.attempts}"
        if self.last is not None:
            tried += f", last answer: {self.last}"
        elif self.attempts:
            tried += ", no answer yet"
        if self.waiting is not None:
            tried += f", during the {self.waiting:.1f} s wait before its retry"
        return f"{self.method} {self.shown} ({tried})"


class _Transient(Exception):
    """An attempt that failed in a retryable way without a usable response."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


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
        self._base_url = base_url  # normalised and checked once, by `reads.Tenant.base_url`
        self._credentials = credentials
        self._options = options if options is not None else ClientOptions()
        if self._options.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._sleep = sleep
        self._clock = clock
        self._wall = wall_clock
        self._rng = rng if rng is not None else random.Random()
        self._on_event = on_event
        self._pacer = pacer or Pacer(
            concurrency=self._options.concurrency,
            max_rps=self._options.max_rps,
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
        )
        self.redact = Redactor(credentials.secrets())
        self._tokens = provider_for(
            credentials, self._post_token, clock=clock, redactor=self.redact
        )
        self._requests = 0
        self._retries = 0
        self._rate_limited = 0
        self._scopes_required: tuple[str, ...] = ()
        self._scopes_granted: tuple[str, ...] | None = None
        self._first_start: float | None = None
        self._last_end: float | None = None
        self._pending: dict[int, _Request] = {}
        self._pending_ids = itertools.count()
        self._cut_off: list[str] | None = None

    # --- public API ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    def unfinished(self) -> list[str]:
        """The requests unfinished when the run was first cut off (time limit, cancellation),
        or else those unfinished now; oldest first, for a message saying what was not read."""
        if self._cut_off is not None:
            return list(self._cut_off)
        pending = sorted(self._pending.values(), key=lambda p: p.since)
        return [self.redact(p.describe()) for p in pending]

    @property
    def stats(self) -> Stats:
        """Requests sent (retries and token requests included), retries, 429s, busy seconds."""
        seconds = 0.0
        if self._first_start is not None and self._last_end is not None:
            seconds = max(self._last_end - self._first_start, 0.0)
        return Stats(
            requests=self._requests,
            retries=self._retries,
            rate_limited=self._rate_limited,
            seconds=seconds,
            scopes_required=self._scopes_required,
            scopes_granted=self._scopes_granted,
        )

    async def check_scopes(self, extra: tuple[str, ...] = ()) -> None:
        """Fail before any API request when the token's scopes are known and one is missing.

        For client credentials this runs the grant (the token response lists its scopes).
        An opaque token with unknown scopes passes; the API's 403 will then tell.
        """
        granted = await self._tokens.scopes()
        self._scopes_required = required_scopes(extra)
        self._scopes_granted = None if granted is None else tuple(sorted(granted))
        check_required_scopes(granted, extra)

    async def get_organization(self, org_id: str) -> RawObject | None:
        """`GET /organizations/{id}`; None when the API says it does not exist (its JSON 404)."""
        path = f"/organizations/{quote(org_id, safe='')}"
        data = await self._get_json(path, None, "organization_by_id", none_on_404=True)
        with _naming(path, None):
            return None if data is None else _organization(data, "id", org_id)

    async def get_organization_by_name(self, name: str) -> RawObject | None:
        """`GET /organizations/name/{name}`; None when the API says no such name (its JSON 404)."""
        path = f"/organizations/name/{quote(name, safe='')}"
        data = await self._get_json(path, None, "organization_by_name", none_on_404=True)
        with _naming(path, None):
            return None if data is None else _organization(data, "name", name)

    async def list_organizations(self) -> list[RawObject]:
        """Every organization, 100 per request, by checkpoint (`take`/`from`): no 1000 ceiling."""
        return await self._collect("/organizations", "organizations", CheckpointPager())

    async def organization_page(
        self, page: int, per_page: int = ORGANIZATIONS_PAGE_SIZE
    ) -> tuple[list[RawObject], int]:
        """One offset page `GET /organizations?page=&per_page=&include_totals=true`: (items, total).

        Offset paging stops at 1000 records (Auth0 answers 400 invalid_paging beyond); use
        `list_organizations` for whole listings.
        """
        params = {"page": str(page), "per_page": str(per_page), "include_totals": "true"}
        data = await self._get_json("/organizations", params, "organizations")
        with _naming("/organizations", params):
            return decode_offset_page(data, page, per_page)

    async def list_enabled_connections(self, org_id: str) -> list[RawObject]:
        """Every enabled connection of `org_id`, verbatim, 100 per request.

        Stops at a short or empty page (never on `total` alone). An unknown organization raises
        NotFoundError.
        """
        path = f"/organizations/{quote(org_id, safe='')}/enabled_connections"
        return await self._collect(path, "enabled_connections", OffsetPager())

    # --- the tenant log (incremental audits) -------------------------------------------------

    async def granted_scopes(self) -> frozenset[str] | None:
        """The token's scopes when known (a JWT or a client-credentials grant), else None."""
        return await self._tokens.scopes()

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
            params = {"from": last, "take": "100"}
            data = await self._get_json("/logs", params, "logs")
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

    # --- the rest of the organization model ----------------------------------------------------

    async def list_organization_connections(self, org_id: str) -> list[RawObject]:
        """Every connection associated with `org_id` through the Early Access endpoint
        `GET /organizations/{id}/connections` (with `is_enabled`, `organization_access_level`,
        `organization_connection_name`), 100 per request, to a short page.

        A tenant without the feature answers 403 (not a scope error) or 404 (inferred: Auth0
        does not document it): FeatureUnavailableError naming the feature (exit 3).
        """
        path = f"/organizations/{quote(org_id, safe='')}/connections"
        pager = OffsetPager(key="connections")
        try:
            return await self._collect(path, "organization_connections", pager)
        except ApiError as exc:
            raise _feature_error(exc, CONNECTION_VIEW_FEATURE) from None

    async def list_organization_client_grants(self, org_id: str) -> list[RawObject]:
        """Every client grant associated with `org_id` (`GET /organizations/{id}/client-grants`),
        100 per request, to a short page."""
        path = f"/organizations/{quote(org_id, safe='')}/client-grants"
        return await self._collect(
            path, "organization_client_grants", OffsetPager(key="client_grants")
        )

    async def list_organization_discovery_domains(self, org_id: str) -> list[RawObject]:
        """Every discovery domain of `org_id` (`GET /organizations/{id}/discovery-domains`), by
        checkpoint (`take=100`, `from=next`) until a page without `next`."""
        path = f"/organizations/{quote(org_id, safe='')}/discovery-domains"
        pager = CheckpointPager(key="domains")
        return await self._collect(path, "organization_discovery_domains", pager)

    # --- plumbing -----------------------------------------------------------------------------

    async def _collect(
        self, path: str, group: str, pager: CheckpointPager | OffsetPager
    ) -> list[RawObject]:
        """Every item of a paged listing: the pager says what to ask next and checks each page."""
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
        """The decoded JSON of a 200; None for the API's own 404 when `none_on_404`.

        A 404 that is not the API's JSON error (an HTML or empty page from a proxy) proves
        nothing, so it is an error like any other.
        """
        shown = _shown(API_PREFIX + path, params)
        reply = await self._send("GET", API_PREFIX + path, params, group, authorize=True)
        if reply.status == 200:
            return reply.data
        if reply.status == 404 and none_on_404 and is_api_not_found(reply.status, reply.body):
            return None
        error = error_from_response(
            reply.status,
            reply.body,
            method="GET",
            path=shown,
            secrets=self.redact,
            attempts=reply.attempts,
        )
        if isinstance(error, NotFoundError) and not is_api_not_found(reply.status, reply.body):
            error = NotFoundError(
                f"{error.api_message}, not the API's JSON error: not proof that it does not exist",
                status=404,
                method="GET",
                path=shown,
            )
        raise error

    async def _post_token(self, body: Mapping[str, str]) -> RawResponse:
        """The provider's POST /oauth/token, with the client's pacing and retries."""
        reply = await self._send(
            "POST", "/oauth/token", None, TOKEN_GROUP, authorize=False, json_body=body
        )
        if reply.status != 200 and should_retry(reply.status):
            raise error_from_response(
                reply.status,
                reply.body,
                method="POST",
                path="/oauth/token",
                secrets=self.redact,
                attempts=reply.attempts,
            )
        return RawResponse(reply.status, reply.body)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        group: str,
        *,
        authorize: bool,
        json_body: Mapping[str, str] | None = None,
    ) -> _Reply:
        """One request with retries: the final reply, or a typed error once transients run out.

        While it runs it is registered, so that a run cut off by its time limit (or a signal)
        can say which requests were not read. Every error leaving here is redacted.
        """
        key = next(self._pending_ids)
        request = self._pending[key] = _Request(
            method, path, params, group, json_body, since=self._clock()
        )
        try:
            return await self._send_with_retries(request, authorize=authorize)
        except asyncio.CancelledError:
            if self._cut_off is None:  # the first request cancelled sees all still pending
                self._cut_off = self.unfinished()
            raise
        except OrgdriftError as exc:
            raise self.redact.scrub(exc) from None
        finally:
            del self._pending[key]

    async def _send_with_retries(self, request: _Request, *, authorize: bool) -> _Reply:
        """Retried: transport errors, 408/429/5xx, and (at most MAX_BODY_RETRIES times) a GET
        answered 200 with a body that is not JSON. A 401 with a client-credentials token fetches
        a new token once, without spending an attempt. Waits follow `sansio.retry_delay`."""
        where = f"{request.method} {request.shown}"
        spent = 0  # attempts counted against max_attempts
        refreshed = False
        body_failures = 0
        while True:
            spent += 1
            token = await self._tokens.token() if authorize else None
            try:
                reply = await self._attempt(request, token, request.attempts + 1)
            except _Transient as transient:
                error = transient.error
                if isinstance(error, BodyDecodeError):
                    request.last = "a body that is not JSON"
                    body_failures += 1
                    if body_failures > MAX_BODY_RETRIES or spent >= self._options.max_attempts:
                        raise ProtocolError(f"{where}: {error.message}") from None
                else:
                    request.last = f"no response ({type(error).__name__})"
                    if spent >= self._options.max_attempts:
                        reason = _error_summary(error, self.redact)
                        raise TransportError(
                            f"{where}: no response after {spent} attempts ({reason})"
                        ) from None
                delay = retry_delay(spent - 1, {}, self._wall(), self._rng, status=None)
                await self._wait(request, delay)
                continue
            status = reply.status
            request.last = status_text(status)
            if status == 401 and token is not None and self._tokens.refreshable and not refreshed:
                refreshed = True
                spent -= 1
                self._tokens.invalidate(token)
                continue
            if not should_retry(status) or spent >= self._options.max_attempts:
                return reply
            delay = retry_delay(spent - 1, reply.headers, self._wall(), self._rng, status=status)
            await self._wait(request, delay)

    async def _attempt(self, request: _Request, token: Secret | None, attempt: int) -> _Reply:
        """One HTTP exchange inside a pacer slot; raises _Transient for retryable failures.

        The body is streamed and refused past MAX_BODY_BYTES once decompressed, so a
        compression bomb or an endless body costs at most that much memory.
        """
        method, shown = request.method, request.shown
        url = self._base_url + shown
        headers = {"Accept": "application/json", "User-Agent": f"orgdrift/{__version__}"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        json_body = dict(request.json_body) if request.json_body is not None else None
        outgoing = self._http.build_request(
            method, url, headers=headers, json=json_body, timeout=self._options.request_timeout
        )
        async with self._pacer.slot(request.group) as permit:
            request.attempts = attempt
            started = self._begin(attempt)
            try:
                response = await self._http.send(outgoing, stream=True, follow_redirects=False)
                try:
                    body = await _read_capped(response)
                finally:
                    await response.aclose()
            except (httpx.TransportError, httpx.DecodingError) as exc:
                self._pacer.record(permit, None, {})
                self._finish(method, shown, None, attempt, started, type(exc).__name__)
                refused = _certificate_error(exc)
                if refused is not None:  # not transient: retrying cannot make it trusted
                    raise TransportError(
                        f"{method} {shown}: TLS certificate verification failed for "
                        f"{httpx.URL(url).host}: {refused}. If a proxy re-signs TLS traffic, "
                        "set SSL_CERT_FILE to a bundle that includes its CA"
                    ) from None
                raise _Transient(exc) from None
            except HostileBodyError as exc:
                self._pacer.record(permit, response.status_code, response.headers)
                status = response.status_code
                self._finish(method, shown, status, attempt, started, "body too large")
                raise ProtocolError(f"{method} {shown}: {exc.message}") from None
            self._pacer.record(permit, response.status_code, response.headers)
        status = response.status_code
        if status == 429:
            self._rate_limited += 1
        data: object = None
        if status == 200 and method == "GET":
            if self.redact.echoed_in(body):
                self._finish(method, shown, status, attempt, started, "credential in body")
                raise ProtocolError(
                    f"{method} {shown}: the response carries a credential orgdrift sent; "
                    "refusing to use it"
                )
            try:
                data = parse_json(body)
            except BodyDecodeError as exc:
                self._finish(method, shown, status, attempt, started, "invalid JSON body")
                raise _Transient(exc) from None
            except ProtocolError as exc:
                self._finish(method, shown, status, attempt, started, "refused body")
                raise ProtocolError(f"{method} {shown}: {exc.message}") from None
        self._finish(
            method, shown, status, attempt, started, None if status < 400 else status_text(status)
        )
        return _Reply(status, response.headers, body, data, attempt)

    def _begin(self, attempt: int) -> float:
        started = self._clock()
        self._requests += 1
        if attempt > 1:
            self._retries += 1
        if self._first_start is None:
            self._first_start = started
        return started

    async def _wait(self, request: _Request, delay: float) -> None:
        request.waiting = delay  # left set when cut off, for the message
        await self._sleep(delay)
        request.waiting = None

    def _finish(
        self,
        method: str,
        shown: str,
        status: int | None,
        attempt: int,
        started: float,
        error: str | None,
    ) -> None:
        end = self._clock()
        self._last_end = end if self._last_end is None else max(self._last_end, end)
        if self._on_event is not None:
            event = RequestEvent(method, self.redact(shown), status, attempt, end - started, error)
            self._on_event(event)


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
    length = _parse_length(response.headers.get("content-length"))
    encoded = "content-encoding" in response.headers
    if length is not None and length > MAX_BODY_BYTES and not encoded:
        raise HostileBodyError(f"response body is larger than {MAX_BODY_BYTES // 2**20} MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HostileBodyError(
                f"response body is larger than {MAX_BODY_BYTES // 2**20} MiB once decompressed"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_length(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() and len(text) < 20 else None


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
        raise ProtocolError(f"GET {_shown(API_PREFIX + path, params)}: {exc.message}") from None


def _shown(path: str, params: Mapping[str, str] | None) -> str:
    return path + (f"?{urlencode(params)}" if params else "")


def _organization(data: object, key: str, wanted: str) -> RawObject:
    """A looked-up organization: an object with string `id` and `name`, the one asked for."""
    if not isinstance(data, dict):
        got = type(data).__name__
        raise ProtocolError(f"expected the organization as a JSON object, got {got}")
    check_organization(data, f"lookup of {wanted}")
    if data[key] != wanted:
        raise ProtocolError(f"lookup of organization {key} {wanted} answered another organization")
    return data


CONNECTION_VIEW_FEATURE = (
    "the Early Access endpoint GET /organizations/{id}/connections (organization connections "
    "with organization_access_level, is_enabled and organization_connection_name)"
)


def _feature_error(exc: ApiError, feature: str) -> ApiError:
    """A 404, or a 403 that is not about scopes or the token, from an endpoint a tenant has only
    with a feature enabled: FeatureUnavailableError naming the feature. Others stay as they are."""
    refused = exc.status == 403 and not isinstance(
        exc, InsufficientScopeError | AuthenticationError
    )
    if not (refused or isinstance(exc, NotFoundError)):
        return exc
    error = FeatureUnavailableError(
        exc.api_message,
        status=exc.status,
        error_code=exc.error_code,
        method=exc.method,
        path=exc.path,
    )
    message = (
        f"the tenant does not offer {feature}, which reading those fields needs "
        f"({exc.method} {exc.path} answered HTTP {exc.status}: {exc.api_message}). Enable the "
        "feature for the tenant, or remove those fields from the spec (export: --without "
        "connection-access)"
    )
    error.message = message
    error.args = (message,)
    return error
