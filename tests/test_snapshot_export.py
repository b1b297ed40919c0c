"""`orgdrift snapshot`, `check --live` and `export` end to end over a loopback emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app, running_server
from orgdrift.snapshot import load_snapshot

from .test_cli_check import CREDENTIAL_VARS, ROOT, TENANT, run, state_of


@pytest.fixture
def tenant_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(ROOT)
    app = create_app(state_of(TENANT), EmulatorConfig())
    with running_server(app) as url:
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        yield url


def findings(report_text: str) -> list[tuple[Any, ...]]:
    report = json.loads(report_text)
    return [
        (
            o["name"],
            o["status"],
            f["kind"],
            f["path"],
            json.dumps(f["expected"]),
            json.dumps(f["actual"]),
            f["source"] and f["source"]["line"],
        )
        for o in report["organizations"]
        for f in o["findings"]
    ]


def test_offline_check_agrees_with_online(
    tenant_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    online_code, online, _ = run(capsys, "check", "examples/orgs.yaml", "--format", "json")
    snap = tmp_path / "live.json"
    code, _, err = run(capsys, "snapshot", "examples/orgs.yaml", "-o", str(snap))
    assert code == 0, err
    offline_code, offline, _ = run(
        capsys, "check", "examples/orgs.yaml", "--live", str(snap), "--format", "json"
    )
    assert (offline_code, findings(offline)) == (online_code, findings(online))
    assert online_code == 1
    assert json.loads(offline)["source"] == "snapshot"
    state = load_snapshot(str(snap))
    assert state.complete  # the spec reports unmanaged organizations: the listing is whole
    assert state.tenant == tenant_url.removeprefix("http://")


def test_snapshot_is_deterministic_apart_from_time(
    tenant_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert run(capsys, "snapshot", "--all", "-o", str(first))[0] == 0
    assert run(capsys, "snapshot", "--all", "-o", str(second))[0] == 0
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    a["taken_at"] = b["taken_at"] = None
    assert a == b
    assert len(a["organizations"]) == len(TENANT["organizations"])
    assert all("enabled_connections" in org for org in a["organizations"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_partial_snapshot_cannot_check_unmanaged(
    tenant_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = tmp_path / "partial.json"
    assert run(capsys, "snapshot", "--all", "--org", "acme", "-o", str(snap))[0] == 0
    code, out, err = run(capsys, "check", "examples/orgs.yaml", "--live", str(snap))
    assert code == 3
    assert out == ""
    assert "unmanaged" in err


def test_export_then_check_is_in_sync(
    tenant_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "exported.yaml"
    code, _, err = run(capsys, "export", "-o", str(exported))
    assert code == 0, err
    assert run(capsys, "validate", str(exported))[0] == 0
    code, out, err = run(capsys, "check", str(exported), "--format", "text")
    assert code == 0, out + err
    assert out.splitlines()[-1].startswith("in sync")


def test_export_named_organization_to_stdout(
    tenant_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "export", "--org", "acme")
    assert code == 0
    assert "name: acme" in out
    assert "globex" not in out
    code, _, err = run(capsys, "export", "--org", "no-such-org")
    assert code == 2
    assert "no-such-org" in err


def test_check_live_rejects_bad_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"organizations": [{"id": 3}]}', encoding="utf-8")
    code, _, err = run(capsys, "check", str(ROOT / "examples" / "orgs.yaml"), "--live", str(bad))
    assert code == 2
    assert "$.organizations[0].id" in err


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"organizations": {}}, "$.organizations: {} is not of type 'array'"),
        ({"snapshot_version": 2, "organizations": []}, "$.snapshot_version: 1 was expected"),
        ({"organizations": [{"id": "org_1"}]}, "$.organizations[0]: 'name' is required"),
        (
            {"organizations": [{"id": "org_1", "name": "a", "branding": []}]},
            "$.organizations[0].branding: [] is not of type 'object', 'null'",
        ),
        (
            {"organizations": [{"id": "o", "name": "a", "enabled_connections": [{}]}]},
            "$.organizations[0].enabled_connections[0]: 'connection_id' is required",
        ),
        (
            {"organizations": [{"id": "org_1", "name": "a"}, {"id": "org_1", "name": "b"}]},
            "$.organizations[1].id: organization org_1 appears twice",
        ),
        ("[" * 50 + "]" * 50, "JSON nested more than 35 levels deep"),
    ],
)
def test_a_snapshot_its_schema_refuses_is_exit_2_naming_the_file_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: Any, expected: str
) -> None:
    snapshot = tmp_path / "state.json"
    text = document if isinstance(document, str) else json.dumps(document)
    snapshot.write_text(text, encoding="utf-8")
    code, _, err = run(
        capsys, "check", str(ROOT / "examples" / "orgs.yaml"), "--live", str(snapshot)
    )
    assert code == 2
    assert f"{snapshot}: {expected}" in err
