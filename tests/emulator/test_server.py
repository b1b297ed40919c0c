"""The emulator on a real loopback socket (uvicorn in a background thread)."""

from __future__ import annotations

import sys

import httpx
import pytest

from orgdrift.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    Fault,
    FaultContext,
    create_app,
    running_server,
    serve,
)
from orgdrift.errors import UsageError

from .support import auth, example_state

pytestmark = pytest.mark.loopback


def test_url_is_usable_immediately_and_serves_the_api() -> None:
    app = create_app(example_state())
    with running_server(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert url.startswith("http://127.0.0.1:")
        response = client.get("/api/v2/organizations/name/acme", headers=auth())
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.json()["id"] == "org_Ac7mEq2LxT9pRz4K"
        token = client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "audience": f"{url}/api/v2/",
            },
        ).json()["access_token"]
        listed = client.get("/api/v2/organizations?take=100", headers=auth(token))
        assert len(listed.json()["organizations"]) == 6
    assert app.stats.requests["token"] == 1


def test_server_stops_on_exit() -> None:
    with running_server(create_app(example_state())) as url:
        pass
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=2) as client:
        client.get(f"{url}/api/v2/organizations", headers=auth())


def test_dropped_connection_is_a_remote_protocol_error_over_the_socket() -> None:
    def hook(context: FaultContext) -> Fault | None:
        return Fault(drop_connection=True) if context.group_request_number == 1 else None

    app = create_app(example_state(), EmulatorConfig(faults=hook))
    with running_server(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/v2/organizations", headers=auth())
        assert client.get("/api/v2/organizations", headers=auth()).status_code == 200


def test_serve_refuses_a_port_in_use() -> None:
    ready: list[str] = []
    with running_server(create_app(example_state())) as url:
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve(create_app(example_state()), "127.0.0.1", port, ready.append)
    assert ready == []


def test_listening_socket_says_tcp_so_responses_are_not_delayed_by_nagle() -> None:
    """asyncio sets TCP_NODELAY on accepted sockets only when the listener's proto is TCP;
    with proto 0 every response waited ~40 ms for a delayed ACK."""
    import socket

    from orgdrift.emulator import server

    sock = server._bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_serving_without_uvicorn_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the extra were not installed
    with pytest.raises(UsageError, match=r"pip install 'orgdrift\[emulator\]'"):
        serve(create_app(example_state()), "127.0.0.1", 0, lambda url: None)
