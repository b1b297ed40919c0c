"""Living with drift end to end: `exceptions:`, `ignore:`, `--baseline`,
`--changed-from` and `--org` globs, through the CLI against the emulator over a loopback socket.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from orgdrift.cli import main
from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app, running_server
from orgdrift.emulator.app import EmulatorApp
from orgdrift.resources import REPORT_SCHEMA, load_schema
from orgdrift.snapshot import parse_snapshot

ROOT = Path(__file__).resolve().parent.parent
TENANT = json.loads((ROOT / "examples" / "tenant.json").read_text(encoding="utf-8"))
SPEC = (ROOT / "examples" / "orgs.yaml").read_text(encoding="utf-8")
FAR = "2099-12-31"  # an expiry no test run reaches

# The demo tenant's three drifts, as (organization, kind, path).
ACME_GOOGLE = ("acme", "connection_not_allowed", "connections.google-oauth2")
GLOBEX_NAME = ("globex", "field_changed", "display_name")
INITECH_OKTA = (
    "initech",
    "connection_setting_changed",
    "connections.initech-okta.assign_membership_on_login",
)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AUTH0_DOMAIN",
        "AUTH0_API_TOKEN",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
        "GITHUB_ACTIONS",
        "GITHUB_WORKSPACE",
        "NO_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def tenant(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorApp]:
    state = parse_snapshot("tenant.json", json.dumps(TENANT).encode())
    app = create_app(state, EmulatorConfig())
    with running_server(app) as url:
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        yield app


def write_spec(text: str, path: str = "orgs.yaml") -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["check", *args, "--format", "json", "--no-progress"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    report: dict[str, Any] = json.loads(out)
    jsonschema.Draft202012Validator(load_schema(REPORT_SCHEMA)).validate(report)
    return code, report, err


def findings(report: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (f["organization"], f["kind"], f["path"]): f
        for org in report["organizations"]
        for f in org["findings"]
        if f["kind"] != "organization_unmanaged"
    }


def exceptions(*entries: str) -> str:
    return "exceptions:\n" + "".join(entries)


# --- exceptions --------------------------------------------------------------------------------


def test_accepted_drift_never_fails_and_stays_in_every_report(
    tenant: EmulatorApp, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = write_spec(
        SPEC
        + exceptions(
            "  - organization: acme\n"
            "    kind: connection_not_allowed\n"
            "    path: connections.google-*\n"
            "    reason: SSO migration, SEC-142\n"
            f"    expires: {FAR}\n"
            '    owner: "@platform"\n',
            f"  - organization: glob*\n    reason: rename pending, OPS-9\n    expires: {FAR}\n",
            "  - organization: init*\n"
            "    path: connections.initech-okta.*\n"
            "    reason: IdP cut-over\n"
            f"    expires: {FAR}\n",
        )
    )
    reports = {
        fmt: tmp_path / f"r.{fmt}"
        for fmt in ("text", "sarif", "junit", "markdown", "github", "html")
    }
    code, report, _ = check(capsys, spec, *(f"--report={f}={p}" for f, p in reports.items()))
    assert code == 0
    assert (report["status"], report["in_sync"]) == ("in_sync", True)
    got = findings(report)
    assert set(got) == {ACME_GOOGLE, GLOBEX_NAME, INITECH_OKTA}  # all still reported
    assert got[ACME_GOOGLE]["accepted"] == {
        "reason": "SSO migration, SEC-142",
        "expires": FAR,
        "owner": "@platform",
        "source": {"file": "orgs.yaml", "line": 56, "column": 5},
    }
    assert got[GLOBEX_NAME]["accepted"]["owner"] is None
    assert report["summary"]["accepted"] == 3 and report["summary"]["failing"] == 0
    assert report["warnings"] == []
    text = reports["text"].read_text(encoding="utf-8")
    assert "(accepted until 2099-12-31: SSO migration, SEC-142, owner @platform)" in text
    assert (
        text.splitlines()[-1]
        == "in sync: 6 organizations checked, 4 findings (1 warning, 3 accepted)"
    )
    sarif = json.loads(reports["sarif"].read_text(encoding="utf-8"))
    suppressed = [r for r in sarif["runs"][0]["results"] if "suppressions" in r]
    assert len(suppressed) == 3
    assert suppressed[0]["suppressions"][0]["status"] == "accepted"
    assert "SSO migration, SEC-142" in json.dumps(suppressed)
    junit = reports["junit"].read_text(encoding="utf-8")
    assert "<failure" not in junit and "accepted until 2099-12-31" in junit
    assert "accepted until 2099-12-31" in reports["markdown"].read_text(encoding="utf-8")
    github = reports["github"].read_text(encoding="utf-8")
    assert "::error" not in github and "(accepted)::acme" in github
    assert "SSO migration, SEC-142" in reports["html"].read_text(encoding="utf-8")


def test_an_expired_exception_stops_matching_and_the_finding_says_so(
    tenant: EmulatorApp, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(
        SPEC
        + exceptions(
            "  - organization: acme\n    reason: SSO migration, SEC-142\n    expires: 2020-01-31\n"
        )
    )
    code, report, _ = check(capsys, spec)
    assert code == 1
    finding = findings(report)[ACME_GOOGLE]
    assert finding["accepted"] is None
    assert finding["expired_exception"]["expires"] == "2020-01-31"
    assert main(["check", spec, "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "(exception expired 2020-01-31: SSO migration, SEC-142)" in out


def test_unused_and_expiring_exceptions_are_warnings_at_their_line(
    tenant: EmulatorApp, capsys: pytest.CaptureFixture[str]
) -> None:
    soon = datetime.now(UTC).date() + timedelta(days=3)
    spec = write_spec(
        SPEC
        + exceptions(
            f"  - organization: acme\n    reason: soon\n    expires: {soon.isoformat()}\n",
            f"  - organization: nobody-*\n    reason: stale\n    expires: {FAR}\n",
        )
    )
    code, report, _ = check(capsys, spec)
    assert code == 1  # globex and initech still drift; the warnings change nothing
    assert [(w["line"], w["message"]) for w in report["warnings"]] == [
        (56, f"exception for acme expires in 3 days ({soon.isoformat()}): soon"),
        (59, "exception for nobody-* matches no finding"),
    ]
    assert main(["check", spec, "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "orgs.yaml:59:5: warning: exception for nobody-* matches no finding" in out


def test_a_scoped_run_does_not_call_other_organizations_exceptions_unused(
    tenant: EmulatorApp, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(
        SPEC + exceptions(f"  - organization: acme\n    reason: r\n    expires: {FAR}\n")
    )
    code, report, _ = check(capsys, spec, "--org", "glo*")
    assert code == 1
    assert report["warnings"] == []
    assert report["scope"]["organizations"] == ["glo*"]
    assert [o["name"] for o in report["organizations"]] == ["globex"]


# --- ignore --------------------------------------------------------------------------------------


def test_ignored_fields_are_never_compared(
    tenant: EmulatorApp, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SPEC.replace("defaults:\n", "defaults:\n  ignore: [display_name]\n", 1)
    text = text.replace(
        "  - name: acme\n", "  - name: acme\n    ignore: [connections.google-oauth2]\n", 1
    )
    code, report, _ = check(capsys, write_spec(text))
    assert code == 1
    assert set(findings(report)) == {INITECH_OKTA}


# --- baselines -----------------------------------------------------------------------------------


def test_a_baseline_makes_known_drift_known_and_new_drift_fail(
    tenant: EmulatorApp, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = write_spec(SPEC)
    code, first, _ = check(capsys, spec, "--report", f"json={tmp_path / 'base.json'}")
    assert code == 1
    fingerprints = {f["fingerprint"] for f in findings(first).values()}
    assert len(fingerprints) == 3 and all(len(f) == 32 for f in fingerprints)

    code, again, _ = check(capsys, spec, "--baseline", str(tmp_path / "base.json"))
    assert code == 0  # nothing new
    assert all(f["known"] for f in findings(again).values())
    assert again["summary"]["known"] == 4  # the unmanaged pied-piper warning too
    assert again["scope"]["baseline"] == str(tmp_path / "base.json")

    # one more drift (the spec now differs on initech's display name): only it fails
    worse = write_spec(SPEC.replace("display_name: Initech\n", "display_name: Initech Ltd\n"))
    code, third, _ = check(
        capsys, worse, "--baseline", str(tmp_path / "base.json"), "--format", "json"
    )
    assert code == 1
    new = [k for k, f in findings(third).items() if not f["known"]]
    assert new == [("initech", "field_changed", "display_name")]
    base = str(tmp_path / "base.json")
    assert main(["check", worse, "--baseline", base, "--format", "sarif", "--no-progress"]) == 1
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    states = {
        (r["properties"]["organization"], r["properties"]["path"]): r["baselineState"]
        for r in results
    }
    assert states.pop(("initech", "display_name")) == "new"
    assert set(states.values()) == {"unchanged"}
    prints = {r["partialFingerprints"]["orgdriftFinding/v1"] for r in results}
    assert fingerprints < prints


def test_a_baseline_written_in_report_format_1_knows_the_same_findings(
    tenant: EmulatorApp, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Format 1 had no fingerprints: read back, its findings get those a run gives them now."""
    from tests.reporters.test_html import version_1

    spec = write_spec(SPEC)
    code, first, _ = check(capsys, spec)
    assert code == 1
    (tmp_path / "v1.json").write_text(json.dumps(version_1(first)), encoding="utf-8")
    code, again, _ = check(capsys, spec, "--baseline", str(tmp_path / "v1.json"))
    assert code == 0
    assert all(f["known"] for f in findings(again).values())
    assert again["summary"]["known"] == first["summary"]["findings"]


