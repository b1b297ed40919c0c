"""The pre-commit hook (.pre-commit-hooks.yaml) end to end: `pre-commit try-repo` on this
checkout, in a git repository holding two tenants' specs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = "version: 1\norganizations:\n  - name: acme\n    display_name: Acme\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(ROOT),
            "orgdrift-validate",
            "--all-files",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_try_repo_passes_two_tenants_and_names_a_typo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for tenant in ("prod", "staging"):
        (repo / "auth0" / tenant).mkdir(parents=True)
        (repo / "auth0" / tenant / "orgs.yaml").write_text(SPEC, encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    home = tmp_path / "pre-commit-home"
    passed = _try_repo(repo, home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "orgdrift validate" in passed.stdout and "Passed" in passed.stdout

    (repo / "auth0" / "staging" / "orgs.yaml").write_text(
        SPEC.replace("display_name", "display_nmae"), encoding="utf-8"
    )
    _git(repo, "add", "-A")
    failed = _try_repo(repo, home)
    assert failed.returncode == 1
    assert "auth0/staging/orgs.yaml:4:5: $.organizations[0].display_nmae: unknown field" in (
        failed.stdout
    )
