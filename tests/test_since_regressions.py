"""The four defects that made `check --since` say "in sync" over real drift (or exit 3 with
false advice), each end to end: the CLI against the emulator on a loopback socket, specs that
declare the whole organization model (as `export` writes them), an incremental check compared
with a full one on the same tenant.

1. A client grant changed or deleted tenant-wide changes every organization associated with it.
2. A connection deleted tenant-wide is gone from organizations read through the Early Access
   view too.
3. An organization touched by any write is re-read with every part it declares (no exit 3 with
   "take the snapshot with this spec"), and the `--write-snapshot` chain goes on.
4. A `PATCH /organizations/{id}` keeps the organization's other parts: no false findings.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from orgdrift.cli import main
from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app, running_server
from orgdrift.emulator.app import EmulatorApp
from orgdrift.emulator.config import ALL_SCOPES
from orgdrift.snapshot import parse_snapshot

ROOT = Path(__file__).resolve().parent.parent
FULL_TENANT: dict[str, Any] = json.loads(
    (ROOT / "examples" / "full-model-tenant.json").read_text("utf-8")
)
DEMO_TENANT: dict[str, Any] = json.loads((ROOT / "examples" / "tenant.json").read_text("utf-8"))
ACME, GLOBEX = "org_Ac7mEq2LxT9pRz4K", "org_G1obexC0rp0rat10"
SAML, PORTAL = "con_Sm4lAcmeSaml0001", "cgr_Xq3JmPortal0001"


class Live:
    """The emulated tenant on a loopback socket, and the CLI run against it."""

    def __init__(
        self, app: EmulatorApp, url: str, tmp: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.app, self.url, self.tmp, self.capsys = app, url, tmp, capsys

    def write(self, method: str, path: str, body: Any = None) -> None:
        response = httpx.request(
            method,
            f"{self.url}/api/v2{path}",
            json=body,
            headers={"authorization": f"Bearer {DEFAULT_TOKEN}"},
        )
        assert response.status_code < 300, response.text

    def cli(self, *args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    def export(self) -> str:
        spec = str(self.tmp / "full.yaml")
        code, _, _ = self.cli("export", "-o", spec, "--no-progress")
        assert code == 0
        return spec

    def snapshot(self, spec: str) -> str:
        path = str(self.tmp / "s.json")
        code, _, err = self.cli("snapshot", spec, "-o", path, "--no-progress", "-q")
        assert (code, err) == (0, "")
        return path

    def check(self, spec: str, *args: str) -> tuple[int, dict[str, Any], str]:
        code, out, err = self.cli("check", spec, "--format", "json", "--no-progress", *args)
        report: dict[str, Any] = json.loads(out)
        return code, report, err


def serve(
    document: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> Iterator[Live]:
    for name in ("AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_AUDIENCE", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    state = parse_snapshot("tenant.json", json.dumps(document).encode())
    app = create_app(state, EmulatorConfig(tokens={DEFAULT_TOKEN: ALL_SCOPES}))
    with running_server(app) as url:
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        yield Live(app, url, tmp_path, capsys)


def shared_grant_tenant() -> dict[str, Any]:
    """The full-model tenant, both organizations associated with acme's portal grant."""
    document = copy.deepcopy(FULL_TENANT)
    portal = document["organizations"][0]["client_grants"][0]
    document["organizations"][1]["client_grants"].append(copy.deepcopy(portal))
    return document


@pytest.fixture
def full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Iterator[Live]:
    yield from serve(shared_grant_tenant(), tmp_path, monkeypatch, capsys)


