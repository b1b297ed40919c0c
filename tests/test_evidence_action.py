"""The action's opt-in attestation (`attest: true`): the run step writes the in-toto statement,
the `evidence` step turns it into what `actions/attest` signs (the predicate and the subjects'
checksums), simulated step by step like tests/test_action.py; actionlint checks a workflow that
uses the action with it. Without the input, nothing is written."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from .evidence_support import TEST_RESULT, intoto_problems
from .test_action import ACTION, ROOT, _spec, _step, installed, run_step

__all__ = ["installed"]  # the module fixture: orgdrift installed by the action's install step

ACTIONLINT = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or "actionlint"


def test_attest_writes_the_statement_and_what_actions_attest_signs(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    home, install = installed
    spec = _spec(tmp_path)
    inputs = {"specs": spec, "args": "--live examples/tenant.json", "attest": "true"}
    code, log, outputs, _ = run_step("run", inputs, {"install": install}, home)
    assert code == 1, log  # drift fails the step; the attestation steps still run (`!cancelled()`)
    statement_path = Path(outputs["intoto"])
    assert statement_path.parent == home / "runner-temp"
    text = statement_path.read_text(encoding="utf-8")
    assert intoto_problems(text) == []
    statement = json.loads(text)
    assert statement["predicate"]["result"] == "FAILED"

    steps = {"install": install, "run": outputs}
    code, log, prepared, _ = run_step("evidence", inputs, steps, home)
    assert code == 0, log
    assert prepared["predicate-type"] == TEST_RESULT
    predicate = json.loads(Path(prepared["predicate-path"]).read_text(encoding="utf-8"))
    assert predicate == statement["predicate"]
    lines = Path(prepared["subject-checksums"]).read_text(encoding="utf-8").splitlines()
    assert lines == [f"{s['digest']['sha256']}  {s['name']}" for s in statement["subject"]]
    spec_digest = hashlib.sha256(Path(spec).read_bytes()).hexdigest()
    tenant_digest = hashlib.sha256((ROOT / "examples/tenant.json").read_bytes()).hexdigest()
    assert f"{spec_digest}  {spec}" in lines  # what `gh attestation verify SPEC` looks up
    assert f"{tenant_digest}  examples/tenant.json" in lines

    attest = _step("attest")
    assert attest["uses"].startswith("actions/attest@")
    assert attest["with"] == {
        "subject-checksums": "${{ steps.evidence.outputs.subject-checksums }}",
        "predicate-type": "${{ steps.evidence.outputs.predicate-type }}",
        "predicate-path": "${{ steps.evidence.outputs.predicate-path }}",
    }
    assert (
        "!cancelled()" in _step("evidence")["if"]
        and "inputs.attest == 'true'" in (_step("evidence")["if"])
    )


def test_without_attest_nothing_is_written(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    home, install = installed
    statement = home / "runner-temp" / "orgdrift.intoto.json"
    statement.unlink(missing_ok=True)  # another test of this module may have written one
    inputs = {"specs": _spec(tmp_path), "args": "--live examples/tenant.json"}
    code, log, outputs, _ = run_step("run", inputs, {"install": install}, home)
    assert code == 1, log
    assert outputs["intoto"] == ""
    assert not statement.exists()
    assert ACTION["inputs"]["attest"]["default"] == "false"


WORKFLOW = """\
name: audit
on:
  schedule:
    - cron: "17 6 * * 1-5"
permissions:
  contents: read
jobs:
  audit:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      id-token: write
      attestations: write
    steps:
      - uses: actions/checkout@v5
      - uses: ./
        id: orgdrift
        with:
          specs: auth0/orgs.yaml
          {attest}: "true"
      - run: echo "${{{{ steps.orgdrift.outputs.attestation-url }}}}"
"""


def _actionlint(tmp_path: Path, workflow: str) -> subprocess.CompletedProcess[str]:
    """actionlint over a repository holding this action (so `uses: ./` reads its inputs)."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)  # actionlint's project root
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    (tmp_path / ".github" / "workflows" / "audit.yml").write_text(workflow, encoding="utf-8")
    return subprocess.run(
        [ACTIONLINT, "-no-color", ".github/workflows/audit.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_actionlint_accepts_a_workflow_that_attests(tmp_path: Path) -> None:
    done = _actionlint(tmp_path, WORKFLOW.format(attest="attest"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_reads_the_actions_inputs(tmp_path: Path) -> None:
    """The control: the same workflow with a misspelt input fails, so the check above did read
    action.yml's inputs and outputs."""
    done = _actionlint(tmp_path, WORKFLOW.format(attest="atest"))
    assert done.returncode == 1
    assert 'input "atest" is not defined' in done.stdout


def test_a_line_break_in_a_subject_name_is_not_attested(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """One subject per checksums line: a spec file named with a line break (a glob may match
    one in a pull request) would add a subject of the attacker's choosing to the signed
    statement. The step refuses instead."""
    home, install = installed
    forged = "f" * 64
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": f"auth0/a.yaml\n{forged}  release.tar.gz", "digest": {"sha256": "0" * 64}}
        ],
        "predicateType": TEST_RESULT,
        "predicate": {"result": "PASSED", "configuration": [{"name": "auth0/a.yaml"}]},
    }
    path = tmp_path / "statement.json"
    path.write_text(json.dumps(statement), encoding="utf-8")
    checksums = home / "runner-temp" / "orgdrift.subjects.txt"
    checksums.unlink(missing_ok=True)
    steps = {"install": install, "run": {"intoto": str(path)}}
    code, log, prepared, _ = run_step("evidence", {"attest": "true"}, steps, home)
    assert code != 0
    assert "a subject's name holds a line break; not attested" in log
    assert "subject-checksums" not in prepared
    assert not checksums.exists()
