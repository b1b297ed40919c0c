"""Credentials, domains, scopes and the client-credentials token provider."""

from __future__ import annotations

import asyncio
import base64
import json
import pickle
from collections.abc import Mapping

import pytest

from orgdrift.auth import (
    REQUIRED_SCOPES,
    ClientCredentialsProvider,
    Credentials,
    RawResponse,
    Secret,
    StaticTokenProvider,
    base_url_for,
    canonical_host,
    check_required_scopes,
    credentials_from_env,
    jwt_claims,
    scopes_from_jwt,
)
from orgdrift.errors import (
    AuthenticationError,
    ExitCode,
    InsufficientScopeError,
    ProtocolError,
    UsageError,
)


def make_jwt(claims: Mapping[str, object]) -> str:
    def part(data: Mapping[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


# --- Secret ----------------------------------------------------------------------------------


def test_secret_never_shows_itself() -> None:
    secret = Secret("hunter2")
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "Secret('***')"
    assert f"{secret}" == "Secret('***')"
    assert "hunter2" not in repr([secret, {"k": secret}])
    assert secret.reveal() == "hunter2"
    assert secret != "hunter2"
    assert secret == Secret("hunter2")
    assert secret != Secret("other")
    assert hash(secret) == hash(Secret("hunter2"))
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_credentials_repr_hides_secrets() -> None:
    creds = Credentials(client_id="cid", client_secret=Secret("s3cr3t"), audience="a")
    assert "s3cr3t" not in repr(creds)
    assert creds.token is None
    assert creds.secrets() == ("s3cr3t",)


# --- domains ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("tenant.eu.auth0.com", "https://tenant.eu.auth0.com"),
        ("  Tenant.EU.Auth0.com.  ", "https://tenant.eu.auth0.com"),
        ("login.example.com", "https://login.example.com"),
        ("https://tenant.auth0.com", "https://tenant.auth0.com"),
        ("https://tenant.auth0.com/", "https://tenant.auth0.com"),
        ("https://tenant.auth0.com:443", "https://tenant.auth0.com"),
        ("https://tenant.auth0.com:8443", "https://tenant.auth0.com:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.5.6.7:9", "http://127.5.6.7:9"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("HTTP://127.0.0.1", "http://127.0.0.1"),
    ],
)
def test_base_url_for_accepts(domain: str, expected: str) -> None:
    assert base_url_for(domain) == expected


@pytest.mark.parametrize(
    ("domain", "fragment"),
    [
        ("", "empty"),
        ("http://tenant.auth0.com", "plain http is allowed only for loopback"),
        ("http://10.0.0.1:8080", "plain http is allowed only for loopback"),
        ("http://localhost.evil.com", "plain http"),
        ("tenant.auth0.com/api/v2", "without a path"),
        ("https://tenant.auth0.com/x", "without a path"),
        ("https://tenant.auth0.com?x=1", "without a path"),
        ("https://user:pw@tenant.auth0.com", "user information"),
        ("ftp://tenant.auth0.com", "scheme 'ftp'"),
        ("not a domain", "not a valid host"),
        ("https://", "not a valid host"),
        ("tenant..auth0.com", "not a valid host"),
        ("-bad-.auth0.com", "not a valid host"),
        ("https://tenant.auth0.com:99999", "cannot be parsed"),
    ],
)
def test_base_url_for_refuses(domain: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment) as info:
        base_url_for(domain)
    assert info.value.exit_code is ExitCode.USAGE
    assert "pw" not in str(info.value)


def test_canonical_host() -> None:
    same = [
        "Tenant.EU.auth0.com",
        "https://tenant.eu.auth0.com/",
        "https://tenant.eu.auth0.com:443",
    ]
    assert {canonical_host(d) for d in same} == {"tenant.eu.auth0.com"}
    assert canonical_host("http://127.0.0.1:8080") == "127.0.0.1:8080"
    assert canonical_host("evil.example.com") != canonical_host("tenant.eu.auth0.com")
    with pytest.raises(UsageError):
        canonical_host("http://evil.example.com")


# --- credentials ------------------------------------------------------------------------------

BASE = "https://tenant.eu.auth0.com"


@pytest.mark.parametrize(
    ("env", "token", "client_id", "audience"),
    [
        ({"AUTH0_API_TOKEN": "t1"}, "t1", None, None),
        ({"AUTH0_ACCESS_TOKEN": "t2"}, "t2", None, None),
        ({"AUTH0_API_TOKEN": "t1", "AUTH0_ACCESS_TOKEN": "t2"}, "t1", None, None),
        ({"AUTH0_API_TOKEN": " ", "AUTH0_ACCESS_TOKEN": "t2"}, "t2", None, None),
        (
            {"AUTH0_CLIENT_ID": "cid", "AUTH0_CLIENT_SECRET": "sec"},
            None,
            "cid",
            "https://tenant.eu.auth0.com/api/v2/",
        ),
        (
            {
                "AUTH0_CLIENT_ID": "cid",
                "AUTH0_CLIENT_SECRET": "sec",
                "AUTH0_AUDIENCE": "https://c/",
            },
            None,
            "cid",
            "https://c/",
        ),
    ],
)
def test_credentials_from_env(
    env: dict[str, str], token: str | None, client_id: str | None, audience: str | None
) -> None:
    creds = credentials_from_env(env, BASE)
    assert (creds.token.reveal() if creds.token else None) == token
    assert creds.client_id == client_id
    assert creds.audience == audience


def test_loopback_audience() -> None:
    env = {"AUTH0_CLIENT_ID": "cid", "AUTH0_CLIENT_SECRET": "sec"}
    creds = credentials_from_env(env, "http://127.0.0.1:8080")
    assert creds.audience == "http://127.0.0.1:8080/api/v2/"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({}, "no Auth0 credentials"),
        ({"AUTH0_CLIENT_ID": "cid-value"}, "AUTH0_CLIENT_ID is set but AUTH0_CLIENT_SECRET"),
        ({"AUTH0_CLIENT_SECRET": "secret-value"}, "AUTH0_CLIENT_SECRET is set but AUTH0_CLIENT_ID"),
        ({"AUTH0_API_TOKEN": ""}, "no Auth0 credentials"),
    ],
)
def test_credentials_from_env_refuses(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment) as info:
        credentials_from_env(env, BASE)
    for value in env.values():
        if value:
            assert value not in str(info.value)


