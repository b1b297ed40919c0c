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


def test_a_file_named_like_an_option_is_a_spec_not_an_option(tmp_path: Path) -> None:
    """The attack: a committed file named `--report=text=zz.orgdrift.yaml` (a valid spec) and
    `zz.orgdrift.yaml`, a symlink to a `.pth` file in a site-packages outside the repository.
    Read as an option, the name made the hook write its text report through the symlink: a
    `.pth` line runs at the next Python start. After the entry's `--` it is a spec file."""
    repo = tmp_path / "repo"
    repo.mkdir()
    site_packages = tmp_path / "site-packages"
    site_packages.mkdir()
    pth = site_packages / "orgdrift-evil.pth"
    (repo / "orgs.yaml").write_text(SPEC, encoding="utf-8")
    hostile = SPEC.replace("acme", "hooli")  # the files of one directory merge into one spec
    (repo / "--report=text=zz.orgdrift.yaml").write_text(hostile, encoding="utf-8")
    (repo / "zz.orgdrift.yaml").symlink_to(pth)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    done = _try_repo(repo, tmp_path / "pre-commit-home")
    assert not pth.exists(), pth.read_text(encoding="utf-8")
    assert list(site_packages.iterdir()) == []
    assert done.returncode == 0, done.stdout + done.stderr  # two valid specs
    assert "Passed" in done.stdout
