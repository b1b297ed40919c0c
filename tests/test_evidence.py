"""Evidence an auditor can verify: an online run with drift against the emulator writes the
snapshot of the very state it read (`check --write-snapshot`); `check SPEC --live SNAPSHOT`
on that file re-derives the run's findings and its live-state digest. The digest is RFC 8785
canonical JSON, so a snapshot reformatted keeps it; the JSON report carries the complete
evidence and the HTML page shows it."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from orgdrift.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    EmulatorConfig,
    create_app,
)
from orgdrift.emulator.config import READ_SCOPES
from orgdrift.errors import InputError
from orgdrift.evidence import canonical_json, live_state_sha256
from orgdrift.reporters.json_report import read_report
from orgdrift.snapshot import dump_snapshot, parse_snapshot

from .evidence_support import intoto_problems
from .test_cli_check import TENANT, always_503, clean_env, json_report, run, serve, state_of
from .test_since import GLOBEX
from .test_since import serve as since_serve
from .test_since import snapshot as since_snapshot
from .virtual_time import in_process_cli

__all__ = ["clean_env"]  # the autouse fixture: no credentials or CI variables leak in


def _findings(report: dict[str, Any]) -> list[tuple[str, str, str, Any, Any]]:
    return sorted(
        (f["fingerprint"], f["kind"], f["path"], json.dumps(f["expected"]), json.dumps(f["actual"]))
        for org in report["organizations"]
        for f in org["findings"]
    )


def test_a_run_is_re_derived_from_the_snapshot_it_wrote(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    snapshot = tmp_path / "live.json"
    online, offline = tmp_path / "online", tmp_path / "offline"
    for url in serve(TENANT):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        code, _, err = run(
            capsys,
            "check",
            "examples/orgs.yaml",
            "--write-snapshot",
            str(snapshot),
            f"--report=json={online}.json",
            f"--report=intoto={online}.intoto.json",
            f"--report=html={online}.html",
        )
        assert code == 1, err
    monkeypatch.delenv("AUTH0_DOMAIN")
    monkeypatch.delenv("AUTH0_API_TOKEN")
    code, _, err = run(
        capsys,
        "check",
        "examples/orgs.yaml",
        "--live",
        str(snapshot),
        f"--report=json={offline}.json",
        f"--report=intoto={offline}.intoto.json",
    )
    assert code == 1, err
    first = json_report(Path(f"{online}.json").read_text(encoding="utf-8"))
    again = json_report(Path(f"{offline}.json").read_text(encoding="utf-8"))
    assert _findings(again) == _findings(first) and len(_findings(first)) == 4
    assert again["summary"] == first["summary"]
    digest = first["evidence"]["live_state_sha256"]
    assert digest is not None and again["evidence"]["live_state_sha256"] == digest
    file_digest = hashlib.sha256(snapshot.read_bytes()).hexdigest()
    (written,) = first["evidence"]["snapshots"]
    assert written == {"path": str(snapshot), "sha256": file_digest, "role": "written"}
    assert again["evidence"]["snapshots"] == [{**written, "role": "read"}]
    # what the run recorded besides: its times, the tool, the scopes, the requests
    evidence = first["evidence"]
    assert evidence["started_at"] <= first["checked_at"] <= evidence["finished_at"]
    assert evidence["scopes_required"] == ["read:organizations", "read:organization_connections"]
    assert first["stats"]["requests"] > 0 and again["stats"]["requests"] == 0
    assert [f["commit"] for f in first["spec_files"]] == [f["commit"] for f in again["spec_files"]]
    # both statements name the same spec, snapshot and live state: the verdict is re-derived
    statements = [
        json.loads(Path(f"{p}.intoto.json").read_text(encoding="utf-8")) for p in (online, offline)
    ]
    for statement in statements:
        assert intoto_problems(json.dumps(statement)) == []
    subjects = [{s["name"]: s["digest"]["sha256"] for s in st["subject"]} for st in statements]
    assert subjects[0]["examples/orgs.yaml"] == subjects[1]["examples/orgs.yaml"]
    assert subjects[0][str(snapshot)] == subjects[1][str(snapshot)] == file_digest
    live = [v for s in subjects for k, v in s.items() if k.startswith("live-state:")]
    assert live == [digest, digest]
    assert [s["predicate"]["failedTests"] for s in statements] == [
        ["acme", "globex", "initech"]
    ] * 2
    page = Path(f"{online}.html").read_text(encoding="utf-8")
    for shown in (digest, file_digest, "read:organization_connections", "drift (exit code 1)"):
        assert shown in page


def _reformatted(document: dict[str, Any], seed: int) -> bytes:
    """The same JSON document written another way: keys shuffled, no indentation or a wide
    one, non-ASCII escaped or not."""
    rng = random.Random(seed)

    def shuffle(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            rng.shuffle(items)
            return {k: shuffle(v) for k, v in items}
        if isinstance(value, list):
            return [shuffle(v) for v in value]
        return value

    indent = rng.choice([None, 1, 4])
    text = json.dumps(shuffle(document), indent=indent, ensure_ascii=rng.random() < 0.5)
    return text.encode("utf-8")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_the_live_digest_is_that_of_any_formatting_of_the_snapshot(seed: int) -> None:
    state = state_of(TENANT)
    digest = live_state_sha256(state)
    written = dump_snapshot(state)
    assert digest == hashlib.sha256(rfc8785.dumps(json.loads(written))).hexdigest()
    other = _reformatted(json.loads(written), seed)
    assert live_state_sha256(parse_snapshot("other.json", other)) == digest


def test_canonical_json_is_rfc_8785() -> None:
    """The RFC's own example (section 3.2.2): keys by UTF-16 code units, ECMAScript numbers."""
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    assert canonical_json(value) == (
        b'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )


def test_integers_past_2_53_are_digested_as_the_doubles_they_stand_for() -> None:
    """rfc8785 refuses them (IntegerDomainError: exit 4 before); RFC 8785 has every number an
    IEEE 754 double, which is what an ECMAScript verifier parses the snapshot text into."""
    value = {"metadata": {"n": 2**53 + 1}, "quota": [10**29, -(10**25), 2**53 - 1, True]}
    assert canonical_json(value) == (
        b'{"metadata":{"n":9007199254740992},"quota":[1e+29,-1e+25,9007199254740991,true]}'
    )
    state = state_of(TENANT)
    big = state.organizations[0]
    data = {**big.data, "metadata": {"n": 10**29}}
    state = replace(state, organizations=(replace(big, data=data), *state.organizations[1:]))
    written = dump_snapshot(state)
    assert live_state_sha256(parse_snapshot("big.json", written.encode())) == live_state_sha256(
        state
    )


def test_a_snapshot_number_no_reader_agrees_on_is_a_located_problem() -> None:
    for number, message in ((b"9" * 31, "an integer has 31 digits"), (b"1e400", "out of range")):
        raw = b'{"organizations": [{"id": "o", "name": "n", "x": ' + number + b"}]}"
        with pytest.raises(InputError, match=message):
            parse_snapshot("live.json", raw)


def test_the_scopes_granted_are_those_of_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The client-credentials grant says which scopes it gave; the report records them beside
    those the read needed, and the 429s among the requests."""
    config = EmulatorConfig()
    for url in serve(TENANT, config):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_CLIENT_ID", DEFAULT_CLIENT_ID)
        monkeypatch.setenv("AUTH0_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        code, out, err = run(capsys, "check", "examples/orgs.yaml", "--format", "json")
    assert code == 1, err
    report = json_report(out)
    evidence = report["evidence"]
    assert evidence["scopes_required"] == ["read:organizations", "read:organization_connections"]
    assert evidence["scopes_granted"] == sorted(config.clients[DEFAULT_CLIENT_ID][1])
    assert set(evidence["scopes_required"]) <= set(evidence["scopes_granted"])
    assert report["stats"]["rate_limited"] == 0 and report["stats"]["requests"] > 0
    assert DEFAULT_CLIENT_SECRET not in out + err


def test_the_scopes_are_recorded_when_the_token_lacks_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A grant without read:organization_connections: exit 3 before any API request, and the
    report still says which scopes the read needed and which the token was granted."""
    config = EmulatorConfig(
        clients={DEFAULT_CLIENT_ID: (DEFAULT_CLIENT_SECRET, frozenset({"read:organizations"}))}
    )
    for url in serve(TENANT, config):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_CLIENT_ID", DEFAULT_CLIENT_ID)
        monkeypatch.setenv("AUTH0_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        code, out, err = run(capsys, "check", "examples/orgs.yaml", "--format", "json")
    assert code == 3, err
    assert "read:organization_connections" in err
    report = json_report(out)
    assert report["status"] == "incomplete" and report["exit_code"] == 3
    evidence = report["evidence"]
    assert evidence["scopes_required"] == ["read:organizations", "read:organization_connections"]
    assert evidence["scopes_granted"] == ["read:organizations"]
    assert DEFAULT_CLIENT_SECRET not in out + err


def test_the_scopes_are_recorded_when_the_read_fails_after_connecting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every enabled-connections read answers 503 (in process, virtual time): exit 3, and the
    scopes granted by the client-credentials grant are in the evidence."""
    config = EmulatorConfig(faults=always_503)
    domain = in_process_cli(monkeypatch, create_app(state_of(TENANT), config))
    monkeypatch.setenv("AUTH0_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    code, out, err = run(
        capsys, "check", "examples/orgs.yaml", "--domain", domain, "--format", "json"
    )
    assert code == 3, err
    assert "HTTP 503" in err
    evidence = json_report(out)["evidence"]
    assert evidence["scopes_required"] == ["read:organizations", "read:organization_connections"]
    assert evidence["scopes_granted"] == sorted(config.clients[DEFAULT_CLIENT_ID][1])


def test_since_and_write_snapshot_both_in_the_evidence_and_the_statement(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`check --since S1 --write-snapshot S2`: the report records both files, by the sha256 of
    their bytes and in the order the run used them, and the in-toto statement has both as
    subjects; the HTML page shows both."""
    first, second = tmp_path / "s1.json", tmp_path / "s2.json"
    out = tmp_path / "run"
    for tenant in since_serve(monkeypatch):
        since_snapshot(capsys, first)
        tenant.write("PATCH", f"/organizations/{GLOBEX}", {"display_name": "Globex (renamed)"})
        code, _, err = run(
            capsys,
            "check",
            "examples/orgs.yaml",
            "--since",
            str(first),
            "--write-snapshot",
            str(second),
            f"--report=json={out}.json",
            f"--report=intoto={out}.intoto.json",
            f"--report=html={out}.html",
        )
    assert code == 1, err
    sha = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, second)}
    report = json.loads(Path(f"{out}.json").read_text())
    assert report["report_version"] == 4
    assert report["evidence"]["snapshots"] == [
        {"path": str(first), "sha256": sha[first], "role": "since"},
        {"path": str(second), "sha256": sha[second], "role": "written"},
    ]
    statement = Path(f"{out}.intoto.json").read_text()
    assert intoto_problems(statement) == []
    digests = {s["digest"]["sha256"] for s in json.loads(statement)["subject"]}
    assert {sha[first], sha[second]} <= digests
    page = Path(f"{out}.html").read_text()
    assert sha[first] in page and sha[second] in page