# --- scopes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (
            make_jwt({"scope": "read:organizations read:organization_connections"}),
            set(REQUIRED_SCOPES),
        ),
        (make_jwt({"scope": ""}), set()),
        (make_jwt({"scope": ["read:organizations"]}), {"read:organizations"}),
        (make_jwt({"sub": "x@clients"}), None),
        (make_jwt({"scopes": {"users": {"actions": ["read"]}}}), None),
        ("opaque-token", None),
        ("a.b.c", None),
        ("a.!!!.c", None),
        ("a." + base64.urlsafe_b64encode(b"[1,2]").decode() + ".c", None),
    ],
)
def test_scopes_from_jwt(token: str, expected: set[str] | None) -> None:
    result = scopes_from_jwt(token)
    assert (None if result is None else set(result)) == expected


def test_jwt_claims() -> None:
    assert jwt_claims(make_jwt({"exp": 5})) == {"exp": 5}
    assert jwt_claims("x") is None


def test_check_required_scopes() -> None:
    check_required_scopes(None)
    check_required_scopes(frozenset(REQUIRED_SCOPES) | {"read:users"})
    with pytest.raises(InsufficientScopeError) as info:
        check_required_scopes(frozenset({"read:organizations"}))
    message = str(info.value)
    assert "read:organization_connections" in message
    assert "lacks scope(s) read:organization_connections" in message
    assert not message.startswith("HTTP")
    assert info.value.exit_code is ExitCode.INCOMPLETE
    with pytest.raises(InsufficientScopeError, match="read:organizations, read:organization_conn"):
        check_required_scopes(frozenset())


# --- token providers --------------------------------------------------------------------------

CC = Credentials(
    client_id="emulator-client",
    client_secret=Secret("super-secret-value"),
    audience="https://tenant.eu.auth0.com/api/v2/",
)


class FakeTokenEndpoint:
    """Answers POST /oauth/token bodies; records them; can fail."""

    def __init__(self, responses: list[RawResponse] | None = None, delay: float = 0.0) -> None:
        self.bodies: list[dict[str, str]] = []
        self.responses = responses
        self.delay = delay
        self.counter = 0

    async def __call__(self, body: Mapping[str, str]) -> RawResponse:
        self.bodies.append(dict(body))
        self.counter += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.responses:
            return self.responses.pop(0)
        token = make_jwt({"scope": " ".join(REQUIRED_SCOPES), "n": self.counter})
        payload = {"access_token": token, "expires_in": 100, "token_type": "Bearer"}
        return RawResponse(200, json.dumps(payload).encode())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_static_provider() -> None:
    token = make_jwt({"scope": "read:organizations"})
    provider = StaticTokenProvider(Secret(token))
    assert not provider.refreshable
    assert asyncio.run(provider.token()).reveal() == token
    assert asyncio.run(provider.scopes()) == frozenset({"read:organizations"})
    provider.invalidate(Secret(token))
    assert asyncio.run(provider.token()).reveal() == token


def test_client_credentials_caches_and_refreshes_before_expiry() -> None:
    endpoint = FakeTokenEndpoint()
    clock = Clock()
    provider = ClientCredentialsProvider(CC, endpoint, clock=clock)

    async def scenario() -> list[str]:
        seen = [(await provider.token()).reveal()]
        clock.now += 89  # 11 s before expiry: still cached
        seen.append((await provider.token()).reveal())
        clock.now += 1.5  # within 10 s of expiry: refresh
        seen.append((await provider.token()).reveal())
        return seen

    first, second, third = asyncio.run(scenario())
    assert first == second != third
    assert endpoint.counter == 2
    assert endpoint.bodies[0] == {
        "grant_type": "client_credentials",
        "client_id": "emulator-client",
        "client_secret": "super-secret-value",
        "audience": "https://tenant.eu.auth0.com/api/v2/",
    }
    assert provider.refreshable


