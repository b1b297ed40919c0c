"""The composite GitHub Action (action.yml), run step by step with bash in a simulated Actions
environment: a real install from this checkout, then checks of the example spec offline."""

from __future__ import annotations

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
    step_id: str, inputs: dict[str, str], steps: dict[str, dict[str, str]], home: Path
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
        "GITHUB_WORKSPACE": str(ROOT),
        "GITHUB_ACTION_PATH": str(ROOT),
        "RUNNER_TEMP": str(home / "runner-temp"),
        **{k: _expand(str(v), inputs, steps) for k, v in step.get("env", {}).items()},
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600, check=False,
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
    assert (home / "path").read_text().strip() == str(home / "runner-temp" / "orgdrift-venv" / "bin")
    return home, outputs


def _spec(tmp_path: Path) -> str:
    """The example spec, checked against the example tenant file (which lists only some of the
    tenant's organizations, so unmanaged ones are not looked for)."""
    text = (ROOT / "examples" / "orgs.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "orgs.yaml"
    spec.write_text(text.replace("unmanaged_organizations: report", "unmanaged_organizations: ignore"))
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
    assert outputs == {"exit-code": "1", "drift": "true", "sarif": str(sarif)}
    assert f"::error file={spec},line=18" in log  # --format auto: annotations inside Actions
    assert "google-oauth2" in summary
    assert sarif.is_file()


def test_drift_can_be_reported_without_failing(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    home, install = installed
    inputs = {"specs": _spec(tmp_path), "args": "--live examples/tenant.json",
              "fail-on-drift": "false", "format": "text"}
    code, log, outputs, _ = run_step("run", inputs, {"install": install}, home)
    assert code == 0, log
    assert outputs == {"exit-code": "1", "drift": "true", "sarif": ""}
    assert "drift: 3 findings" in log


def test_an_invalid_spec_fails_with_exit_code_2(
    installed: tuple[Path, dict[str, str]]
) -> None:
    home, install = installed
    inputs = {"specs": "examples/broken.yaml", "command": "validate", "fail-on-drift": "false"}
    code, log, outputs, _ = run_step("run", inputs, {"install": install}, home)
    assert code == 2
    assert outputs["exit-code"] == "2"
    assert outputs["drift"] == "false"
    assert "examples/broken.yaml:4:16:" in log
