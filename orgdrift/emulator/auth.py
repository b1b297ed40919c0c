"""Access tokens: the client-credentials grant and bearer-token checks, with Auth0's texts.

The tokens issued are HS256 JWTs with the claims of an Auth0 machine-to-machine token,
signed with a per-app random key. Only this app ever reads them, so HMAC-SHA256 from the
standard library (a dozen lines) does the job without a JWT library. Pure functions: the caller
passes the time, the key and the expected audience.
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

INVALID_TOKEN = "Invalid token"
_HEADER = {"alg": "HS256", "typ": "JWT", "kid": "orgdrift-emulator"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign(key: bytes, head_and_body: str) -> str:
    return _b64(hmac.new(key, head_and_body.encode("ascii"), hashlib.sha256).digest())


def encode_jwt(claims: Mapping[str, Any], key: bytes) -> str:
    head, body = (
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (_HEADER, claims)
    )
    return f"{head}.{body}.{_sign(key, f'{head}.{body}')}"


@dataclass(frozen=True, slots=True)
class AuthFailure:
    status: int  # 400 or 401
    message: str
    error_code: str | None = None  # only the 400 carries one ("Bearer")
    with_attributes: bool = True


def _claims(token: str, key: bytes) -> dict[str, Any] | AuthFailure:
    """The claims of a JWT this app signed, or why it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return AuthFailure(401, INVALID_TOKEN)
    head, body, signature = parts
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error):
        return AuthFailure(401, INVALID_TOKEN)
    if not (isinstance(header, dict) and isinstance(claims, dict)) or header.get("alg") != "HS256":
        return AuthFailure(401, INVALID_TOKEN)
    if not hmac.compare_digest(_sign(key, f"{head}.{body}"), signature):
        return AuthFailure(401, "Invalid signature received for JSON Web Token validation")
    return claims


def authenticate(
    authorization: str | None,
    *,
    static_tokens: Mapping[str, frozenset[str]],
    key: bytes,
    audience: str,
    now: float,
) -> frozenset[str] | AuthFailure:
    """The scopes an `Authorization` header value grants (a static token or an issued JWT)."""
    if authorization is None or not authorization.strip():
        return AuthFailure(401, "Missing authentication", with_attributes=False)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return AuthFailure(400, "Bad HTTP authentication header format", "Bearer", False)
    for known, scopes in static_tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            return scopes
    claims = _claims(token, key)
    if isinstance(claims, AuthFailure):
        return claims
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= now:
        return AuthFailure(401, "Expired token received for JSON Web Token validation")
    aud = claims.get("aud")
    if audience not in (aud if isinstance(aud, list) else [aud]):
        shown = aud[0] if isinstance(aud, list) and aud else aud
        return AuthFailure(401, f"Bad audience: {shown}")
    scope = claims.get("scope", "")
    return frozenset(scope.split()) if isinstance(scope, str) else frozenset()


def grant_client_credentials(
    params: Mapping[str, Any],
    *,
    config: EmulatorConfig,
    key: bytes,
    issuer: str,
    audience: str,
    now: float,
) -> tuple[int, dict[str, Any]]:
    """`POST /oauth/token` with the client-credentials grant: (status, body), Auth0's texts.

    `audience` is the only one this tenant serves: asking for another one (the custom domain's,
    say) is refused as Auth0 refuses it: the Management API audience is the canonical
    domain's, also behind a custom domain (Auth0 docs, "Custom Domains")."""

    def param(name: str) -> str | None:
        value = params.get(name)
        return value if isinstance(value, str) and value else None

    def failure(status: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
        return status, {"error": error, "error_description": description}

    grant_type, client_id, secret = param("grant_type"), param("client_id"), param("client_secret")
    if grant_type is None:
        return failure(400, "invalid_request", "Missing required parameter: grant_type")
    if grant_type != "client_credentials":
        message = f"Grant type '{grant_type}' not allowed for the client."
        return failure(403, "unauthorized_client", message)
    entry = config.clients.get(client_id) if client_id is not None else None
    if (
        entry is None
        or secret is None
        or not hmac.compare_digest(entry[0].encode(), secret.encode())
    ):
        return failure(401, "access_denied", "Unauthorized")
    if param("audience") != audience:
        message = f"Service not enabled within domain: {param('audience') or ''}"
        return failure(403, "access_denied", message)
    requested = param("scope")
    granted = entry[1] if requested is None else entry[1] & frozenset(requested.split())
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
    return 200, {
        "access_token": encode_jwt(claims, key),
        "expires_in": config.token_lifetime,
        "scope": scope,
        "token_type": "Bearer",
    }
