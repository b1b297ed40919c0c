"""A hostile repository: the pull request's author controls the spec files, their names and
whether they are symlinks, FIFOs or devices. Each attack of the threat model (README, "Security")
as a test; the hook's and the action's are in test_precommit_hook.py and test_action.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from orgdrift.cli import main

ROOT = Path(__file__).resolve().parent.parent
TENANT = ROOT / "examples" / "tenant.json"  # acme's display name there: "Acme Inc."
IN_SYNC = "version: 1\norganizations:\n  - name: acme\n    display_name: Acme Inc.\n"
DRIFTED = IN_SYNC.replace("Acme Inc.", "Acme")
TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLTQw"  # 40 characters, secret-looking


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "auth0").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    return repo


def _commit(repo: Path) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change")


def _orgdrift(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, so that a read that blocks fails the test instead of hanging."""
    return subprocess.run(
        [sys.executable, "-m", "orgdrift", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


# --- --changed-from and symlinks -------------------------------------------------------------


def test_a_spec_turned_into_a_symlink_puts_everything_in_scope(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`auth0/orgs.yaml` becomes a symlink to a file that did not change: comparing that file
    with itself found no change ("in sync: 0 organizations checked", exit 0) where the full
    check finds drift. A symlinked spec puts every organization in scope."""
    repo = _repo(tmp_path)
    (repo / "auth0" / "orgs.yaml").write_text(IN_SYNC, encoding="utf-8")
    (repo / "lenient.yaml").write_text(DRIFTED, encoding="utf-8")
    _commit(repo)
    (repo / "auth0" / "orgs.yaml").unlink()
    (repo / "auth0" / "orgs.yaml").symlink_to("../lenient.yaml")
    monkeypatch.chdir(repo)
    args = ["check", "--live", str(TENANT), "--format", "json"]
    assert main([*args, "--", "auth0/orgs.yaml"]) == 1
    full = json.loads(capsys.readouterr().out)
    assert main([*args, "--changed-from", "main", "--", "auth0/orgs.yaml"]) == 1
    scoped = json.loads(capsys.readouterr().out)
    assert scoped["organizations"] == full["organizations"]
    assert "auth0/orgs.yaml is a symbolic link" in scoped["scope"]["changes"]


def test_a_spec_directory_turned_into_a_symlink_puts_everything_in_scope(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path)
    (repo / "auth0" / "orgs.yaml").write_text(IN_SYNC, encoding="utf-8")
    (repo / "lenient").mkdir()
    (repo / "lenient" / "orgs.yaml").write_text(DRIFTED, encoding="utf-8")
    _commit(repo)
    (repo / "auth0" / "orgs.yaml").unlink()
    (repo / "auth0").rmdir()
    (repo / "auth0").symlink_to("lenient")
    monkeypatch.chdir(repo)
    code = main(["check", "--live", str(TENANT), "--changed-from", "main", "auth0/orgs.yaml"])
    assert code == 1
    assert "acme: display_name" in capsys.readouterr().out


def test_a_spec_that_was_a_symlink_at_the_ref_puts_everything_in_scope(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Git stores a symlink as its target path: that blob is no spec to compare with."""
    repo = _repo(tmp_path)
    (repo / "lenient.yaml").write_text(DRIFTED, encoding="utf-8")
    (repo / "auth0" / "orgs.yaml").symlink_to("../lenient.yaml")
    _commit(repo)
    (repo / "auth0" / "orgs.yaml").unlink()
    (repo / "auth0" / "orgs.yaml").write_text(DRIFTED, encoding="utf-8")
    monkeypatch.chdir(repo)
    code = main(["check", "--live", str(TENANT), "--changed-from", "main", "auth0/orgs.yaml"])
    assert code == 1
    out = capsys.readouterr().out
    assert "acme: display_name" in out


# --- spec files outside the tree, FIFOs, devices ---------------------------------------------


def test_a_symlink_to_etc_passwd_is_refused_without_quoting_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path)
    (repo / "auth0" / "orgs.yaml").symlink_to("/etc/passwd")
    monkeypatch.chdir(repo)
    assert main(["validate", "auth0/orgs.yaml"]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines()[0] == (
        "auth0/orgs.yaml: cannot read file: a symbolic link to a file outside the repository"
        " (refused)"
    )
    assert "root" not in out + err and "/etc" not in out + err


@pytest.mark.parametrize("fmt", ["text", "github", "json", "sarif", "junit", "markdown"])
def test_a_symlink_to_a_credentials_file_leaks_nothing(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token file outside the repository, linked as a spec: no report says a piece of the
    token or where the link points."""
    secrets = tmp_path / "home" / ".config" / "auth0"
    secrets.mkdir(parents=True)
    (secrets / "credentials").write_text(f"token={TOKEN}\n", encoding="utf-8")
    repo = _repo(tmp_path)
    (repo / "auth0" / "orgs.yaml").symlink_to(secrets / "credentials")
    monkeypatch.chdir(repo)
    code = main(["check", "--live", str(TENANT), "--format", fmt, "--", "auth0/orgs.yaml"])
    assert code == 2
    out, err = capsys.readouterr()
    assert "auth0/orgs.yaml" in out + err
    for start in range(len(TOKEN) - 6):
        assert TOKEN[start : start + 6] not in out + err
    assert str(secrets) not in out + err and "credentials" not in out + err


def test_a_symlink_inside_the_tree_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path)
    (repo / "shared.yaml").write_text(IN_SYNC, encoding="utf-8")
    (repo / "auth0" / "orgs.yaml").symlink_to("../shared.yaml")
    monkeypatch.chdir(repo)
    assert main(["validate", "auth0/orgs.yaml"]) == 0
    assert "valid (1 organization)" in capsys.readouterr().out


def test_a_directory_linked_out_of_the_tree_is_no_tree_of_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`auth0 -> another repository`: that repository's `.git` does not make it the tree."""
    other = tmp_path / "other"
    other.mkdir()
    _git(other, "init", "-q")
    (other / "orgs.yaml").write_text(IN_SYNC, encoding="utf-8")
    repo = _repo(tmp_path)
    (repo / "auth0").rmdir()
    (repo / "auth0").symlink_to(other)
    monkeypatch.chdir(repo)
    assert main(["validate", "auth0/orgs.yaml"]) == 2
    assert "outside the repository" in capsys.readouterr().err


def test_a_fifo_spec_is_refused_without_blocking(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    os.mkfifo(repo / "auth0" / "orgs.yaml")
    done = _orgdrift("validate", "--", "auth0/orgs.yaml", cwd=repo, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == (
        "auth0/orgs.yaml: cannot read file: not a regular file (a FIFO)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "/dev/zero"], "/dev/zero: cannot read file: not a regular file"),
        (["check", "--live", "/dev/zero", "orgs.yaml"], "/dev/zero: cannot read file: not a"),
        (
            ["check", "--live", "t.json", "--baseline", "/dev/zero", "orgs.yaml"],
            "/dev/zero: cannot",
        ),
        (["report", "-o", "-", "/dev/zero"], "/dev/zero"),
    ],
)
def test_devices_are_refused_before_they_are_read(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """/dev/zero read until MemoryError (exit 4) when the whole file was read before its size
    was checked; a device is no input, whichever option names it."""
    (tmp_path / "orgs.yaml").write_text(IN_SYNC, encoding="utf-8")
    (tmp_path / "t.json").write_bytes(TENANT.read_bytes())
    done = _orgdrift(*args, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "not a regular file (a character device)" in done.stderr


def test_a_fifo_named_by_an_option_is_refused_without_blocking(tmp_path: Path) -> None:
    (tmp_path / "orgs.yaml").write_text(IN_SYNC, encoding="utf-8")
    os.mkfifo(tmp_path / "live.json")
    done = _orgdrift("check", "--live", "live.json", "orgs.yaml", cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "live.json: cannot read file: not a regular file (a FIFO)" in done.stderr


# --- hostile YAML ----------------------------------------------------------------------------


def _bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_padded_with_comments_is_refused_where_the_bare_one_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The budget grew with the text's bytes: 1 MiB of comment let the bomb expand 4 million
    values (8.3 s, 858 MB) before the refusal. Comments no longer buy anything: the padded bomb
    is refused at the same value as the bare one."""
    refusals = []
    for name, padding in (("bare.yaml", ""), ("padded.yaml", "# " + "x" * (1 << 20) + "\n")):
        spec = tmp_path / name
        spec.write_text(padding + _bomb(), encoding="utf-8")
        assert main(["validate", str(spec)]) == 2
        first = capsys.readouterr().err.splitlines()[0]
        assert first.endswith("aliases expand into too many values (alias bomb?)")
        refusals.append(first.split(":", 1)[1])
    bare, padded = refusals
    assert padded.split(":", 2)[1:] == bare.split(":", 2)[1:]  # column, path and message
    assert int(padded.split(":", 1)[0]) == int(bare.split(":", 1)[0]) + 1  # the comment's line


# --- what reaches a terminal ------------------------------------------------------------------

INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
ESCAPES = "\x1b[2J\x1b]0;owned\x07\u202e\u200b\x9b31m"


def _raw_invisible(text: str) -> list[str]:
    """Control, format (bidi, zero-width) and separator characters left raw."""
    return [c for c in text if c not in "\n\t" and unicodedata.category(c) in INVISIBLE]


def test_report_of_a_hostile_json_prints_no_control_sequence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`orgdrift report` on a report whose tenant and file names carry escape sequences, on a
    terminal: the page and the messages show them as escapes."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "orgs.yaml").write_text(DRIFTED, encoding="utf-8")
    assert main(["check", "--live", str(TENANT), "--report", "json=r.json", "orgs.yaml"]) == 1
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    document["tenant"] = f"evil{ESCAPES}.example.com"
    for spec in document.get("spec_files", []):
        spec["path"] = f"orgs{ESCAPES}.yaml"
    (tmp_path / "evil.json").write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / f"broken{ESCAPES}.json").write_text("{", encoding="utf-8")
    capsys.readouterr()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["report", "-o", "-", "evil.json"]) == 0
    out, err = capsys.readouterr()
    assert "evil" in out and not _raw_invisible(out + err)
    assert main(["report", "-o", "-", "evil.json", f"broken{ESCAPES}.json"]) == 2
    out, err = capsys.readouterr()
    assert "broken\\x1b[2J" in err and not _raw_invisible(out + err)


def test_a_spec_named_with_escape_sequences_is_named_visibly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = f"orgs{ESCAPES}.yaml"
    (tmp_path / name).write_text("version: 2\n", encoding="utf-8")
    assert main(["validate", "--", name]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("orgs\\x1b[2J\\x1b]0;owned\\x07\\u202e\\u200b\\x9b31m.yaml:")
    assert not _raw_invisible(out + err)


# --- option-like names and refs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["validate", "--", "--per-directory.yaml"], 0, "valid (1 organization)"),
        (["check", "--live", str(TENANT), "--", "--report=text=x.yaml"], 1, "display_name"),
        (["snapshot", "-o", "out.json", "--", "--all.yaml"], 2, "no tenant"),
        (["report", "-o", "page.html", "--", "--x.json"], 2, "--x.json"),
    ],
)
def test_every_command_taking_files_ends_its_options_at_a_double_dash(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    said: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTH0_DOMAIN", raising=False)
    for name in ("--per-directory.yaml", "--report=text=x.yaml", "--all.yaml"):
        (tmp_path / name).write_text(DRIFTED, encoding="utf-8")
    (tmp_path / "--x.json").write_text("{", encoding="utf-8")
    assert main(args) == code
    out, err = capsys.readouterr()
    assert said in out + err
    assert "unrecognized arguments" not in err
    assert not (tmp_path / "x.yaml").exists() and not (tmp_path / "out.json").exists()


def test_a_ref_that_looks_like_an_option_reaches_git_as_a_ref(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path)
    (repo / "auth0" / "orgs.yaml").write_text(IN_SYNC, encoding="utf-8")
    _commit(repo)
    monkeypatch.chdir(repo)
    args = ["check", "--live", str(TENANT), "--changed-from=--output=pwned", "auth0/orgs.yaml"]
    assert main(args) == 2
    assert "git knows no such commit" in capsys.readouterr().err
    assert not (repo / "pwned").exists()
