"""Behind a corporate proxy with a private CA: `HTTPS_PROXY` and `SSL_CERT_FILE` work end to end,
and TLS verification is never turned off.

The proxy here does what corporate TLS-inspecting proxies do: it accepts `CONNECT`, terminates
TLS with a certificate for the tenant's host issued by a private CA (made with trustme), and
relays the decrypted HTTP to the emulator. Nothing leaves loopback: the tenant's host name is
only ever sent to the proxy, which never resolves it.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme

from orgdrift.cli import main
from orgdrift.emulator import EmulatorConfig, create_app, running_server
from orgdrift.emulator.config import READ_SCOPES
from orgdrift.models import LiveOrganization, LiveState

pytestmark = pytest.mark.loopback

HOST = "tenant.example.com"
TOKEN = f"SECRET-{uuid.uuid4()}"
SPEC = "version: 1\norganizations:\n  - name: acme\n    connections: [{name: db}]\n"
STATE = LiveState(
    (
        LiveOrganization(
            {"id": "org_aaaaaaaaaaaaaaaa", "name": "acme"},
            ({"connection_id": "con_1", "connection": {"name": "db"}},),
        ),
    )
)


@dataclass
class InterceptingProxy:
    """A CONNECT proxy on loopback that terminates TLS and relays to `upstream` (host, port)."""

    upstream: tuple[str, int]
    context: ssl.SSLContext
    requests: list[bytes] = field(default_factory=list)  # what the proxy saw before TLS
    url: str = ""

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            if not head.startswith(b"CONNECT "):
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
                return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            try:
                await writer.start_tls(self.context)
            except (ssl.SSLError, ConnectionError):
                return  # the client refused the certificate
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            await asyncio.gather(self._relay(reader, up_writer), self._relay(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def serve(self) -> Iterator[str]:
        loop = asyncio.new_event_loop()
        started = threading.Event()
        stop = loop.create_future()

        async def run() -> None:
            server = await asyncio.start_server(self._client, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            started.set()
            async with server:
                await stop

        thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
        thread.start()
        started.wait()
        try:
            yield self.url
        finally:
            loop.call_soon_threadsafe(stop.set_result, None)
            thread.join(10)
            loop.close()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def proxy(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[InterceptingProxy]:
    for name in (
        "AUTH0_DOMAIN",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
        "NO_PROXY",
        "no_proxy",
        "GITHUB_ACTIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTH0_API_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "orgs.yaml").write_text(SPEC, encoding="utf-8")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)
    app = create_app(STATE, EmulatorConfig(tokens={TOKEN: READ_SCOPES}))
    with running_server(app) as emulator:
        host, port = emulator.removeprefix("http://").rsplit(":", 1)
        interceptor = InterceptingProxy((host, int(port)), context)
        for url in interceptor.serve():
            monkeypatch.setenv("HTTPS_PROXY", url)
            yield interceptor


def test_check_through_the_proxy_trusting_the_private_ca(
    proxy: InterceptingProxy,
    ca: trustme.CA,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bundle = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert main(["check", "orgs.yaml", "--domain", HOST, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert '"in_sync": true' in out, err
    # The proxy was asked for a tunnel to the tenant, and saw nothing else in the clear.
    assert proxy.requests and all(
        r.startswith(f"CONNECT {HOST}:443 ".encode()) for r in proxy.requests
    )
    assert not any(TOKEN.encode() in r for r in proxy.requests)
    assert TOKEN not in out + err


def test_a_certificate_from_an_untrusted_ca_is_refused(
    proxy: InterceptingProxy,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without SSL_CERT_FILE the private CA is unknown: verification fails, no verdict, no token
    # ever sent (the Authorization header would travel inside the TLS that was refused).
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert main(["check", "orgs.yaml", "--domain", HOST]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        f"orgdrift: error: GET /api/v2/organizations/name/acme: TLS certificate verification "
        f"failed for {HOST}: unable to get local issuer certificate. If a proxy re-signs TLS "
        "traffic, set SSL_CERT_FILE to a bundle that includes its CA"
    ), err
    assert TOKEN not in err
    assert len(proxy.requests) == 1  # one tunnel: refused at once, not retried