def test_a_failed_incremental_read_still_names_its_since_snapshot(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Exit 3 (the tenant log cannot be read and --no-full-fallback): the snapshot the run
    started from is in the report's evidence."""
    first = tmp_path / "s1.json"
    for _ in since_serve(monkeypatch):
        since_snapshot(capsys, first)
    for _ in since_serve(monkeypatch, scopes=READ_SCOPES):
        code, out, err = run(
            capsys,
            "check",
            "examples/orgs.yaml",
            "--since",
            str(first),
            "--no-full-fallback",
            "--format",
            "json",
        )
    assert code == 3, err
    snapshots = json_report(out)["evidence"]["snapshots"]
    sha = hashlib.sha256(first.read_bytes()).hexdigest()
    assert snapshots == [{"path": str(first), "sha256": sha, "role": "since"}]


def test_a_version_3_report_is_still_read() -> None:
    """tests/data/report-v3/drift.json was written by orgdrift with report version 3 (one
    `evidence.snapshot`, `check examples/full-model.yaml --live examples/full-model-tenant.json`):
    it is read back with its snapshot file."""
    path = Path(__file__).resolve().parent / "data" / "report-v3" / "drift.json"
    read = read_report(str(path))
    document = json.loads(path.read_text())
    assert read.report.version == 3
    (snapshot,) = read.report.evidence.snapshots
    assert (snapshot.path, snapshot.sha256, snapshot.role) == (
        document["evidence"]["snapshot"]["path"],
        document["evidence"]["snapshot"]["sha256"],
        "read",
    )
    assert len(read.report.findings) == sum(len(o["findings"]) for o in document["organizations"])
