"""Where credentials come from, where they may go, and the Management API token.

`Secret` keeps a credential out of every repr, log line and message; `base_url_for` is the one
base URL a token may be sent to (https to any host, plain http only to loopback: the emulator
and tests); a client-credentials token is cached, refreshed 10 s before expiry and fetched once
for concurrent callers (node-auth0's token provider). No httpx here: the provider is handed a
`post` callable by the client (which owns retries).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from orgdrift.errors import AuthenticationError, InsufficientScopeError, ProtocolError, UsageError
from orgdrift.sansio import Redactor, parse_error_body, parse_json

REQUIRED_SCOPES: tuple[str, ...] = ("read:organizations", "read:organization_connections")
TOKEN_REFRESH_MARGIN = 10.0
"""A cached token is refreshed once it is within this many seconds of expiry."""

TOKEN_ENV_VARS: tuple[str, ...] = ("AUTH0_API_TOKEN", "AUTH0_ACCESS_TOKEN")
CLIENT_ID_VAR = "AUTH0_CLIENT_ID"
CLIENT_SECRET_VAR = "AUTH0_CLIENT_SECRET"
AUDIENCE_VAR = "AUTH0_AUDIENCE"


class Secret:
    """A credential that never shows itself (repr, str and format give `Secret('***')`); only
    `reveal()` returns it. Never equal to a str (so `secret == "x"` cannot leak through a
    comparison in a log); two Secrets compare in constant time."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(
            self._value.encode(), other._value.encode()
        )

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