def findings(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted(
        (org["name"], f["kind"], f["path"])
        for org in report["organizations"]
        for f in org["findings"]
    )


def same_verdict(live: Live, spec: str, since: str) -> tuple[int, dict[str, Any]]:
    """`check --since` and a full check agree (exit code, findings), and the incremental one
    read incrementally; its exit code and report."""
    code, incremental, err = live.check(spec, "--since", since)
    full_code, full_report, _ = live.check(spec)
    assert (code, findings(incremental)) == (full_code, findings(full_report))
    assert incremental["basis"]["full_read_because"] is None, err
    return code, incremental


@pytest.mark.parametrize(
    ("method", "body"), [("PATCH", {"scope": ["read:orders"]}), ("DELETE", None)]
)
def test_a_client_grant_changed_tenant_wide_is_seen_in_every_organization_that_has_it(
    full: Live, method: str, body: Any
) -> None:
    spec = full.export()
    since = full.snapshot(spec)
    full.write(method, f"/client-grants/{PORTAL}", body)
    code, report = same_verdict(full, spec, since)
    kind = "client_grant_scope_changed" if method == "PATCH" else "client_grant_missing"
    assert code == 1
    assert {(org, k) for org, k, _ in findings(report)} == {("acme", kind), ("globex", kind)}
    assert set(report["basis"]["reread"]) == {ACME, GLOBEX}


def test_a_connection_deleted_tenant_wide_is_gone_from_the_early_access_view_too(
    full: Live,
) -> None:
    spec = full.export()
    assert "organization_access_level" in Path(spec).read_text()  # acme: the Early Access view
    since = full.snapshot(spec)
    full.write("DELETE", f"/connections/{SAML}")
    code, report = same_verdict(full, spec, since)
    assert code == 1
    assert findings(report) == [("acme", "connection_missing", "connections.acme-saml")]


def test_an_organization_touched_by_a_write_is_reread_with_every_declared_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The demo tenant: `export -o full.yaml`, `snapshot full.yaml -o s.json`, one PATCH of a
    display name, `check full.yaml --since s.json` (it exited 3)."""
    for live in serve(DEMO_TENANT, tmp_path, monkeypatch, capsys):
        spec = live.export()
        since = live.snapshot(spec)
        globex = DEMO_TENANT["organizations"][1]
        live.write("PATCH", f"/organizations/{globex['id']}", {"display_name": "Globex 2"})
        code, report = same_verdict(live, spec, since)
        assert code == 1
        assert findings(report) == [(globex["name"], "field_changed", "display_name")]
        assert report["basis"]["reread"] == [globex["id"]]


def test_every_kind_of_write_keeps_the_write_snapshot_chain_going(full: Live) -> None:
    spec = full.export()
    first = full.snapshot(spec)
    writes: list[tuple[str, str, Any]] = [
        ("PATCH", f"/organizations/{GLOBEX}", {"display_name": "Globex Corporation"}),  # a no-op
        ("POST", f"/organizations/{GLOBEX}/discovery-domains", {"domain": "globex.org"}),
        (
            "PATCH",
            f"/organizations/{ACME}/connections/{SAML}",
            {"organization_access_level": "full"},
        ),
        ("DELETE", f"/organizations/{ACME}/client-grants/cgr_Xq3JmBilling001", None),
    ]
    since = first
    for n, (method, path, body) in enumerate(writes):
        full.write(method, path, body)
        chained = str(full.tmp / f"chain-{n}.json")
        code, report, err = full.check(spec, "--since", since, "--write-snapshot", chained)
        full_code, full_report, _ = full.check(spec)
        assert (code, findings(report)) == (full_code, findings(full_report))
        assert report["basis"]["full_read_because"] is None, err
        since = chained
    assert code == 1
    assert {k for _, k, _ in findings(report)} == {
        "discovery_domain_not_allowed",
        "connection_setting_changed",
        "client_grant_missing",
    }


def test_patching_an_organization_keeps_its_other_parts(full: Live) -> None:
    spec = full.export()
    since = full.snapshot(spec)
    full.write("PATCH", f"/organizations/{ACME}", {"metadata": {"tier": "gold"}})
    code, report = same_verdict(full, spec, since)
    assert code == 1
    # The metadata only: acme's Early Access connections, grants and domains are as they were.
    assert findings(report) == [("acme", "field_changed", "metadata.tier")]


def test_a_tenant_without_the_early_access_view_gives_the_full_checks_exit_3(
    full: Live,
) -> None:
    """The spec declares access levels; the tenant stops offering the Early Access view after
    the snapshot. The re-read says what the full read says, never "take the snapshot"."""
    spec = full.export()
    since = full.snapshot(spec)
    full.write("PATCH", f"/organizations/{ACME}/connections/{SAML}", {"show_as_button": False})
    full.app.config = replace(full.app.config, organization_connections=False)
    code, report, err = full.check(spec, "--since", since)
    full_code, full_report, _ = full.check(spec)
    assert code == full_code == 3
    assert report["incomplete"] == full_report["incomplete"]
    assert "Early Access" in err and "take the snapshot" not in err
