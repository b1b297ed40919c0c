"""The composite GitHub Action (action.yml), run step by step with bash in a simulated Actions
environment: a real install from this checkout, then checks of the example spec offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def _step(step_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in ACTION["runs"]["steps"] if s.get("id") == step_id)
    return found


def _expand(value: str, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
    def one(match: re.Match[str]) -> str:
        kind, _, rest = match.group(1).strip().partition(".")
        if kind == "inputs":
            return inputs.get(rest, str(ACTION["inputs"][rest].get("default", "")))
        step, _, output = rest.partition(".outputs.")
        return steps[step][output]

    return re.sub(r"\$\{\{(.*?)\}\}", one, value)


def run_step(
    step_id: str,
    inputs: dict[str, str],
    steps: dict[str, dict[str, str]],
    home: Path,
    event: dict[str, str] | None = None,  # more of the runner's environment, e.g. GITHUB_BASE_REF
    workspace: Path = ROOT,  # the checkout the step runs in
) -> tuple[int, str, dict[str, str], str]:
    step = _step(step_id)
    output, summary = home / f"output-{step_id}", home / "summary.md"
    output.write_text("", encoding="utf-8")
    summary.touch()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKFLOW": "orgdrift",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_PATH": str(home / "path"),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_ACTION_PATH": str(ROOT),
        "RUNNER_TEMP": str(home / "runner-temp"),
        **(event or {}),
        **{k: _expand(str(v), inputs, steps) for k, v in step.get("env", {}).items()},
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done.returncode, done.stdout + done.stderr, outputs, summary.read_text()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    home = tmp_path_factory.mktemp("runner")
    (home / "runner-temp").mkdir()
    code, log, outputs, _ = run_step("install", {}, {}, home)
    assert code == 0, log
    assert Path(outputs["orgdrift"]).is_file()
    assert (home / "path").read_text().strip() == str(
        home / "runner-temp" / "orgdrift-venv" / "bin"
    )
    return home, outputs


def _spec(tmp_path: Path) -> str:
    """The example spec, checked against the example tenant file (which lists only some of the
    tenant's organizations, so unmanaged ones are not looked for)."""
    text = (ROOT / "examples" / "orgs.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "orgs.yaml"
    spec.write_text(
        text.replace("unmanaged_organizations: report", "unmanaged_organizations: ignore")
    )
    return str(spec)


def test_drift_fails_the_step_with_outputs_summary_and_sarif(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    home, install = installed
    sarif = tmp_path / "orgdrift.sarif"
    spec = _spec(tmp_path)
    inputs = {
        "specs": spec,
        "reports": f"sarif={sarif}",
        "max-rps": "2",
        "args": "--live examples/tenant.json",
    }
    code, log, outputs, summary = run_step("run", inputs, {"install": install}, home)
    assert code == 1, log
    assert outputs == {"exit-code": "1", "drift": "true", "sarif": str(sarif), "intoto": ""}
    assert f"::error file={spec},line=18" in log  # --format auto: annotations inside Actions
    assert "google-oauth2" in summary
    assert sarif.is_file()


def test_drift_can_be_reported_without_failing(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    home, install = installed
    inputs = {
        "specs": _spec(tmp_path),
        "args": "--live examples/tenant.json",
        "fail-on-drift": "false",
        "format": "text",
    }
    code, log, outputs, _ = run_step("run", inputs, {"install": install}, home)
    assert code == 0, log
    assert outputs == {"exit-code": "1", "drift": "true", "sarif": "", "intoto": ""}
    assert "drift: 3 findings" in log


def test_an_invalid_spec_fails_with_exit_code_2(installed: tuple[Path, dict[str, str]]) -> None:
    home, install = installed
    inputs = {"specs": "examples/broken.yaml", "command": "validate", "fail-on-drift": "false"}
    code, log, outputs, _ = run_step("run", inputs, {"install": install}, home)
    assert code == 2
    assert outputs["exit-code"] == "2"
    assert outputs["drift"] == "false"
    assert "examples/broken.yaml:4:16:" in log


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.mark.parametrize(
    ("changed_from", "base_ref", "checked"),
    [
        ("auto", "main", ["hooli"]),  # a pull request: its base branch
        ("auto", "", None),  # not a pull request: everything
        ("origin/main", "", ["hooli"]),
    ],
)
def test_changed_from_checks_what_the_pull_request_changed(
    installed: tuple[Path, dict[str, str]],
    tmp_path: Path,
    changed_from: str,
    base_ref: str,
    checked: list[str] | None,
) -> None:
    home, install = installed
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    spec = Path(_spec(repo))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "spec")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")  # as actions/checkout leaves it
    spec.write_text(spec.read_text().replace("display_name: Hooli\n", "display_name: Hooli Inc.\n"))
    report = tmp_path / "report.json"
    inputs = {
        "specs": str(spec),
        "changed-from": changed_from,
        "format": "text",
        "reports": f"json={report}",
        "args": "--live examples/tenant.json",
    }
    event = {"GITHUB_BASE_REF": base_ref} if base_ref else {}
    code, log, outputs, _ = run_step("run", inputs, {"install": install}, home, event)
    assert code == 1, log
    assert outputs["drift"] == "true"
    document = json.loads(report.read_text())
    names = [o["name"] for o in document["organizations"]]
    if checked is None:
        assert document["scope"]["changed_from"] is None
        assert len(names) == 5
    else:
        assert names == checked
        assert document["scope"]["changed_from"] == "origin/main"
        assert "(changed since origin/main)" in log


# --- a hostile checkout: the pull request's author names the files ---------------------------

TWO_CUSTOMERS = (
    "version: 1\norganizations:\n"
    "  - name: customer-a\n    display_name: A\n"
    "  - name: customer-b\n    display_name: B\n"
)


def _tenant(tmp_path: Path, b_display: str) -> Path:
    """A saved snapshot (the trusted side names it) where customer-b shows `b_display`."""
    organizations = [
        {"id": "org_a", "name": "customer-a", "display_name": "A", "enabled_connections": []},
        {"id": "org_b", "name": "customer-b", "display_name": b_display, "enabled_connections": []},
    ]
    document = {"snapshot_version": 1, "tenant": "t.example.com", "organizations": organizations}
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _checkout(tmp_path: Path, files: dict[str, str]) -> Path:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name, text in files.items():
        (checkout / name).write_text(text, encoding="utf-8")
    return checkout


def test_a_file_named_like_an_org_glob_does_not_narrow_the_check(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """`args: --org customer-*` reaches orgdrift as written, not as the checkout's `customer-a`
    (an empty file the pull request added): customer-b's drift is still found."""
    home, install = installed
    checkout = _checkout(tmp_path, {"orgs.yaml": TWO_CUSTOMERS, "customer-a": ""})
    tenant = _tenant(tmp_path, "B (drifted)")
    inputs = {"specs": "orgs.yaml", "format": "text", "args": f"--org customer-* --live {tenant}"}
    code, log, outputs, _ = run_step("run", inputs, {"install": install}, home, None, checkout)
    assert code == 1, log
    assert outputs["exit-code"] == "1"
    assert "customer-b: display_name" in log


def test_a_spec_glob_matching_an_option_like_name_reads_it_as_a_spec(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """`specs: '*.orgdrift.yaml'` matches an empty file named `--live=.orgdrift.yaml` beside a
    forged snapshot `.orgdrift.yaml`: the name goes after `--`, so it is an (empty, invalid)
    spec, not `--live`; the forged snapshot is never read and nothing says "in sync"."""
    home, install = installed
    forged = {"snapshot_version": 1, "tenant": "t.example.com", "organizations": []}
    checkout = _checkout(
        tmp_path,
        {
            "orgs.orgdrift.yaml": "version: 1\norganizations:\n  - name: acme\n",
            "--live=.orgdrift.yaml": "",
            ".orgdrift.yaml": json.dumps(forged),
        },
    )
    inputs = {"specs": "*.orgdrift.yaml", "format": "text"}
    event = {"AUTH0_DOMAIN": "http://127.0.0.1:9", "AUTH0_API_TOKEN": "t"}
    code, log, outputs, summary = run_step(
        "run", inputs, {"install": install}, home, event, checkout
    )
    assert code == 2, log
    assert outputs["exit-code"] == "2"
    assert "--live=.orgdrift.yaml:1:1: the file is empty" in log
    assert "in sync" not in log + summary


def test_hostile_file_names_are_only_file_names(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Names with command substitutions, backticks, quotes and blanks, matched by a spec glob,
    reach orgdrift as names: no shell runs them, the verdict is the one benign names give."""
    home, install = installed
    names = ["$(touch pwned-1).yaml", "`touch pwned-2`.yaml", "a b ';touch pwned-3'.yaml"]
    checkout = _checkout(
        tmp_path, {name: TWO_CUSTOMERS.replace("customer", f"c{i}") for i, name in enumerate(names)}
    )
    inputs = {"specs": "*.yaml", "format": "text", "args": f"--live {_tenant(tmp_path, 'B')}"}
    code, log, _, _ = run_step("run", inputs, {"install": install}, home, None, checkout)
    assert not list(checkout.glob("pwned*")) and not list(tmp_path.glob("pwned*"))
    assert sorted(p.name for p in checkout.iterdir()) == sorted(names)
    assert code == 1, log  # the three specs' organizations are not in the tenant
    for name in names:
        assert name in log
