"""Issue 7: a token or client secret never shows in stdout, stderr, reports, snapshots, exception
messages or `-v` logs, under any failure; credentials go only to the configured domain; TLS
verification is always on for real hosts, with proxies and SSL_CERT_FILE honoured."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp

from orgdrift import reads
from orgdrift.cli import main
from orgdrift.emulator import (
    EmulatorConfig,
    Fault,
    FaultContext,
    InProcessTransport,
    create_app,
    running_server,
)
from orgdrift.emulator.config import READ_SCOPES
from orgdrift.errors import OrgdriftError, UsageError
from orgdrift.models import LiveOrganization, LiveState
from orgdrift.reporters import REPORTERS
from orgdrift.spec import load_specs

from .virtual_time import VirtualTimeLoop, in_process_cli, run_virtual

TOKEN = f"SECRET-{uuid.uuid4()}"
CLIENT_ID = "client-marker"
CLIENT_SECRET = f"SECRET-{uuid.uuid4()}"
MARKERS = (TOKEN, CLIENT_SECRET)
ENV_VARS = (
    "AUTH0_DOMAIN",
    "AUTH0_API_TOKEN",
    "AUTH0_ACCESS_TOKEN",
    "AUTH0_CLIENT_ID",
    "AUTH0_CLIENT_SECRET",
    "AUTH0_AUDIENCE",
    "GITHUB_ACTIONS",
)
SPEC = "version: 1\npolicy: {unmanaged_organizations: fail}\norganizations:\n  - name: acme\n    connections: [{name: db}]\n"
STATE = LiveState(
    (
        LiveOrganization(
            {"id": "org_aaaaaaaaaaaaaaaa", "name": "acme"},
            ({"connection_id": "con_1", "connection": {"name": "other"}},),
        ),
        LiveOrganization({"id": "org_bbbbbbbbbbbbbbbb", "name": "stray"}, ()),
    )
)

Hook = Callable[[FaultContext], Fault | None]


def _leaks(text: str) -> list[str]:
    return [m for m in MARKERS if m in text]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "orgs.yaml").write_text(SPEC, encoding="utf-8")


def _app(faults: Hook | None) -> ASGIApp:
    config = EmulatorConfig(
        tokens={TOKEN: READ_SCOPES},
        clients={CLIENT_ID: (CLIENT_SECRET, READ_SCOPES)},
        faults=faults,
    )
    return create_app(STATE, config)


def _serve(faults: Hook | None) -> Iterator[str]:
    with running_server(_app(faults)) as url:
        yield url


def _all(status: int | None = None, group: str | None = None, **kw: object) -> Hook:
    fault = Fault(status=status, **kw)  # type: ignore[arg-type]

    def decide(ctx: FaultContext) -> Fault | None:
        return fault if group is None or ctx.group == group else None

    return decide


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


FAULTS: dict[str, Hook | None] = {
    "ok": None,
    "401": _all(401),
    "403": _all(403, "organizations"),
    "5xx": _all(503),
    "html": _all(malformed="html", group="organizations"),
    "truncated": _all(malformed="truncated"),
    "drop": _all(drop_connection=True, group="enabled_connections"),
    "token-401": _all(401, "token"),
    "token-403": _all(403, "token"),
    "token-500": _all(500, "token"),
    "token-html": _all(malformed="html", group="token"),
    "slow": _all(delay_ms=3000.0, group="organizations"),
}


def _echo(status: int, **body: object) -> bytes:
    return json.dumps({"statusCode": status, "error": "Error", **body}).encode()


# A server (or a middlebox) that echoes the credential it was sent, in every field orgdrift reads.
ECHOES: dict[str, Callable[[str], Hook]] = {
    "echo-401-errorcode": lambda c: _all(
        401, body=_echo(401, message=f"Invalid token {c}", errorCode=c, attributes={"error": c})
    ),
    "echo-403-message": lambda c: _all(
        403,
        "organizations",
        body=_echo(403, message=f"Insufficient scope for {c}", errorCode="insufficient_scope"),
    ),
    "echo-400-code": lambda c: _all(
        400,
        "organizations",
        body=_echo(400, message="Bad HTTP authentication header format", errorCode=f"Bearer {c}"),
    ),
    "echo-503-retried": lambda c: _all(
        503, body=_echo(503, message=f"upstream got Authorization: Bearer {c}", errorCode=c)
    ),
    "echo-429-retried": lambda c: _all(429, "enabled_connections", body=_echo(429, message=c)),
    "echo-404-html": lambda c: _all(
        404, "organizations", body=f"<html>no route for {c}</html>".encode()
    ),
    "echo-404-json": lambda c: _all(
        404, "organizations", body=_echo(404, message=f"No organization found by {c}")
    ),
    "echo-200-body": lambda c: _all(
        200,
        "organizations",
        body=json.dumps({"organizations": [{"id": "org_x", "name": c}]}).encode(),
    ),
    "echo-token-oauth-error": lambda c: _all(
        401, "token", body=json.dumps({"error": c, "error_description": f"bad secret {c}"}).encode()
    ),
    "echo-token-403-description": lambda c: _all(
        403,
        "token",
        body=json.dumps(
            {
                "error": "access_denied",
                "error_description": f"Service not enabled within domain: {c}",
            }
        ).encode(),
    ),
    "echo-token-500": lambda c: _all(500, "token", body=_echo(500, message=c)),
}


def _hook(case: str, grant: str) -> Hook | None:
    if case in FAULTS:
        return FAULTS[case]
    return ECHOES[case](TOKEN if grant == "token" else CLIENT_SECRET)


CASES = [
    (case, grant)
    for case in [*FAULTS, *ECHOES]
    for grant in ("token", "client")
    if grant == "client" or "token-" not in case  # a static token never calls the token endpoint
]


# What `check` and `snapshot` exit with: the drifted tenant when nothing fails, else no verdict.
EXIT_CODES = {"ok": (1, 0)}


def _check_and_snapshot(domain: str, tmp_path: Path) -> tuple[int, int]:
    reports = [f"--report={fmt}={tmp_path / ('report.' + fmt)}" for fmt in REPORTERS]
    check = ["check", "orgs.yaml", "-vv", "--domain", domain, "--timeout", "2", "--format", "json"]
    snapshot = ["snapshot", "orgs.yaml", "-v", "--domain", domain, "--timeout", "2"]
    return main([*check, *reports]), main([*snapshot, "-o", str(tmp_path / "snap.json")])


def _assert_no_leak(case: str, codes: tuple[int, int], out: str, err: str, tmp_path: Path) -> None:
    assert codes == EXIT_CODES.get(case, (3, 3)), err
    assert "Traceback" not in err
    assert " -> " in err or case == "slow"  # the -v request log ran
    assert not _leaks(out + err)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert not _leaks(path.read_text(encoding="utf-8", errors="replace")), path


def _credentials(grant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if grant == "token":
        monkeypatch.setenv("AUTH0_API_TOKEN", TOKEN)
    else:
        monkeypatch.setenv("AUTH0_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("AUTH0_CLIENT_SECRET", CLIENT_SECRET)


@pytest.mark.parametrize(("case", "grant"), CASES)
def test_no_secret_on_any_error_path(
    case: str,
    grant: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """The CLI against the emulator in process, in virtual time: the retries' back-off and the
    2 s `--timeout` of the slow case cost no real time."""
    _credentials(grant, monkeypatch)
    domain = in_process_cli(monkeypatch, _app(_hook(case, grant)))
    codes = _check_and_snapshot(domain, tmp_path)
    out, err = capsys.readouterr()
    _assert_no_leak(case, codes, out, err, tmp_path)


@pytest.mark.parametrize(
    ("case", "grant"), [("ok", "client"), ("401", "token"), ("echo-404-html", "client")]
)
def test_no_secret_over_a_real_socket(
    case: str,
    grant: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """The same over a loopback socket (uvicorn), for the cases that answer without retrying."""
    _credentials(grant, monkeypatch)
    for url in _serve(_hook(case, grant)):
        codes = _check_and_snapshot(url, tmp_path)
    out, err = capsys.readouterr()
    _assert_no_leak(case, codes, out, err, tmp_path)


def test_closed_port_and_bad_domain(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTH0_API_TOKEN", TOKEN)
    closed = _closed_port()
    assert main(["check", "orgs.yaml", "-v", "--domain", closed, "--timeout", "20"]) == 3
    out, err = capsys.readouterr()
    host = closed.removeprefix("http://")
    assert err.splitlines()[-1] == (
        f"orgdrift: error: GET /api/v2/organizations?take=100: could not connect to {host} "
        "(ConnectError: All connection attempts failed); nothing listens there: start the "
        "emulator (`orgdrift emulator`) or check --domain / AUTH0_DOMAIN"
    )
    assert err.count(" -> ") == 1  # refused at once: one attempt, no back-off
    assert main(["check", "orgs.yaml", "--domain", f"https://user:{TOKEN}@example.com"]) == 2
    assert main(["check", "orgs.yaml", "--domain", f"https://example.com/{TOKEN}"]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err and not _leaks(out + err)


def _in_process_error(env: dict[str, str], hook: Hook) -> OrgdriftError:
    config = EmulatorConfig(
        tokens={TOKEN: READ_SCOPES}, clients={CLIENT_ID: (CLIENT_SECRET, READ_SCOPES)}, faults=hook
    )
    tenant = reads.Tenant(
        domain="http://127.0.0.1",
        env=env,
        transport=InProcessTransport(app=create_app(STATE, config)),
        loop_factory=VirtualTimeLoop,  # the retries of a 5xx or an HTML page wait no real time
    )
    spec = load_specs(["orgs.yaml"], {})
    with pytest.raises(OrgdriftError) as info:
        reads.read_declared(tenant, spec.organizations, list_all=True)
    return info.value


@pytest.mark.parametrize("case", ["401", "403", "token-401", "token-403", "token-html", *ECHOES])
def test_exception_str_and_repr_hold_no_secret(case: str) -> None:
    for env in (
        {"AUTH0_API_TOKEN": TOKEN},
        {"AUTH0_CLIENT_ID": CLIENT_ID, "AUTH0_CLIENT_SECRET": CLIENT_SECRET},
    ):
        if "AUTH0_API_TOKEN" in env and "token-" in case:
            continue
        hook = _hook(case, "token" if "AUTH0_API_TOKEN" in env else "client")
        assert hook is not None
        error = _in_process_error(env, hook)
        chain = f"{error} {error!r} {error.args!r} {error.__cause__!r} {error.__context__!r} {vars(error)!r}"
        assert not _leaks(chain)


ISSUED = f"ISSUED-{uuid.uuid4()}"


@pytest.mark.parametrize(
    "echo",
    [
        {
            "status_code": 401,
            "json": {
                "statusCode": 401,
                "error": "Unauthorized",
                "message": f"Invalid token {ISSUED}",
                "errorCode": ISSUED,
            },
        },
        {
            "status_code": 403,
            "json": {
                "statusCode": 403,
                "error": "Forbidden",
                "message": f"scope of {ISSUED[:-1]}{ISSUED[-1]}",
            },
        },
        {"status_code": 404, "content": f"<html>{ISSUED}</html>".encode()},
        {"status_code": 200, "json": {"organizations": [{"id": "org_a", "name": ISSUED}]}},
    ],
    ids=["401-errorcode", "403-message", "404-html", "200-body"],
)
def test_the_token_the_grant_issues_is_redacted_from_the_moment_it_exists(
    echo: dict[str, object],
) -> None:
    """The client-credentials grant's access token is registered with the redactor as soon as the
    token response is read, so a server echoing it back cannot get it into a message or log."""
    events: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(
                200,
                json={"access_token": ISSUED, "expires_in": 86400, "scope": " ".join(READ_SCOPES)},
            )
        assert request.headers["authorization"] == f"Bearer {ISSUED}"
        return httpx.Response(**echo)  # type: ignore[arg-type]

    tenant = reads.Tenant(
        domain="http://127.0.0.1",
        env={"AUTH0_CLIENT_ID": CLIENT_ID, "AUTH0_CLIENT_SECRET": CLIENT_SECRET},
        transport=httpx.MockTransport(handler),
        on_event=events.append,
    )
    spec = load_specs(["orgs.yaml"], {})
    with pytest.raises(OrgdriftError) as info:
        reads.read_declared(tenant, spec.organizations, list_all=True)
    error = info.value
    assert error.exit_code == 3
    chain = f"{error} {error!r} {error.args!r} {error.__cause__!r} {error.__context__!r} {vars(error)!r} {events!r}"
    assert ISSUED not in chain and CLIENT_SECRET not in chain


def test_spec_interpolation_never_reads_credentials(tmp_path: Path) -> None:
    for var in ("AUTH0_CLIENT_SECRET", "AUTH0_API_TOKEN"):
        spec = tmp_path / f"{var}.yaml"
        spec.write_text(
            f"version: 1\norganizations:\n  - name: acme\n    display_name: ${{{var}}}\n",
            encoding="utf-8",
        )
        with pytest.raises(UsageError) as info:
            load_specs([str(spec)], {var: CLIENT_SECRET})
        assert var in str(info.value) and not _leaks(str(info.value))


def test_spec_for_another_domain_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seen: list[str] = []
    (tmp_path / "other.yaml").write_text(
        "version: 1\ntenant: {domain: evil.example.com}\norganizations: []\n", encoding="utf-8"
    )
    monkeypatch.setenv("AUTH0_API_TOKEN", TOKEN)
    for url in _serve(lambda ctx: seen.append(ctx.path) or None):  # type: ignore[func-returns-value]
        assert main(["check", "other.yaml", "--domain", url]) == 2
    _, err = capsys.readouterr()
    assert "evil.example.com" in err and not seen and not _leaks(err)


def test_plain_http_to_a_real_host_is_refused_before_any_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTH0_API_TOKEN", TOKEN)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"request sent: {request.url}")

    tenant = reads.Tenant(
        domain="http://tenant.example.com",
        env={"AUTH0_API_TOKEN": TOKEN},
        transport=httpx.MockTransport(refuse),
    )
    with pytest.raises(UsageError):
        reads.read_declared(tenant, load_specs(["orgs.yaml"], {}).organizations, list_all=True)
    assert main(["check", "orgs.yaml", "--domain", "http://tenant.example.com"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_real_host_client_verifies_tls_and_honours_proxy_and_ca_bundle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`connect` builds the httpx client with trust_env: HTTPS_PROXY and SSL_CERT_FILE apply, and
    verification stays on. Inspected without network: the first request fails at the proxy."""
    import certifi

    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    monkeypatch.setenv("HTTPS_PROXY", _closed_port())
    seen: dict[str, object] = {}

    async def inspect() -> None:
        tenant = reads.Tenant(domain="tenant.example.com", env={"AUTH0_API_TOKEN": TOKEN})
        original = httpx.AsyncClient.__init__

        def spy(self: httpx.AsyncClient, *args: object, **kwargs: object) -> None:
            original(self, *args, **kwargs)  # type: ignore[arg-type]
            seen["client"] = self
            seen["kwargs"] = kwargs

        monkeypatch.setattr(httpx.AsyncClient, "__init__", spy)
        async with reads.connect(tenant) as client:
            await client.get_organization_by_name("acme")

    with pytest.raises(OrgdriftError) as info:
        run_virtual(inspect())  # the proxy refuses: the retries' back-off is virtual
    kwargs = seen["kwargs"]
    assert (
        isinstance(kwargs, dict)
        and kwargs.get("trust_env") is True
        and kwargs.get("verify", True) is True
    )
    client = seen["client"]
    assert isinstance(client, httpx.AsyncClient) and client._trust_env
    mounts = {str(k.pattern): v for k, v in client._mounts.items()}
    assert any("https" in k for k in mounts), "HTTPS_PROXY was not picked up"
    assert not _leaks(str(info.value))