def test_fingerprints_survive_reformatting_and_moving_declarations(
    tenant: EmulatorApp, capsys: pytest.CaptureFixture[str]
) -> None:
    _, before, _ = check(capsys, write_spec(SPEC))
    moved = SPEC.split("organizations:\n", 1)
    blocks = moved[1].split("\n\n")
    reformatted = moved[0] + "organizations:\n\n" + "\n\n".join(reversed(blocks)) + "\n"
    reformatted = "# moved and reformatted\n" + reformatted.replace(
        "display_name: Acme Inc.\n", "display_name: 'Acme Inc.'   # quoted now\n"
    )
    assert reformatted != SPEC
    _, after, _ = check(capsys, write_spec(reformatted, "other/orgs.yaml"))
    prints = {k: f["fingerprint"] for k, f in findings(before).items()}
    assert prints == {k: f["fingerprint"] for k, f in findings(after).items()}
    lines = {k: f["source"]["line"] for k, f in findings(before).items()}
    assert lines != {k: f["source"]["line"] for k, f in findings(after).items()}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[]", "base.json: $: not an orgdrift JSON report"),
        (
            (Path(__file__).parent / "golden" / "outcomes" / "exit3.json")
            .read_text(encoding="utf-8")
            .replace("<time>", "2026-01-01T00:00:00Z")
            .replace('"<commit>"', "null"),
            "--baseline base.json: it has no verdict (status 'incomplete')",
        ),
        ("{", "base.json:1:2: not valid JSON"),
        ('{"tool": "orgdrift", "report_version": 2}', "base.json: $: 'tenant' is required"),
    ],
)
def test_a_bad_baseline_is_exit_2_before_any_request(
    tenant: EmulatorApp,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    document: str,
    message: str,
) -> None:
    (tmp_path / "base.json").write_text(document, encoding="utf-8")
    code, report, err = check(capsys, write_spec(SPEC), "--baseline", "base.json")
    assert code == 2
    assert report["status"] == "invalid"
    assert message in err
    assert tenant.stats.total == 0


