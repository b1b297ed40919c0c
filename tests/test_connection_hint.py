"""A declared connection that does not exist in the tenant (a typo such as `hooli-azure-adx`)
is said to be missing from the tenant, with the nearest real name, when the token can read the
tenant's connections (`read:connections`); without that scope (or with a token whose scopes are
unknown) the finding stays as it was and no request more is sent."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from orgdrift.cli import main
from orgdrift.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    InProcessTransport,
    create_app,
)
from orgdrift.emulator.config import READ_SCOPES
from orgdrift.models import LiveOrganization, LiveState
from orgdrift.snapshot import load_snapshot

from .virtual_time import in_process_cli, run_virtual

ROOT = Path(__file__).resolve().parent.parent
SPEC = """\
version: 1
organizations:
  - name: hooli
    connections:
      - name: hooli-azure-adx
  - name: acme
    connections:
      - name: acme-saml
      - name: google-oauth2
      - name: zzzz-nothing-like-it
"""
MISSING = "connection hooli-azure-adx is declared but not enabled"
WITH_READ_CONNECTIONS = READ_SCOPES | {"read:connections"}


def _check(
    scopes: frozenset[str],
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    spec: str = SPEC,
) -> tuple[int, list[str], Counter[str]]:
    for name in ("AUTH0_API_TOKEN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = EmulatorConfig(
        tokens={"opaque": scopes}, clients={DEFAULT_CLIENT_ID: (DEFAULT_CLIENT_SECRET, scopes)}
    )
    app = create_app(load_snapshot(str(ROOT / "examples" / "tenant.json")), config)
    domain = in_process_cli(monkeypatch, app)
    (tmp_path / "orgs.yaml").write_text(spec, encoding="utf-8")
    code = main(["check", str(tmp_path / "orgs.yaml"), "--domain", domain, "--color", "never"])
    out = capsys.readouterr().out
    return code, out.splitlines(), Counter(app.stats.snapshot().requests)


CLIENT = {"AUTH0_CLIENT_ID": DEFAULT_CLIENT_ID, "AUTH0_CLIENT_SECRET": DEFAULT_CLIENT_SECRET}


def test_a_mistyped_connection_is_said_not_to_exist_with_the_nearest_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, requests = _check(WITH_READ_CONNECTIONS, CLIENT, tmp_path, monkeypatch, capsys)
    spec = tmp_path / "orgs.yaml"
    assert code == 1
    assert lines == [
        f"{spec}:4: hooli: connection hooli-azure-ad is enabled but not allowed",
        (
            f"{spec}:5: hooli: connection hooli-azure-adx is declared but the tenant has no "
            "connection of that name (did you mean hooli-azure-ad?)"
        ),
        (
            f"{spec}:10: acme: connection zzzz-nothing-like-it is declared but the tenant has no "
            "connection of that name"
        ),
        "drift: 3 findings in 2 of 2 organizations",
    ]
    assert requests["connections"] == 1  # the tenant's 6 connections: one page


@pytest.mark.parametrize(
    ("scopes", "env"),
    [(READ_SCOPES, CLIENT), (WITH_READ_CONNECTIONS, {"AUTH0_API_TOKEN": "opaque"})],
    ids=["scope-missing", "scopes-unknown"],
)
def test_without_read_connections_known_the_finding_is_unchanged_and_nothing_more_is_asked(
    scopes: frozenset[str],
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines, requests = _check(scopes, env, tmp_path, monkeypatch, capsys)
    assert code == 1
    assert f"{tmp_path / 'orgs.yaml'}:5: hooli: {MISSING}" in lines
    assert "connections" not in requests


def test_a_connection_that_exists_but_is_not_enabled_gets_no_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`globex-oidc` exists (globex has it): declared on hooli, it is simply not enabled there.
    When no organization read has it, one look at the tenant's connections says it exists; when
    one does (globex declared too), not even that request is sent."""
    hooli = "  - name: hooli\n    connections: [{name: globex-oidc}]\n"
    globex = "  - name: globex\n    connections: [{name: globex-oidc}]\n"
    for orgs, lookups in ((hooli, 1), (hooli + globex, 0)):
        spec = f"version: 1\norganizations:\n{orgs}"
        code, lines, requests = _check(
            WITH_READ_CONNECTIONS, CLIENT, tmp_path, monkeypatch, capsys, spec
        )
        assert code == 1
        assert (
            f"{tmp_path / 'orgs.yaml'}:4: hooli: connection globex-oidc is declared but not enabled"
            in lines
        )
        assert requests["connections"] == lookups


def _tenant_with_connections(count: int) -> LiveState:
    connections = tuple(
        {
            "connection_id": f"con_{i:016d}",
            "connection": {"name": f"conn-{i:03d}", "strategy": "auth0"},
        }
        for i in range(count)
    )
    return LiveState(
        (LiveOrganization({"id": "org_Big0000000000000", "name": "big"}, connections),)
    )


def test_the_emulator_pages_the_tenant_connections_and_needs_read_connections() -> None:
    app = create_app(
        _tenant_with_connections(150),
        EmulatorConfig(tokens={"reader": WITH_READ_CONNECTIONS, "other": READ_SCOPES}),
    )

    async def get() -> tuple[list[Any], httpx.Response]:
        transport = InProcessTransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            pages = [
                (
                    await http.get(
                        "/api/v2/connections",
                        params={"page": page, "per_page": 100, "include_totals": "true"},
                        headers={"Authorization": "Bearer reader"},
                    )
                ).json()
                for page in (0, 1)
            ]
            refused = await http.get(
                "/api/v2/connections", headers={"Authorization": "Bearer other"}
            )
        return pages, refused

    pages, refused = run_virtual(get())
    assert [(p["start"], p["limit"], p["total"], len(p["connections"])) for p in pages] == [
        (0, 100, 150, 100),
        (100, 50, 150, 50),
    ]
    assert pages[1]["connections"][-1] == {
        "id": f"con_{149:016d}",
        "name": "conn-149",
        "strategy": "auth0",
    }
    assert refused.status_code == 403 and refused.json()["errorCode"] == "insufficient_scope"


def test_orgdrift_reads_every_page_of_the_tenant_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTH0_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    config = EmulatorConfig(
        clients={DEFAULT_CLIENT_ID: (DEFAULT_CLIENT_SECRET, WITH_READ_CONNECTIONS)}
    )
    app = create_app(_tenant_with_connections(150), config)
    domain = in_process_cli(monkeypatch, app)
    spec = tmp_path / "orgs.yaml"
    spec.write_text(
        "version: 1\norganizations:\n  - name: big\n    connections: [{name: conn-1499}]\n"
    )
    assert main(["check", str(spec), "--domain", domain, "--org", "big"]) == 1
    out = capsys.readouterr().out
    assert (
        "connection conn-1499 is declared but the tenant has no connection of that name (did you mean conn-149?)"
        in out
    )
    assert app.stats.snapshot().requests["connections"] == 2