# --- domains ---------------------------------------------------------------------------------

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _valid_hostname(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return all(_HOST_LABEL.match(label) for label in host.split("."))
    return True


def _domain_error(detail: str) -> UsageError:
    return UsageError(
        f"invalid Auth0 domain: {detail}. Expected a host such as tenant.eu.auth0.com, "
        "https://HOST, or http://127.0.0.1:PORT for a local emulator"
    )


def base_url_for(domain: str) -> str:
    """`tenant.eu.auth0.com`, a custom domain or `https://host[:port]` -> `https://host[:port]`.

    Plain `http://` is accepted only for loopback hosts (localhost, 127.0.0.0/8, [::1]), so a
    token is never sent in clear text over a network. Paths, queries, user information and
    anything unparseable raise UsageError (exit 2).
    """
    text = domain.strip()
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        port = parts.port
    except ValueError:
        raise _domain_error("it cannot be parsed as a host or URL") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    for wrong, detail in (
        (not text, "it is empty"),
        ("@" in parts.netloc, "it must not contain user information (user@...)"),
        (scheme not in ("http", "https"), f"scheme {scheme!r} is not supported"),
        (
            parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text,
            "it must be a host only, without a path or query",
        ),
        (not _valid_hostname(host), f"{host or text!r} is not a valid host name"),
        (
            scheme == "http" and not is_loopback(host),
            f"plain http is allowed only for loopback hosts, not {host!r}",
        ),
    ):
        if wrong:
            raise _domain_error(detail)
    shown = f"[{host}]" if ":" in host else host
    if port is not None and port != (443 if scheme == "https" else 80):
        shown += f":{port}"
    return f"{scheme}://{shown}"


def canonical_host(url_or_domain: str) -> str:
    """The lower-case `host[:port]` of a domain or base URL, for comparing two spellings
    (`Tenant.EU.auth0.com` and `https://tenant.eu.auth0.com:443/` are one); UsageError too."""
    return base_url_for(url_or_domain).split("://", 1)[1]


# --- credentials -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """Either a static Management API token or a client-credentials pair (never both)."""

    token: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    audience: str | None = None

    def secrets(self) -> tuple[str, ...]:
        """The raw secret values, for redaction only."""
        return tuple(s.reveal() for s in (self.token, self.client_secret) if s is not None)


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def credentials_from_env(env: Mapping[str, str], base_url: str) -> Credentials:
    """Read credentials from `env`; UsageError (naming variables, never values) when unusable."""
    for name in TOKEN_ENV_VARS:
        token = _env(env, name)
        if token is not None:
            return Credentials(token=Secret(token))
    client_id = _env(env, CLIENT_ID_VAR)
    client_secret = _env(env, CLIENT_SECRET_VAR)
    if client_id is not None and client_secret is not None:
        audience = _env(env, AUDIENCE_VAR) or f"{base_url.rstrip('/')}/api/v2/"
        return Credentials(
            client_id=client_id, client_secret=Secret(client_secret), audience=audience
        )
    if client_id is not None or client_secret is not None:
        missing = CLIENT_SECRET_VAR if client_secret is None else CLIENT_ID_VAR
        present = CLIENT_ID_VAR if client_secret is None else CLIENT_SECRET_VAR
        raise UsageError(f"{present} is set but {missing} is not: set both, or set AUTH0_API_TOKEN")
    raise UsageError(
        "no Auth0 credentials: set AUTH0_API_TOKEN (or AUTH0_ACCESS_TOKEN), "
        f"or {CLIENT_ID_VAR} and {CLIENT_SECRET_VAR} for the client-credentials grant"
    )


# --- scopes ------------------------------------------------------------------------------------


def jwt_claims(token: str) -> dict[str, object] | None:
    """The unverified payload of a JWT, or None when `token` is not a decodable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return claims if isinstance(claims, dict) else None


def _scope_set(value: object) -> frozenset[str] | None:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return frozenset(value)
    return None


def scopes_from_jwt(token: str) -> frozenset[str] | None:
    """Scopes of the `scope` claim (space-separated), or None when unknown."""
    claims = jwt_claims(token)
    return None if claims is None else _scope_set(claims.get("scope"))


def required_scopes(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The scopes a read needs: the usual ones, then those of `extra` not among them."""
    return REQUIRED_SCOPES + tuple(s for s in dict.fromkeys(extra) if s not in REQUIRED_SCOPES)


def check_required_scopes(scopes: frozenset[str] | None, extra: tuple[str, ...] = ()) -> None:
    """Raise InsufficientScopeError when `scopes` is known and lacks a required scope, or one
    of `extra` (the scopes of what the spec declares beyond organizations and connections)."""
    if scopes is None:
        return
    needed = required_scopes(extra)
    missing = tuple(s for s in needed if s not in scopes)
    if not missing:
        return
    message = (
        f"the Management API token lacks scope(s) {', '.join(missing)}; orgdrift needs "
        f"{', '.join(needed)} (granted: {', '.join(sorted(scopes)) or 'none'})"
    )
    error = InsufficientScopeError(message, status=403, error_code="insufficient_scope")
    # No request was made: show our own sentence rather than "HTTP 403 ...".
    error.message = message
    error.args = (message,)
    error.scopes_required, error.scopes_granted = needed, tuple(sorted(scopes))
    raise error


# --- token providers ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawResponse:
    """What a provider needs back from an HTTP exchange."""

    status: int
    body: bytes


TokenPost = Callable[[Mapping[str, str]], Awaitable[RawResponse]]
"""POSTs a JSON body to `{base_url}/oauth/token` (with the client's retries) and returns the reply."""


@dataclass(frozen=True, slots=True)
class StaticTokenProvider:
    """A token given in the environment; it cannot be refreshed."""

    _token: Secret
    refreshable: ClassVar[bool] = False

    async def token(self) -> Secret:
        return self._token

    def invalidate(self, token: Secret) -> None:
        """Nothing to do: a static token is all there is."""

    async def scopes(self) -> frozenset[str] | None:
        return scopes_from_jwt(self._token.reveal())


@dataclass(frozen=True, slots=True)
class _CachedToken:
    token: Secret
    expires_at: float
    scopes: frozenset[str] | None


class ClientCredentialsProvider:
    """The client-credentials grant with caching, early refresh and one fetch at a time."""

    def __init__(
        self,
        credentials: Credentials,
        post: TokenPost,
        *,
        clock: Callable[[], float] = time.monotonic,
        redactor: Redactor | None = None,
    ) -> None:
        if credentials.client_id is None or credentials.client_secret is None:
            raise ValueError("ClientCredentialsProvider needs a client id and secret")
        self._credentials = credentials
        self._post = post
        self._redact = redactor if redactor is not None else Redactor(credentials.secrets())
        self._clock = clock
        self._cached: _CachedToken | None = None
        self._lock = asyncio.Lock()

    refreshable = True

    def _fresh(self) -> _CachedToken | None:
        cached = self._cached
        fresh = cached is not None and self._clock() < cached.expires_at - TOKEN_REFRESH_MARGIN
        return cached if fresh else None

    async def _current(self) -> _CachedToken:
        cached = self._fresh()
        if cached is not None:
            return cached
        async with self._lock:
            cached = self._fresh()  # another task may have fetched it while we waited
            if cached is None:
                cached = await self._fetch()
                self._cached = cached
            return cached

    async def token(self) -> Secret:
        return (await self._current()).token

    async def scopes(self) -> frozenset[str] | None:
        return (await self._current()).scopes

    def invalidate(self, token: Secret) -> None:
        """Forget `token` (after a 401) unless a newer one has replaced it already."""
        if self._cached is not None and self._cached.token == token:
            self._cached = None

    async def _fetch(self) -> _CachedToken:
        creds = self._credentials
        started = self._clock()
        response = await self._post(
            {
                "grant_type": "client_credentials",
                "client_id": creds.client_id or "",
                "client_secret": creds.client_secret.reveal() if creds.client_secret else "",
                "audience": creds.audience or "",
            }
        )
        if response.status != 200:
            raise _token_error(response, creds, self._redact)
        return _parse_token_response(response.body, started, self._redact)


def _token_error(
    response: RawResponse, creds: Credentials, redact: Redactor
) -> AuthenticationError:
    """AuthenticationError carrying Auth0's error_description; every server text redacted."""
    parsed = parse_error_body(response.status, response.body)
    description = (
        parsed.message if parsed.json else "the token endpoint refused the client credentials"
    )
    code = parsed.error_code  # an OAuth body's `error`
    message = redact(
        f"client-credentials grant for client {creds.client_id} failed: {description}"
        f"{_audience_hint(response.status, description)}"
    )
    return AuthenticationError(
        message,
        status=response.status,
        error_code=None if code is None else redact(code),
        method="POST",
        path="/oauth/token",
    )


def _audience_hint(status: int, description: str) -> str:
    """A custom domain as AUTH0_DOMAIN: Auth0 refuses its audience: the
    audience is always the canonical `https://TENANT.REGION.auth0.com/api/v2/`
    (https://auth0.com/docs/customize/custom-domains/configure-features-to-use-custom-domains)."""
    if status != 403 or not description.startswith("Service not enabled within domain"):
        return ""
    return (
        f". With a custom domain, set {AUDIENCE_VAR} to the tenant's canonical Management API "
        "audience, https://TENANT.REGION.auth0.com/api/v2/ (Dashboard > Applications > APIs > "
        "Auth0 Management API > Identifier)"
    )


def _parse_token_response(body: bytes, started: float, redactor: Redactor) -> _CachedToken:
    """Read `{"access_token", "expires_in", "scope", "token_type"}` from the token endpoint; the
    token is registered with `redactor` before anything else is read, so no message can show it."""
    try:
        data = parse_json(body)
    except ProtocolError as exc:
        raise ProtocolError(f"token endpoint answered 200 with a refused body: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("token endpoint answered 200 without a JSON object")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise ProtocolError("token endpoint answered 200 without an access_token")
    redactor.add(token)
    expires_in = data.get("expires_in", 86400)
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not 0 < expires_in <= 10**9
    ):
        raise ProtocolError("token endpoint answered with an invalid expires_in")
    scopes = _scope_set(data.get("scope"))
    if scopes is None:
        scopes = scopes_from_jwt(token)
    return _CachedToken(Secret(token), started + float(expires_in), scopes)
