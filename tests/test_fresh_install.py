"""What a user meets on first contact: the README's test command and what it says on a machine
without a browser, `orgdrift emulator` without its extra, and several tenants' specs in one
repository validated together (as the pre-commit hook does)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from orgdrift.cli import main
from orgdrift.spec import load_spec_bytes

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
README_TEST_COMMAND = "scripts/install && scripts/test"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    """The README's second command is the scripts pair, and .ci/run runs both (in both worlds:
    scripts/install for the newest, scripts/test in each), so CI fails where a newcomer would."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```sh\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    assert block is not None
    assert block.group(1).splitlines()[1] == README_TEST_COMMAND
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in run.splitlines() if not line.lstrip().startswith("#")]
    assert "scripts/install" in commands
    assert any(line.startswith("scripts/test ") for line in commands)
    assert "python -m pytest" not in run  # no second way to run the tests


def _bare_path(tmp_path: Path) -> str:
    """A PATH with the few tools the scripts use, and no browser, no apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "dirname", "id"):
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def _script(name: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "TMPDIR")}
    return subprocess.run(
        [str(ROOT / "scripts" / name)],
        env={**keep, "PATH": _bare_path(tmp_path), "PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_install_without_a_browser_says_what_to_install_before_anything_else(
    tmp_path: Path,
) -> None:
    """No browser and no apt-get (PATH holds neither): the first line names what to install,
    before any other step (here the venv step fails at once: /dev/null cannot hold one)."""
    ran = _script("install", tmp_path, VENV="/dev/null/venv")
    assert ran.returncode != 0
    first = ran.stderr.splitlines()[0]
    assert first.startswith("scripts/install: no Chromium or Chrome found, which the HTML "), first
    assert "apt-get install -y chromium" in first and "ORGDRIFT_CHROMIUM" in first
    assert ran.stdout == ""


def test_install_refuses_an_old_python_in_one_line(tmp_path: Path) -> None:
    old = tmp_path / "python3.10"
    old.write_text('#!/bin/sh\n[ "$1" = --version ] && echo Python 3.10.12 && exit 0\nexit 1\n')
    old.chmod(0o755)
    ran = _script("install", tmp_path, PYTHON=str(old))
    assert ran.returncode == 1
    assert ran.stderr.splitlines() == [
        (
            f"scripts/install: orgdrift needs Python 3.11 or newer, and {old} is Python 3.10.12: "
            "install one and run PYTHON=python3.X scripts/install"
        )
    ]


def test_test_script_without_the_install_says_to_run_it(tmp_path: Path) -> None:
    ran = _script("test", tmp_path, VENV=str(tmp_path / "none"))
    assert ran.returncode == 2
    assert ran.stderr == (
        f"scripts/test: no virtual environment at {tmp_path / 'none'}: run scripts/install first\n"
    )


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


def _emulator() -> subprocess.Popen[str]:
    state = str(EXAMPLES / "tenant.json")
    return subprocess.Popen(
        [sys.executable, "-m", "orgdrift", "emulator", "--state", state],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.loopback
def test_the_emulator_prints_what_points_orgdrift_at_it_and_stops_cleanly(tmp_path: Path) -> None:
    """The lines it prints are pasted into a shell as they are: `check` then reads the emulated
    tenant. Ctrl-C stops it with a message about the emulator (no files are involved)."""
    emulator = _emulator()
    try:
        assert emulator.stdout is not None
        lines = [emulator.stdout.readline().rstrip("\n") for _ in range(4)]
        url = lines[0]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), lines
        assert lines[1:] == [
            "# in another shell, point orgdrift at it (Ctrl-C here stops it):",
            f"export AUTH0_DOMAIN={url}",
            "export AUTH0_API_TOKEN=emulator-token",
        ]
        script = "\n".join([*lines[1:], f"orgdrift check {EXAMPLES / 'orgs.yaml'} -q"])
        keep = {k: v for k, v in os.environ.items() if not k.startswith("AUTH0_")}
        shell = subprocess.run(
            ["sh", "-c", script], env=keep, capture_output=True, text=True, timeout=60, check=False
        )
        assert shell.returncode == 1, shell.stderr  # the demo tenant has drifted
        assert "acme: connection google-oauth2 is enabled but not allowed" in shell.stdout
    finally:
        emulator.send_signal(signal.SIGINT)
        _, err = emulator.communicate(timeout=30)
    assert emulator.returncode == 130
    assert err == "orgdrift: interrupted during `emulator`; the emulator stopped\n"


def test_a_custom_emulator_token_is_named_not_printed() -> None:
    from orgdrift.cli import _emulator_banner

    assert _emulator_banner("http://127.0.0.1:1", "s3cret")[3] == (
        "export AUTH0_API_TOKEN=<the --token value>"
    )


@pytest.mark.loopback
def test_an_exported_spec_still_checks_after_the_emulator_restarts_on_another_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from orgdrift.emulator import create_app, running_server
    from orgdrift.snapshot import load_snapshot

    monkeypatch.setenv("AUTH0_API_TOKEN", "emulator-token")
    exported = tmp_path / "orgs.yaml"
    state = load_snapshot(str(EXAMPLES / "tenant.json"))
    with running_server(create_app(state)) as first:
        assert main(["export", "-q", "--domain", first, "-o", str(exported)]) == 0
    with running_server(create_app(state)) as second:
        assert second != first
        assert main(["check", str(exported), "-q", "--domain", second]) == 0
    assert f"# Exported by orgdrift from {first.removeprefix('http://')} at " in exported.read_text(
        "utf-8"
    )
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", ["check", "snapshot", "export"])
def test_help_names_every_credential_and_only_options_the_command_has(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from orgdrift.auth import AUDIENCE_VAR, CLIENT_ID_VAR, CLIENT_SECRET_VAR, TOKEN_ENV_VARS

    with pytest.raises(SystemExit):
        main([command, "-h"])
    text = " ".join(capsys.readouterr().out.split())
    for var in ("AUTH0_DOMAIN", *TOKEN_ENV_VARS, CLIENT_ID_VAR, CLIENT_SECRET_VAR, AUDIENCE_VAR):
        assert var in text, var
    usage = text.split(" options: ")[0]
    quiet = text.split("-q, --quiet ")[1].split(" -v, --verbose")[0]
    for option in re.findall(r"--[a-z][a-z-]*", quiet):
        assert f"[{option}" in usage, f"{command} -h: -q mentions {option}, which it lacks"


def test_the_readme_lists_the_ignore_paths_the_validator_accepts() -> None:
    """The README's list of `ignore:` paths and the schema's pattern (what `validate` accepts)
    name the same fields, and every path the README shows validates."""
    import json

    schema = json.loads((ROOT / "schemas" / "orgdrift.schema.json").read_text("utf-8"))
    pattern = schema["$defs"]["ignore"]["items"]["pattern"]
    roots = re.match(r"\^\(([^)]*)\)", pattern)
    assert roots is not None
    readme = " ".join((ROOT / "README.md").read_text("utf-8").split())
    listed = readme.split("- `ignore:` paths are ", 1)[1].split(" - ", 1)[0]
    paths = re.findall(r"`([^`]+)`", listed)
    assert {p.split(".")[0] for p in paths} == set(roots.group(1).split("|"))
    samples = {"KEY": "crm.id", "NAME": "acme-saml", "DOMAIN": "acme.com"}
    for path in paths:
        shown = path.replace("CLIENT:AUDIENCE", "cli_1:https://api.example/")
        for placeholder, value in samples.items():
            shown = shown.replace(placeholder, value)
        spec = f"version: 1\norganizations:\n  - name: acme\n    ignore: ['{shown}']\n"
        assert re.search(pattern, shown), path
        load_spec_bytes("orgs.yaml", spec.encode(), {})  # InputError if validate refuses it
