"""`check --since` end to end: the CLI against the emulator over a loopback
socket. The snapshot's log checkpoint, the incremental verdict equal to a full check's, runs
chained through --write-snapshot, and every fail-closed fallback said on stderr and in the
report (or exit 3 with --no-full-fallback)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from orgdrift import __version__
from orgdrift.cli import main
from orgdrift.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    EmulatorConfig,
    create_app,
    running_server,
)
from orgdrift.emulator.app import EmulatorApp
from orgdrift.emulator.config import ALL_SCOPES, READ_SCOPES
from orgdrift.emulator.tenantlog import other_entry, sapi_entry
from orgdrift.models import LiveState
from orgdrift.resources import REPORT_SCHEMA, load_schema
from orgdrift.snapshot import dump_snapshot, load_snapshot

from .incremental_support import (
    connection_id,
    generated_org_id,
    generated_spec,
    generated_state,
)

ROOT = Path(__file__).resolve().parent.parent
SPEC = "examples/orgs.yaml"  # relative: the tests run from the repository root
TENANT = ROOT / "examples" / "tenant.json"
GLOBEX = "org_Gl0bexN5kW8dYc3H"
ACME = "org_Ac7mEq2LxT9pRz4K"
UMBRELLA = "org_W8ptrr1BXH1qvVm0"
GOOGLE = "con_G00gleOauth2x01"


class Tenant:
    def __init__(self, app: EmulatorApp, url: str) -> None:
        self.app = app
        self.url = url

    def write(self, method: str, path: str, body: Any = None) -> httpx.Response:
        response = httpx.request(
            method,
            f"{self.url}/api/v2{path}",
            json=body,
            headers={"authorization": f"Bearer {DEFAULT_TOKEN}"},
        )
        assert response.status_code < 300, response.text
        return response


def serve(
    monkeypatch: pytest.MonkeyPatch,
    scopes: frozenset[str] = ALL_SCOPES,
    state_file: Path = TENANT,
    **config: Any,
) -> Iterator[Tenant]:
    for name in (
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
        "AUTH0_AUDIENCE",
        "GITHUB_ACTIONS",
        "NO_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(ROOT)
    app = create_app(
        load_snapshot(str(state_file)), EmulatorConfig(tokens={DEFAULT_TOKEN: scopes}, **config)
    )
    with running_server(app) as url:
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        yield Tenant(app, url)


@pytest.fixture
def tenant(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenant]:
    yield from serve(monkeypatch)


def run(
    capsys: pytest.CaptureFixture[str], *args: str, spec: str = SPEC
) -> tuple[int, dict[str, Any], str]:
    code = main(["check", spec, "--format", "json", "--no-progress", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    report: dict[str, Any] = json.loads(out)
    jsonschema.Draft202012Validator(load_schema(REPORT_SCHEMA)).validate(report)
    return code, report, err


def snapshot(capsys: pytest.CaptureFixture[str], path: Path, *specs: str) -> str:
    code = main(["snapshot", *(specs or (SPEC,)), "-o", str(path), "--no-progress", "-q"])
    _, err = capsys.readouterr()
    assert code == 0
    return err


def verdict(report: dict[str, Any]) -> tuple[Any, ...]:
    """What must be equal between an incremental and a full check."""
    return report["status"], report["exit_code"], report["summary"], report["organizations"]


def test_snapshot_records_checkpoint_spec_hashes_and_version(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = snapshot(capsys, tmp_path / "s.json")
    assert err == ""
    document = json.loads((tmp_path / "s.json").read_text())
    newest = tenant.app.log.visible()[-1]["log_id"]
    assert document["log_checkpoint"] == newest
    assert document["tool_version"] == __version__
    assert len(document["spec_sha256"]) == 1 and len(document["spec_sha256"][0]) == 64


def generated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Tenant, str]]:
    """35 organizations, 30 of them declared (in sync), served with every scope."""
    state = generated_state(35)
    spec = tmp_path / "generated.yaml"
    spec.write_text(generated_spec(LiveState(state.organizations[:30], complete=True)))
    (tmp_path / "tenant.json").write_text(dump_snapshot(state))
    for tenant in serve(monkeypatch, state_file=tmp_path / "tenant.json"):
        yield tenant, str(spec)


def test_incremental_check_equals_full_check_and_chains(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for tenant, spec in generated(monkeypatch, tmp_path):
        snapshot(capsys, tmp_path / "s1.json", spec)
        tenant.write("PATCH", f"/organizations/{generated_org_id(3)}", {"display_name": "x"})
        tenant.app.log.append(other_entry("s", "Success Login"))
        tenant.write("DELETE", f"/connections/{connection_id(4)}")
        created = tenant.write("POST", "/organizations", {"name": "newco"}).json()["id"]
        tenant.write("DELETE", f"/organizations/{created}")
        tenant.write("POST", "/organizations", {"name": "unmanaged-new"})
        tenant.write("DELETE", f"/organizations/{generated_org_id(7)}")
        tenant.write("PATCH", f"/organizations/{generated_org_id(8)}", {"name": "org-renamed"})

        code, incremental, err = run(
            capsys,
            "--since",
            str(tmp_path / "s1.json"),
            "--write-snapshot",
            str(tmp_path / "s2.json"),
            spec=spec,
        )
        full_code, full, _ = run(capsys, spec=spec)
        assert code == full_code == 1
        assert verdict(incremental) == verdict(full)
        assert {o["status"] for o in full["organizations"]} == {
            "in_sync",
            "drifted",
            "missing",
            "unmanaged",
        }
        basis = incremental["basis"]
        assert basis["full_read_because"] is None and basis["full_read"] is False
        assert basis["log_range"]["entries"] == 8
        touched_by_connection = {
            generated_org_id(i)
            for i in range(30)  # undeclared ones: connections not read
            if any(
                c["connection_id"] == connection_id(4)
                for c in generated_state(35).organizations[i].connections or ()
            )
        }
        assert set(basis["reread"]) >= touched_by_connection | {
            generated_org_id(3),
            generated_org_id(7),
            generated_org_id(8),
            created,
        }
        # org-00007 (deleted) and org-00008 (renamed away): "missing" is proven by a lookup
        assert basis["looked_up"] == 2
        assert "full read" not in err
        assert incremental["stats"]["requests"] <= full["stats"]["requests"]

        # Chained: nothing changed since s2, so nothing is re-read.
        code, again, _ = run(capsys, "--since", str(tmp_path / "s2.json"), spec=spec)
        assert code == 1 and verdict(again) == verdict(full)
        assert again["basis"]["log_range"]["entries"] == 0 and again["basis"]["reread"] == []
        # the checkpoint lookup, one empty log page, two lookups proving "missing"
        assert again["stats"]["requests"] == 4


def test_more_changes_than_a_full_read_costs_fall_back(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot(capsys, tmp_path / "s1.json")
    tenant.write("PATCH", f"/organizations/{GLOBEX}", {"display_name": "Globex Corporation"})
    tenant.write("DELETE", f"/connections/{GOOGLE}")  # acme and umbrella had it
    tenant.write("POST", "/organizations", {"name": "newco"})
    tenant.write("POST", "/organizations", {"name": "hooli2"})
    code, incremental, err = run(capsys, "--since", str(tmp_path / "s1.json"))
    full_code, full, _ = run(capsys)
    assert code == full_code == 1 and verdict(incremental) == verdict(full)
    because = (
        "re-reading what the logs touched in 5 organizations (8 requests, and 1 for the logs) "
        "would cost more than a full read (6)"
    )
    assert incremental["basis"]["full_read_because"] == because
    assert f"orgdrift: full read instead of incremental: {because}" in err


def test_text_and_markdown_state_the_basis_in_one_line(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot(capsys, tmp_path / "s.json")
    tenant.write("PATCH", f"/organizations/{GLOBEX}", {"display_name": "Globex Corporation"})
    main(
        [
            "check",
            SPEC,
            "--since",
            str(tmp_path / "s.json"),
            "--no-progress",
            "--format",
            "text",
            "--report",
            f"markdown={tmp_path / 'r.md'}",
            "--report",
            f"html={tmp_path / 'r.html'}",
        ]
    )
    out = capsys.readouterr().out
    basis = [line for line in out.splitlines() if line.startswith("basis:")]
    assert len(basis) == 1
    assert "1 entry" in basis[0] and "1 organization re-read" in basis[0]
    assert (
        sum("basis: snapshot of" in line for line in (tmp_path / "r.md").read_text().splitlines())
        == 1
    )
    html = (tmp_path / "r.html").read_text()
    assert ">Basis<" in html and GLOBEX in html


def test_without_read_logs_the_snapshot_says_so_and_since_reads_everything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in serve(monkeypatch, READ_SCOPES):
        err = snapshot(capsys, tmp_path / "s.json")
        assert err.count("no log checkpoint") == 1 and "read:logs" in err
        assert "log_checkpoint" not in json.loads((tmp_path / "s.json").read_text())
        code, report, err = run(capsys, "--since", str(tmp_path / "s.json"))
        _, full, _ = run(capsys)
        assert code == 1 and verdict(report) == verdict(full)
        assert report["basis"]["full_read"] is True
        assert report["basis"]["full_read_because"] == "the snapshot has no log checkpoint"
        assert (
            "orgdrift: full read instead of incremental: the snapshot has no log checkpoint" in err
        )
        code, report, err = run(capsys, "--since", str(tmp_path / "s.json"), "--no-full-fallback")
        assert code == 3 and report["status"] == "incomplete"
        assert "--no-full-fallback" in report["incomplete"]["message"]


def test_a_token_that_loses_read_logs_falls_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for tenant in serve(monkeypatch):
        snapshot(capsys, tmp_path / "s.json")
        object.__setattr__(tenant.app.config, "tokens", {DEFAULT_TOKEN: READ_SCOPES})
        code, report, err = run(capsys, "--since", str(tmp_path / "s.json"))
        assert (
            code == 1 and report["basis"]["full_read_because"] == "the API refused read:logs (403)"
        )
        assert "read:logs" in err


def test_checkpoint_past_retention_falls_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for tenant in serve(monkeypatch, log_retention=5):
        snapshot(capsys, tmp_path / "s.json")
        for i in range(5):
            tenant.app.log.append(other_entry("s", f"login {i}"))
        tenant.write("PATCH", f"/organizations/{GLOBEX}", {"display_name": "Globex Corporation"})
        code, report, err = run(
            capsys,
            "--since",
            str(tmp_path / "s.json"),
            "--write-snapshot",
            str(tmp_path / "s2.json"),
        )
        _, full, _ = run(capsys)
        assert code == full["exit_code"] and verdict(report) == verdict(full)
        assert "no longer retained" in report["basis"]["full_read_because"]
        assert "no longer retained" in err
        # The full read wrote a fresh checkpoint: the next run is incremental again.
        code, report, _ = run(capsys, "--since", str(tmp_path / "s2.json"))
        assert report["basis"]["full_read"] is False


def test_an_unattributable_entry_falls_back(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot(capsys, tmp_path / "s.json")
    tenant.app.log.append(
        sapi_entry(
            description="Dashboard",
            method="post",
            path="/api/v2/organizations-bulk-import",
            body={},
            status=200,
            response={},
            client_id="dashboard",
        )
    )
    code, report, err = run(capsys, "--since", str(tmp_path / "s.json"))
    assert code == 1
    assert "could not be attributed" in report["basis"]["full_read_because"]
    assert "could not be attributed" in err


def test_another_spec_reads_what_the_snapshot_lacks_and_another_tool_version_falls_back(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The snapshot's spec declares one organization (every organization listed, only globex's
    # connections read); the check's declares them all: it reads the connections it lacks.
    text = Path(SPEC).read_text()
    narrow = tmp_path / "globex.yaml"
    narrow.write_text(
        text[: text.index("  - name: acme")]
        + text[text.index("  - name: globex") :][
            : text[text.index("  - name: globex") :].index("  - name: initech")
        ]
    )
    snapshot(capsys, tmp_path / "s.json", str(narrow))
    other = tmp_path / "orgs.yaml"
    other.write_text(text + "\n# edited\n")
    code = main(["check", str(other), "--format", "json", "--since", str(tmp_path / "s.json")])
    report = json.loads(capsys.readouterr().out)
    full_code = main(["check", str(other), "--format", "json"])
    full = json.loads(capsys.readouterr().out)
    assert (code, verdict(report)) == (full_code, verdict(full))
    assert report["basis"]["full_read_because"] is None
    assert report["basis"]["looked_up"] == 0
    assert len(report["basis"]["reread"]) == report["scope"]["declared"] - 1  # all but globex
    document = json.loads((tmp_path / "s.json").read_text())
    document["tool_version"] = "0.0.1"
    (tmp_path / "old.json").write_text(json.dumps(document))
    code, report, _ = run(capsys, "--since", str(tmp_path / "old.json"))
    assert code == 1
    assert report["basis"]["full_read_because"] == (
        f"the snapshot was taken by orgdrift 0.0.1, not {__version__}"
    )


def test_usage_errors_before_any_request(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot(capsys, tmp_path / "s.json")
    served = tenant.app.stats.total
    assert main(["check", SPEC, "--no-full-fallback"]) == 2
    assert main(["check", SPEC, "--live", str(tmp_path / "s.json"), "--since", "x"]) == 2
    assert (
        main(
            [
                "check",
                SPEC,
                "--since",
                str(tmp_path / "s.json"),
                "--write-snapshot",
                str(tmp_path / "s.json"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "is an input of this run" in err
    assert tenant.app.stats.total == served


def test_check_write_snapshot_alone_records_a_checkpoint_for_the_next_since(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, full, err = run(capsys, "--write-snapshot", str(tmp_path / "s.json"))
    assert code == 1 and "basis" not in full and err == ""
    document = json.loads((tmp_path / "s.json").read_text())
    assert document["log_checkpoint"] == tenant.app.log.visible()[-1]["log_id"]
    tenant.write("PATCH", f"/organizations/{GLOBEX}", {"display_name": "Globex Corporation"})
    code, report, _ = run(capsys, "--since", str(tmp_path / "s.json"))
    _, after, _ = run(capsys)
    assert verdict(report) == verdict(after) != verdict(full)
    assert report["basis"]["reread"] == [GLOBEX]


def test_emulator_command_takes_the_log_options() -> None:
    from orgdrift.cli import _parser

    args = _parser().parse_args(
        ["emulator", "--state", "t.json", "--log-delay-ms", "1500", "--log-retention", "100"]
    )
    assert (args.log_delay_ms, args.log_retention) == (1500.0, 100)
    with pytest.raises(SystemExit):
        _parser().parse_args(["emulator", "--state", "t.json", "--log-retention", "0"])


def test_goldens_of_an_incremental_check(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str], golden: Any
) -> None:
    snapshot(capsys, tmp_path / "s.json")
    tenant.write("PATCH", f"/organizations/{GLOBEX}", {"display_name": "Globex Corporation"})
    tenant.app.log.append(other_entry("s", "Success Login"))
    since = str(tmp_path / "s.json")
    outputs = {}
    for fmt in ("text", "markdown", "json", "sarif", "junit", "github"):
        main(
            ["check", SPEC, "--since", since, "--format", fmt, "--no-progress", "--color", "never"]
        )
        outputs[fmt] = capsys.readouterr().out

    def stable(text: str) -> str:
        text = text.replace(since, "<tmp>/s.json")
        # the --since snapshot's bytes hold the time it was taken
        text = re.sub(r'"sha256": "[0-9a-f]{64}"(,\s*"role")', r'"sha256": "<sha256>"\1', text)
        text = re.sub(r"\b\d{56}\b", "<log_id>", text)
        text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", text)
        text = re.sub(r"http://127\.0\.0\.1:\d+", "<loopback>", text)
        text = re.sub(r"127\.0\.0\.1:\d+", "<loopback>", text)
        text = re.sub(r"127_0_0_1:\d+", "<loopback>", text)  # a JUnit classname
        text = re.sub(
            r'"fingerprint": "[0-9a-f]+"', '"fingerprint": "<hashes the loopback port>"', text
        )
        text = re.sub(
            r'("orgdriftFinding/v1"): "[0-9a-f]+"', r'\1: "<hashes the loopback port>"', text
        )
        text = re.sub(r'time="[\d.]+"', 'time="0"', text)
        # the commit checked out; the live state's digest (it holds the time of the read)
        text = re.sub(r'"commit": "[0-9a-f]{40}"', '"commit": "<commit>"', text)
        text = re.sub(
            r'"live_state_sha256": "[0-9a-f]{64}"', '"live_state_sha256": "<sha256>"', text
        )
        return re.sub(r'("requests"|"retries"|"rate_limited"|"seconds"): [\d.]+', r"\1: 0", text)

    # Every format says what the verdict rests on: the snapshot, the log range, the re-reads.
    for fmt, suffix in (
        ("text", "txt"),
        ("markdown", "md"),
        ("json", "json"),
        ("sarif", "sarif"),
        ("junit", "xml"),
        ("github", "github.txt"),
    ):
        golden(f"since/drift.{suffix}", stable(outputs[fmt]))
        assert "re-read" in outputs[fmt] or '"reread"' in outputs[fmt], fmt


def test_a_granted_scope_list_without_read_logs_costs_no_log_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Client credentials: the token response lists the scopes, so no request is wasted."""
    for tenant in serve(
        monkeypatch, READ_SCOPES, clients={DEFAULT_CLIENT_ID: (DEFAULT_CLIENT_SECRET, READ_SCOPES)}
    ):
        monkeypatch.delenv("AUTH0_API_TOKEN")
        monkeypatch.setenv("AUTH0_CLIENT_ID", DEFAULT_CLIENT_ID)
        monkeypatch.setenv("AUTH0_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        err = snapshot(capsys, tmp_path / "s.json")
        assert err.count("\n") == 1
        assert "the token lacks read:logs, so the snapshot has no log checkpoint" in err
        assert "logs" not in tenant.app.stats.requests
