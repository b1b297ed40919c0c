"""The official auth0-python SDK (v6, Fern-generated) talks to the emulator over a real socket.

`ManagementClient(domain=...)` always builds `https://{domain}/api/v2`, and its TokenProvider
always posts to `https://{domain}/oauth/token`, so neither can reach plain-http loopback. The
SDK's supported seams are used instead, which exercise the same generated request/parse code:
* `auth0.management.Auth0(base_url="http://127.0.0.1:PORT/api/v2", token=...)`, the client that
  ManagementClient wraps (its `base_url` parameter is public);
* `auth0.authentication.GetToken(domain, client_id, client_secret, protocol="http")` for the
  client-credentials grant (`protocol` is documented as "Useful for testing").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from auth0 import authentication, management
from auth0.management import errors

from orgdrift.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    EmulatorApp,
    EmulatorConfig,
    Fault,
    FaultContext,
    create_app,
    running_server,
)

from .support import make_state, org_id

pytestmark = pytest.mark.loopback

ORG_COUNT = 1500


THROTTLED_PATH = "/api/v2/organizations/name/org-00007"


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[str, EmulatorApp]]:
    throttled: list[str] = []

    def rate_limit_once(context: FaultContext) -> Fault | None:
        # The first request for THROTTLED_PATH gets a 429 (x-ratelimit-reset within 1 s).
        if context.path == THROTTLED_PATH and not throttled:
            throttled.append(context.path)
            return Fault.error(429)
        return None

    app = create_app(
        make_state(ORG_COUNT, connections_per_org=3), EmulatorConfig(faults=rate_limit_once)
    )
    with running_server(app) as url:
        yield url, app


@contextmanager
def _sdk(url: str, token: str = DEFAULT_TOKEN, **kwargs: Any) -> Iterator[Any]:
    """The SDK's client on the emulator; the httpx client is ours so that it gets closed."""
    with httpx.Client(timeout=10) as http:
        yield management.Auth0(base_url=f"{url}/api/v2", token=token, httpx_client=http, **kwargs)


def test_sdk_lists_1500_organizations_by_checkpoint(emulator: tuple[str, EmulatorApp]) -> None:
    url, app = emulator
    before = app.stats.requests["organizations"]
    with _sdk(url) as client:
        orgs = list(client.organizations.list(take=100))
    assert [o.id for o in orgs] == [org_id(i) for i in range(ORG_COUNT)]
    assert orgs[3].metadata == {"index": "3"}
    assert app.stats.requests["organizations"] - before == ORG_COUNT // 100  # no extra request


def test_sdk_gets_by_id_and_by_name(emulator: tuple[str, EmulatorApp]) -> None:
    url, _ = emulator
    with _sdk(url) as client:
        by_id = client.organizations.get(org_id(42))
        by_name = client.organizations.get_by_name("org-00042")
    assert by_id.id == by_name.id == org_id(42)
    assert by_name.display_name == "Organization 42"


def test_sdk_lists_enabled_connections(emulator: tuple[str, EmulatorApp]) -> None:
    url, _ = emulator
    with _sdk(url) as client:
        connections = list(client.organizations.enabled_connections.list(org_id(9), per_page=2))
    assert sorted(c.connection.name for c in connections) == ["conn-0", "conn-1", "conn-2"]
    assert all(c.connection_id and c.connection_id.startswith("con_") for c in connections)


def test_sdk_sees_404_for_unknown_organizations(emulator: tuple[str, EmulatorApp]) -> None:
    url, _ = emulator
    with _sdk(url) as client:
        with pytest.raises(errors.NotFoundError) as by_id:
            client.organizations.get("org_XXXXXXXXXXXXXXXX")
        with pytest.raises(errors.NotFoundError):
            client.organizations.get_by_name("nobody")
        with pytest.raises(errors.NotFoundError):
            list(client.organizations.enabled_connections.list("org_XXXXXXXXXXXXXXXX"))
    assert by_id.value.status_code == 404
    assert by_id.value.body["message"] == "No organization found by that id or name"


def test_sdk_sees_401_for_a_bad_token(emulator: tuple[str, EmulatorApp]) -> None:
    url, _ = emulator
    with _sdk(url, token="not-a-token") as client, pytest.raises(errors.UnauthorizedError) as info:
        list(client.organizations.list(take=10))
    assert info.value.status_code == 401
    assert info.value.body["message"] == "Invalid token"


def test_sdk_sees_403_for_a_missing_scope() -> None:
    app = create_app(make_state(2), EmulatorConfig(tokens={"no-scope": frozenset()}))
    with (
        running_server(app) as url,
        _sdk(url, token="no-scope") as client,
        pytest.raises(errors.ForbiddenError) as info,
    ):
        client.organizations.get(org_id(1))
    assert info.value.body["errorCode"] == "insufficient_scope"


def test_sdk_client_credentials_token_is_accepted(emulator: tuple[str, EmulatorApp]) -> None:
    url, _ = emulator
    domain = url.removeprefix("http://")
    grant = authentication.GetToken(
        domain, DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, protocol="http"
    ).client_credentials(audience=f"{url}/api/v2/")
    assert grant["token_type"] == "Bearer"
    assert grant["expires_in"] == 86400
    with _sdk(url, token=grant["access_token"]) as client:
        organization = client.organizations.get_by_name("org-01499")
    assert organization.id == org_id(1499)


def test_sdk_retries_a_429_and_then_succeeds(emulator: tuple[str, EmulatorApp]) -> None:
    url, app = emulator
    before = app.stats.rate_limited
    with _sdk(url) as client:
        organization = client.organizations.get_by_name("org-00007")
    assert organization.id == org_id(7)
    assert app.stats.rate_limited == before + 1


def test_sdk_parses_a_429_when_retries_are_off(emulator: tuple[str, EmulatorApp]) -> None:
    url, _ = emulator
    app = create_app(make_state(1), EmulatorConfig(faults=lambda c: Fault.error(429)))
    with (
        running_server(app) as other,
        _sdk(other, max_retries=0) as client,
        pytest.raises(errors.TooManyRequestsError) as info,
    ):
        client.organizations.get(org_id(0))
    assert info.value.body["message"] == "Global limit has been reached"
    assert url != other
