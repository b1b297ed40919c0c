"""What a user meets on first contact: `orgdrift emulator` without its extra, and several tenants'
specs in one repository validated together (as the pre-commit hook does)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orgdrift.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SPEC = "version: 1\norganizations:\n  - name: acme\n    display_name: Acme\n"


def test_emulator_without_its_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` now fails, as if absent
    code = main(["emulator", "--state", str(EXAMPLES / "tenant.json"), "--port", "0"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("orgdrift: error: `orgdrift emulator` needs uvicorn, which is not ")
    assert err.rstrip().endswith("pip install 'orgdrift[emulator]'")
    assert "internal error" not in err


def _tenants(root: Path) -> list[str]:
    paths = []
    for tenant in ("prod", "staging"):
        (root / "auth0" / tenant).mkdir(parents=True)
        path = root / "auth0" / tenant / "orgs.yaml"
        path.write_text(SPEC, encoding="utf-8")
        paths.append(str(path))
    return paths


def test_per_directory_validates_each_tenant_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prod, staging = _tenants(tmp_path)
    assert main(["validate", "--per-directory", prod, staging]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{prod}, {staging}: valid (2 organizations)"]


def test_without_per_directory_the_files_are_one_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prod, staging = _tenants(tmp_path)
    assert main(["validate", prod, staging]) == 2
    assert "organization name 'acme' is declared twice" in capsys.readouterr().err


def test_per_directory_merges_the_files_of_one_directory_and_reports_every_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prod, staging = _tenants(tmp_path)
    extra = Path(prod).with_name("more.yaml")
    extra.write_text(SPEC, encoding="utf-8")  # acme again, in prod: declared twice
    broken = Path(staging).with_name("typo.yaml")
    broken.write_text("version: 1\norganizations:\n  - nmae: x\n", encoding="utf-8")
    assert main(["validate", "--per-directory", prod, str(extra), staging, str(broken)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{extra}:3:11: $.organizations[0].name: organization name 'acme'")
    assert err[1].startswith(f"{broken}:3:5: $.organizations[0]")
    assert any(
        line.startswith(f"{broken}:3:5: $.organizations[0].nmae: unknown field") for line in err
    )
    assert err[-1] == "orgdrift: 3 problems found"
