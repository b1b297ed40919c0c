"""Access tokens: the client-credentials grant and bearer-token checks, with Auth0's texts.

JWTs are HS256, signed with a per-app random key through the standard library (`hmac`), with
the claims of an Auth0 M2M token (auth0-api.md section 7). Pure functions: the caller passes
the time, the key and the expected audience.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orgdrift.emulator.config import EmulatorConfig

JSONObject = dict[str, Any]

MISSING_AUTHENTICATION = "Missing authentication"
BAD_HEADER_FORMAT = "Bad HTTP authentication header format"
INVALID_TOKEN = "Invalid token"
INVALID_SIGNATURE = "Invalid signature received for JSON Web Token validation"
EXPIRED_TOKEN = "Expired token received for JSON Web Token validation"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, signing_input: bytes) -> str:
    return _b64encode(hmac.new(key, signing_input, hashlib.sha256).digest())


def encode_jwt(claims: Mapping[str, Any], key: bytes) -> str:
    header = {"alg": "HS256", "typ": "JWT", "kid": "orgdrift-emulator"}
    head = _b64encode(json.dumps(header, separators=(",", ":")).encode())
    body = _b64encode(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{_sign(key, signing_input)}"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and with which scopes."""

    subject: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class AuthFailure:
    status: int  # 400 or 401
    message: str
    error_code: str | None = None  # only the 400 carries one ("Bearer")
    with_attributes: bool = True


def _decode_jwt(token: str, key: bytes) -> JSONObject | AuthFailure:
    parts = token.split(".")
    if len(parts) != 3:
        return AuthFailure(401, INVALID_TOKEN)
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return AuthFailure(401, INVALID_TOKEN)
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "HS256":
        return AuthFailure(401, INVALID_TOKEN)
    expected = _sign(key, f"{parts[0]}.{parts[1]}".encode("ascii"))
    if not hmac.compare_digest(expected, parts[2]):
        return AuthFailure(401, INVALID_SIGNATURE)
    return claims


def _scopes_of(claims: JSONObject) -> frozenset[str]:
    scope = claims.get("scope", "")
    return frozenset(scope.split()) if isinstance(scope, str) else frozenset()


def authenticate(
    authorization: str | None,
    *,
    static_tokens: Mapping[str, frozenset[str]],
    key: bytes,
    audience: str,
    now: float,
) -> Principal | AuthFailure:
    """Check an `Authorization` header value against the static tokens and issued JWTs."""
    if authorization is None or not authorization.strip():
        return AuthFailure(401, MISSING_AUTHENTICATION, with_attributes=False)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return AuthFailure(400, BAD_HEADER_FORMAT, error_code="Bearer", with_attributes=False)
    for known, scopes in static_tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            return Principal(subject="static-token", scopes=scopes)
    decoded = _decode_jwt(token, key)
    if isinstance(decoded, AuthFailure):
        return decoded
    exp = decoded.get("exp")
    if not isinstance(exp, int | float) or exp <= now:
        return AuthFailure(401, EXPIRED_TOKEN)
    aud = decoded.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        shown = aud[0] if isinstance(aud, list) and aud else aud
        return AuthFailure(401, f"Bad audience: {shown}")
    return Principal(subject=str(decoded.get("sub", "")), scopes=_scopes_of(decoded))


# --- POST /oauth/token ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenFailure:
    status: int
    error: str
    description: str

    def body(self) -> JSONObject:
        return {"error": self.error, "error_description": self.description}


def _param(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) and value else None


def grant_client_credentials(
    params: Mapping[str, Any],
    *,
    config: EmulatorConfig,
    key: bytes,
    issuer: str,
    audience: str,
    now: float,
) -> JSONObject | TokenFailure:
    """The client-credentials grant: a token response body, or a failure with Auth0's text."""
    grant_type = _param(params, "grant_type")
    if grant_type is None:
        return TokenFailure(400, "invalid_request", "Missing required parameter: grant_type")
    if grant_type != "client_credentials":
        return TokenFailure(
            403, "unauthorized_client", f"Grant type '{grant_type}' not allowed for the client."
        )
    client_id = _param(params, "client_id")
    secret = _param(params, "client_secret")
    entry = config.clients.get(client_id) if client_id is not None else None
    if (
        entry is None
        or secret is None
        or not hmac.compare_digest(entry[0].encode(), secret.encode())
    ):
        return TokenFailure(401, "access_denied", "Unauthorized")
    requested_audience = _param(params, "audience")
    if requested_audience != audience:
        shown = requested_audience if requested_audience is not None else ""
        return TokenFailure(403, "access_denied", f"Service not enabled within domain: {shown}")
    granted = entry[1]
    requested_scope = _param(params, "scope")
    if requested_scope is not None:
        granted = granted & frozenset(requested_scope.split())
    scope = " ".join(sorted(granted))
    iat = int(now)
    claims = {
        "iss": issuer,
        "sub": f"{client_id}@clients",
        "aud": audience,
        "iat": iat,
        "exp": iat + config.token_lifetime,
        "azp": client_id,
        "scope": scope,
        "gty": "client-credentials",
    }
    return {
        "access_token": encode_jwt(claims, key),
        "expires_in": config.token_lifetime,
        "scope": scope,
        "token_type": "Bearer",
    }