def test_client_credentials_deduplicates_concurrent_fetches() -> None:
    endpoint = FakeTokenEndpoint(delay=0.01)
    provider = ClientCredentialsProvider(CC, endpoint, clock=Clock())

    async def scenario() -> set[str]:
        tokens = await asyncio.gather(*(provider.token() for _ in range(20)))
        return {t.reveal() for t in tokens}

    assert len(asyncio.run(scenario())) == 1
    assert endpoint.counter == 1


def test_client_credentials_invalidate_fetches_a_new_token() -> None:
    endpoint = FakeTokenEndpoint()
    provider = ClientCredentialsProvider(CC, endpoint, clock=Clock())

    async def scenario() -> tuple[Secret, Secret, Secret]:
        old = await provider.token()
        provider.invalidate(Secret("some-other-token"))  # not ours: ignored
        same = await provider.token()
        provider.invalidate(old)
        return old, same, await provider.token()

    old, same, new = asyncio.run(scenario())
    assert old == same
    assert new != old
    assert endpoint.counter == 2


def test_client_credentials_scopes_from_response() -> None:
    body = {"access_token": "opaque", "expires_in": 86400, "scope": "read:organizations"}
    endpoint = FakeTokenEndpoint([RawResponse(200, json.dumps(body).encode())])
    provider = ClientCredentialsProvider(CC, endpoint, clock=Clock())
    assert asyncio.run(provider.scopes()) == frozenset({"read:organizations"})


@pytest.mark.parametrize(
    ("status", "body", "fragment", "code"),
    [
        (
            403,
            (
                '{"error":"access_denied","error_description":"Service not enabled within domain: '
                'https://tenant.eu.auth0.com/api/v2/"}'
            ),
            "Service not enabled within domain",
            "access_denied",
        ),
        (
            401,
            '{"error":"access_denied","error_description":"Unauthorized"}',
            "Unauthorized",
            "access_denied",
        ),
        (
            401,
            '{"error":"invalid_client","error_description":"bad secret super-secret-value"}',
            "bad secret ***",
            "invalid_client",
        ),
        (400, "<html>oops</html>", "refused the client credentials", None),
    ],
)
def test_client_credentials_errors(status: int, body: str, fragment: str, code: str | None) -> None:
    endpoint = FakeTokenEndpoint([RawResponse(status, body.encode())])
    provider = ClientCredentialsProvider(CC, endpoint, clock=Clock())
    with pytest.raises(AuthenticationError) as info:
        asyncio.run(provider.token())
    message = str(info.value)
    assert fragment in message
    assert "super-secret-value" not in message
    assert "emulator-client" in message
    assert info.value.error_code == code
    assert info.value.status == status


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"expires_in": 5}',
        b'{"access_token": "x", "expires_in": -1}',
        b'{"access_token": "x", "expires_in": NaN}',
        b'{"access_token": "x", "expires_in": 1e400}',
        b'{"access_token": "x", "expires_in": ' + b"9" * 400 + b"}",
        b'{"access_token": "x", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_client_credentials_bad_success_body(body: bytes) -> None:
    endpoint = FakeTokenEndpoint([RawResponse(200, body)])
    provider = ClientCredentialsProvider(CC, endpoint, clock=Clock())
    with pytest.raises(ProtocolError):
        asyncio.run(provider.token())


def test_client_credentials_needs_a_pair() -> None:
    with pytest.raises(ValueError, match="client id and secret"):
        ClientCredentialsProvider(Credentials(token=Secret("t")), FakeTokenEndpoint())


def test_the_issued_token_is_registered_with_the_redactor_when_read() -> None:
    from orgdrift.sansio import Redactor

    redact = Redactor(CC.secrets())
    body = {"access_token": "issued-access-token", "expires_in": 86400}
    endpoint = FakeTokenEndpoint([RawResponse(200, json.dumps(body).encode())])
    provider = ClientCredentialsProvider(CC, endpoint, clock=Clock(), redactor=redact)
    token = asyncio.run(provider.token())
    assert token.reveal() == "issued-access-token"
    assert (
        redact("server said issued-access-token and super-secret-value")
        == "server said *** and ***"
    )


def test_token_errors_redact_every_field() -> None:
    body = b'{"error":"super-secret-value","error_description":"bad super-secret-value"}'
    endpoint = FakeTokenEndpoint([RawResponse(401, body)])
    provider = ClientCredentialsProvider(CC, endpoint, clock=Clock())
    with pytest.raises(AuthenticationError) as info:
        asyncio.run(provider.token())
    assert "super-secret-value" not in f"{info.value} {info.value.error_code} {vars(info.value)}"