# --- --changed-from ------------------------------------------------------------------------------


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    write_spec(
        SPEC.replace("unmanaged_organizations: report", "unmanaged_organizations: ignore"),
        "auth0/orgs.yaml",
    )
    git("add", "-A")
    git("commit", "-q", "-m", "spec")
    return tmp_path


def test_changed_from_checks_only_what_the_change_touches(
    tenant: EmulatorApp, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = Path("auth0/orgs.yaml")
    text = spec.read_text(encoding="utf-8")
    spec.write_text(
        text.replace("display_name: Hooli\n", "display_name: Hooli XYZ\n"), encoding="utf-8"
    )
    tenant.stats.reset()
    code, report, _ = check(capsys, str(spec), "--changed-from", "main")
    assert code == 1
    assert [o["name"] for o in report["organizations"]] == ["hooli"]
    assert report["scope"]["changed_from"] == "main"
    assert report["scope"]["changes"] == "1 of 5 organizations added or changed since main"
    assert report["scope"]["declared"] == 1
    assert tenant.stats.total <= 3  # hooli, its connections: not the tenant
    main(["check", str(spec), "--changed-from", "main", "--no-progress"])
    out = capsys.readouterr().out
    assert out.splitlines()[-1].endswith("(changed since main)")


def test_changed_from_with_nothing_changed_sends_no_request(
    tenant: EmulatorApp, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = Path("auth0/orgs.yaml")
    spec.write_text("# reformatted only\n" + spec.read_text(encoding="utf-8"), encoding="utf-8")
    tenant.stats.reset()
    code, report, _ = check(capsys, str(spec), "--changed-from", "main")
    assert code == 0
    assert report["organizations"] == [] and report["scope"]["declared"] == 0
    assert tenant.stats.total == 0


@pytest.mark.parametrize(
    ("ref", "message"),
    [("no-such-ref", "--changed-from no-such-ref: git knows no such commit")],
)
def test_changed_from_an_unknown_ref_is_exit_2(
    tenant: EmulatorApp, repo: Path, capsys: pytest.CaptureFixture[str], ref: str, message: str
) -> None:
    code, _, err = check(capsys, "auth0/orgs.yaml", "--changed-from", ref)
    assert code == 2
    assert message in err
    assert tenant.stats.total == 0


def test_changed_from_outside_a_repository_is_exit_2(
    tenant: EmulatorApp, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = check(capsys, write_spec(SPEC), "--changed-from", "main")
    assert code == 2
    assert "is not in a git repository, so --changed-from has nothing to compare with" in err


def test_org_globs(tenant: EmulatorApp, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(SPEC)
    code, report, _ = check(capsys, spec, "--org", "*i*", "--org", "acme")
    assert code == 1
    assert sorted(o["name"] for o in report["organizations"]) == ["acme", "hooli", "initech"]
    code, _, err = check(capsys, spec, "--org", "zz*")
    assert code == 2
    assert "--org names organizations the spec does not declare: zz*" in err
