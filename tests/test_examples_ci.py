"""The CI and audit examples in examples/ci: their structure, their orgdrift command lines (parsed
by orgdrift's own argument parser) and, with a stand-in `orgdrift`, the shell logic of their steps.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from orgdrift.cli import _parser
from orgdrift.reporters import get_reporter

ROOT = Path(__file__).resolve().parent.parent
CI_DIR = ROOT / "examples" / "ci"
ACTION = "orgdrift/orgdrift"
CONFIG = "pre-commit-config.yaml"
YAML_FILES = sorted(p for p in CI_DIR.iterdir() if p.suffix in {".yml", ".yaml"})
SPEC = "auth0/orgs.yaml"
PLACEHOLDER = "PLACEHOLDER"

# Words after which a shell word starts a new command.
COMMAND_STARTERS = {"if", "then", "else", "elif", "do", "while", "until", "!", "time", "exec"}


# --- reading the examples ------------------------------------------------------------------


def load(name: str) -> Any:
    return yaml.safe_load((CI_DIR / name).read_text(encoding="utf-8"))


def triggers(workflow: Mapping[Any, Any]) -> Mapping[str, Any]:
    """The `on:` of a workflow: YAML 1.1 (PyYAML) reads the unquoted key `on` as True."""
    value = workflow["on"] if "on" in workflow else workflow[True]
    assert isinstance(value, dict)
    return value


def steps(workflow: Mapping[Any, Any], job: str) -> list[dict[str, Any]]:
    result = workflow["jobs"][job]["steps"]
    assert isinstance(result, list)
    return result


def step_named(workflow: Mapping[Any, Any], job: str, name: str) -> dict[str, Any]:
    for step in steps(workflow, job):
        if step.get("name") == name:
            return step
    raise AssertionError(f"no step named {name!r} in job {job!r}")


def step_using(workflow: Mapping[Any, Any], job: str, action: str) -> dict[str, Any]:
    for step in steps(workflow, job):
        if str(step.get("uses", "")).startswith(action + "@"):
            return step
    raise AssertionError(f"no step uses {action} in job {job!r}")


def shell_scripts(name: str) -> list[str]:
    """Every shell script of an example file: `run:` steps, GitLab `script:` lines, hook entries."""
    document = load(name)
    if name == CONFIG:  # the hooks it uses, as defined at the orgdrift repository's root
        return [f"{hook['entry']} {SPEC}" for hook in hook_definitions()]
    if name == "gitlab-ci.yml":
        return [
            line
            for job in document.values()
            if isinstance(job, dict)
            for key in ("before_script", "script", "after_script")
            for line in job.get(key, [])
        ]
    return [
        step["run"] if "run" in step else action_command(step.get("with", {}))
        for job in document["jobs"]
        for step in steps(document, job)
        if "run" in step or str(step.get("uses", "")).startswith(ACTION + "@")
    ]


RECORDER = "import json, sys; print(json.dumps(sys.argv[1:]))"


@functools.cache
def _action_command(with_: tuple[tuple[str, str], ...]) -> str:
    """The orgdrift command line the action (action.yml) runs for these `with:` inputs: its run
    step's script, run by bash with a stand-in orgdrift that prints its arguments."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update(with_)
    env = {
        name: re.sub(r"\$\{\{ *inputs\.([\w-]+) *\}\}", lambda m: inputs[m.group(1)], str(value))
        for name, value in step["env"].items()
    }
    with tempfile.TemporaryDirectory() as tmp:
        recorder = Path(tmp) / "orgdrift"
        recorder.write_text(f"#!{sys.executable}\n{RECORDER}\n", encoding="utf-8")
        recorder.chmod(0o755)
        env.update(
            ORGDRIFT=str(recorder),
            RUNNER_TEMP=tmp,
            PATH=os.environ["PATH"],
            GITHUB_OUTPUT=str(Path(tmp) / "out"),
            GITHUB_STEP_SUMMARY=str(Path(tmp) / "sum"),
        )
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    args = json.loads(done.stdout.splitlines()[0])
    return shlex.join(["orgdrift", *(a.replace(tmp, "$RUNNER_TEMP") for a in args)])


def action_command(with_: Mapping[str, Any]) -> str:
    return _action_command(tuple(sorted((k, str(v)) for k, v in with_.items())))


def hook_definitions() -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = yaml.safe_load(
        (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    )
    return hooks


def _resolve_expansions(script: str) -> str:
    """Join continued lines and stand a placeholder in for `${{ expr }}`, `$VAR`, `${VAR}`, `$?`."""
    script = re.sub(r"\\\n", " ", script)
    script = re.sub(r"\$\{\{.*?\}\}", PLACEHOLDER, script)
    script = re.sub(
        r"\$\{\w+:\+([^}]*)\}", r"\1", script
    )  # ${VAR:+WORDS}: WORDS, as when VAR is set
    return re.sub(r"\$(\{[^}]*\}|\w+|\?)", PLACEHOLDER, script)


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def _is_operator(word: str) -> bool:
    return bool(word) and all(char in "();<>|&" for char in word)


def _arguments(words: list[str], start: int) -> list[str]:
    """The words of one command from `start`, up to an operator or a redirection."""
    args: list[str] = []
    for index in range(start, len(words)):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        if _is_operator(word) or (word.isdigit() and following[:1] in {"<", ">"}):
            break
        args.append(word)
    return args


def orgdrift_commands(script: str) -> Iterator[list[str]]:
    """The arguments of each `orgdrift ...` (or `python -m orgdrift ...`) command in a script."""
    for line in _resolve_expansions(script).splitlines():
        words = _words(line)
        for index, word in enumerate(words):
            at_command = (
                index == 0
                or _is_operator(words[index - 1])
                or (words[index - 1] in COMMAND_STARTERS)
            )
            if at_command and word == "orgdrift":
                yield _arguments(words, index + 1)
            elif at_command and words[index : index + 3] == ["python", "-m", "orgdrift"]:
                yield _arguments(words, index + 3)


@dataclass(frozen=True)
class Invocation:
    file: str
    args: tuple[str, ...]


@functools.cache
def all_invocations() -> tuple[Invocation, ...]:
    return tuple(
        Invocation(path.name, tuple(args))
        for path in YAML_FILES
        for script in shell_scripts(path.name)
        for args in orgdrift_commands(script)
    )


def parse(args: list[str] | tuple[str, ...]) -> Any:
    try:
        return _parser().parse_args(list(args))
    except SystemExit as exc:  # argparse reports a usage error by exiting
        pytest.fail(f"`orgdrift {shlex.join(args)}` does not parse (exit {exc.code})")


def reports(args: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`--report FORMAT=PATH` options of a command as {format: path}."""
    targets: dict[str, str] = {}
    for value in parse(args).report:
        fmt, _, path = value.partition("=")
        targets[fmt] = path
    return targets


def only_command(name: str, subcommand: str, *, live: bool | None = None) -> list[str]:
    found = [
        list(inv.args)
        for inv in all_invocations()
        if inv.file == name
        and inv.args[:1] == (subcommand,)
        and (live is None or (parse(inv.args).live is not None) == live)
    ]
    assert len(found) == 1, f"{name}: expected one `orgdrift {subcommand}`, found {found}"
    return found[0]


# --- the command-line extraction itself ----------------------------------------------------


def test_extraction_finds_commands_at_command_position_only() -> None:
    script = (
        "pip install orgdrift  # not a command\n"
        'set +e; orgdrift check a.yaml \\\n  --report markdown="$OUT" >> "$GITHUB_STEP_SUMMARY"\n'
        "if ! orgdrift validate ${{ env.SPEC }} 2>/dev/null; then exit 1; fi\n"
        "python -m orgdrift snapshot -o s.json && echo done\n"
    )
    assert list(orgdrift_commands(script)) == [
        ["check", "a.yaml", "--report", f"markdown={PLACEHOLDER}"],
        ["validate", PLACEHOLDER],
        ["snapshot", "-o", "s.json"],
    ]


def test_every_example_yaml_file_parses_and_runs_orgdrift() -> None:
    assert {p.name for p in YAML_FILES} == {
        "github-actions.yml",
        "gitlab-ci.yml",
        "audit-scheduled.yml",
        "pre-commit-config.yaml",
    }
    for path in YAML_FILES:
        assert yaml.safe_load(path.read_text(encoding="utf-8")), path.name
        assert any(inv.file == path.name for inv in all_invocations()), path.name
    assert {inv.args[0] for inv in all_invocations()} >= {"validate", "check"}


@pytest.mark.parametrize(
    "invocation", all_invocations(), ids=lambda inv: f"{inv.file}:{' '.join(inv.args[:1])}"
)
def test_every_orgdrift_command_line_parses(invocation: Invocation) -> None:
    args = parse(invocation.args)
    assert callable(args.command)
    for value in getattr(args, "report", []):
        fmt, sep, path = value.partition("=")
        assert sep and path, f"--report {value!r} is not FORMAT=PATH"
        get_reporter(fmt)  # raises UsageError for an unknown format
    for spec in getattr(args, "spec", []):
        assert spec == SPEC, f"{invocation.file} checks {spec}, the examples use {SPEC}"


# --- GitHub Actions: pull requests ---------------------------------------------------------


GITHUB = "github-actions.yml"


def test_github_workflow_runs_on_pull_requests_touching_the_spec() -> None:
    on = triggers(load(GITHUB))
    assert set(on) == {"pull_request"}, (
        "pull_request only: pull_request_target would expose secrets"
    )
    assert any(fnmatch.fnmatch(SPEC, pattern) for pattern in on["pull_request"]["paths"])


def test_github_workflow_permissions_allow_the_sarif_upload_only() -> None:
    permissions = load(GITHUB)["permissions"]
    assert permissions["security-events"] == "write"
    assert permissions["contents"] == "read"
    assert [scope for scope, level in permissions.items() if level == "write"] == [
        "security-events"
    ]


def test_github_workflow_validates_then_checks_with_the_action() -> None:
    used = [step for step in steps(load(GITHUB), "orgdrift") if "uses" in step]
    commands = [
        action_command(step.get("with", {})).split()[1]
        for step in used
        if step["uses"].startswith(ACTION + "@")
    ]
    assert commands == ["validate", "check"]
    assert parse(only_command(GITHUB, "check")).format == "auto"  # annotations inside Actions


def test_github_credentials_come_from_secrets() -> None:
    workflow = load(GITHUB)
    check = step_named(workflow, "orgdrift", "Check the live tenant")
    env = {**workflow["jobs"]["orgdrift"].get("env", {}), **check["env"]}
    assert env["AUTH0_DOMAIN"] == "${{ vars.AUTH0_DOMAIN }}"
    for name in ("AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"):
        assert env[name] == f"${{{{ secrets.{name} }}}}"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in check["if"]


def test_github_reports_go_to_the_summary_and_code_scanning() -> None:
    workflow = load(GITHUB)
    targets = reports(only_command(GITHUB, "check"))
    assert set(targets) == {"sarif", "markdown"}  # the action sends the Markdown to the summary
    assert targets["markdown"] == f"{PLACEHOLDER}/orgdrift-summary.md"  # $RUNNER_TEMP
    upload = step_using(workflow, "orgdrift", "github/codeql-action/upload-sarif")
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif }}"
    assert "always()" in upload["if"]


# --- running step scripts with a stand-in orgdrift -----------------------------------------

FAKE_ORGDRIFT = """\
import json, os, sys
args = sys.argv[1:]
code = int(os.environ.get("FAKE_CODE", "0"))
live = "--live" in args
if code in (0, 1):
    for i, word in enumerate(args):
        if word == "--report":
            fmt, _, path = args[i + 1].partition("=")
            with open(path, "w") as f:
                f.write(os.environ.get("FAKE_REPORT", "") if fmt == "json" else f"{fmt} report\\n")
        if word in ("-o", "--output"):
            with open(args[i + 1], "w") as f:
                f.write("{}")
    if "--format" in args:
        fmt = args[args.index("--format") + 1]
        key = "FAKE_REPLAY" if live else "FAKE_REPORT"
        print(os.environ.get(key, "") if fmt == "json" else f"{fmt} output")
sys.exit(int(os.environ.get("FAKE_REPLAY_CODE", code)) if live else code)
"""


@dataclass(frozen=True)
class StepRun:
    code: int
    stdout: str
    outputs: dict[str, str]
    summary: str
    workdir: Path


Runner = Callable[[str, Mapping[str, str]], StepRun]


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "orgdrift"
    fake.write_text(f"#!{sys.executable}\n{FAKE_ORGDRIFT}", encoding="utf-8")
    fake.chmod(0o755)
    (bindir / "python").symlink_to(sys.executable)  # as actions/setup-python provides it
    work = tmp_path / "work"
    work.mkdir()

    def run(script: str, env: Mapping[str, str]) -> StepRun:
        output, summary = tmp_path / "output", tmp_path / "summary"
        output.write_text("", encoding="utf-8")
        summary.write_text("", encoding="utf-8")
        full_env = {
            "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            **env,
        }
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=work,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        outputs = dict(
            line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines()
        )
        return StepRun(
            done.returncode, done.stdout, outputs, summary.read_text(encoding="utf-8"), work
        )

    return run


# --- GitLab CI -----------------------------------------------------------------------------


def test_gitlab_job_publishes_the_junit_report() -> None:
    job = load("gitlab-ci.yml")["orgdrift"]
    targets = reports(only_command("gitlab-ci.yml", "check"))
    assert job["artifacts"]["reports"]["junit"] == targets["junit"]
    assert job["artifacts"]["when"] == "always"  # a failing (drifted) job still publishes it
    assert targets["json"] in job["artifacts"]["paths"]
    only_command("gitlab-ci.yml", "validate")
    changes = [path for rule in job["rules"] for path in rule.get("changes", [])]
    assert SPEC in changes


def test_gitlab_merge_requests_check_only_what_they_change(tmp_path: Path) -> None:
    """The job's script, run by bash with stand-ins for `git` and `orgdrift` that record their
    arguments: a merge request pipeline fetches the target branch and scopes the check with
    --changed-from; a default-branch pipeline checks everything."""
    job = load("gitlab-ci.yml")["orgdrift"]
    assert job["variables"]["GIT_DEPTH"] == 0  # the target branch's history is there to compare
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name in ("git", "orgdrift"):
        stub = stubs / name
        stub.write_text(
            f"#!{sys.executable}\nimport json, os, sys\n"
            "with open(os.environ['CALLS'], 'a') as log:\n"
            "    log.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + '\\n')\n",
            encoding="utf-8",
        )
        stub.chmod(0o755)

    def calls(**variables: str) -> list[list[str]]:
        log = tmp_path / f"calls-{len(variables)}.jsonl"
        env = {"PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "CALLS": str(log), **variables}
        script = "\n".join(job["script"])
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, check=False)
        assert done.returncode == 0
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    merge_request = calls(CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main")
    assert merge_request[:2] == [
        ["orgdrift", "validate", "--", SPEC],  # a file name is never an option
        ["git", "fetch", "--quiet", "origin", "main"],
    ]
    assert merge_request[2][:4] == ["orgdrift", "check", "--changed-from", "origin/main"]
    assert merge_request[2][-2:] == ["--", SPEC]
    default_branch = calls()
    assert [c[:2] + c[-2:] for c in default_branch] == [
        ["orgdrift", "validate", "--", SPEC],
        ["orgdrift", "check", "--", SPEC],
    ]
    assert "--changed-from" not in default_branch[1]
    assert reports(default_branch[1][1:]) == reports(merge_request[2][1:])


# --- the scheduled audit -------------------------------------------------------------------

AUDIT = "audit-scheduled.yml"


def test_audit_runs_on_a_schedule_reading_only_and_signing_its_verdict() -> None:
    """Read-only on the repository; the two permissions the opt-in attestation needs, and the
    action's `attest` input set."""
    workflow = load(AUDIT)
    schedule = triggers(workflow)["schedule"]
    assert schedule and all(len(entry["cron"].split()) == 5 for entry in schedule)
    assert workflow["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "attestations": "write",
    }
    check = step_named(workflow, "audit", "Check the live tenant")
    assert check["uses"].startswith(ACTION + "@") and check["with"]["attest"] == "true"


def test_audit_reads_the_tenant_once_and_keeps_the_snapshot_it_compared() -> None:
    """One `check --write-snapshot` reads the tenant (no `orgdrift snapshot`, no second read);
    the replay reads that snapshot offline; the artifact keeps the snapshot, the reports and
    the signed statement."""
    workflow = load(AUDIT)
    audit_commands = [inv.args for inv in all_invocations() if inv.file == AUDIT]
    assert [a[0] for a in audit_commands].count("snapshot") == 0
    online = only_command(AUDIT, "check", live=False)
    snapshot = parse(online).write_snapshot
    assert snapshot == "snapshot.json"
    report = reports(online)["json"]
    replay = parse(only_command(AUDIT, "check", live=True))
    assert replay.live == snapshot and replay.since is None

    upload = step_using(workflow, "audit", "actions/upload-artifact")
    assert "always()" in upload["if"]
    kept = upload["with"]["path"].split()
    assert {snapshot, report, "run.intoto.json", "SHA256SUMS"} <= set(kept)
    assert int(upload["with"]["retention-days"]) > 0

    names = [step.get("name") for step in steps(workflow, "audit")]
    order = ["Check the live tenant", "Replay the check from the snapshot", "Keep the evidence"]
    assert [names.index(name) for name in order] == sorted(names.index(name) for name in order)


def test_actionlint_accepts_the_audit_with_the_actions_inputs(tmp_path: Path) -> None:
    """actionlint over the audit workflow, its `uses:` pointed at this repository's action.yml
    so that the inputs it passes (attest, args, ...) are checked against the action's."""
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or "actionlint"
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)  # actionlint's project root
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    text = (CI_DIR / AUDIT).read_text(encoding="utf-8")
    assert f"uses: {ACTION}@main" in text
    local = tmp_path / ".github" / "workflows" / AUDIT
    local.write_text(text.replace(f"uses: {ACTION}@main", "uses: ./"), encoding="utf-8")
    done = subprocess.run(
        [actionlint, "-no-color", f".github/workflows/{AUDIT}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _report(in_sync: bool, checked_at: str, source: str, digest: str = "d" * 64) -> str:
    return json.dumps(
        {
            "checked_at": checked_at,
            "source": source,
            "stats": {"requests": 3},
            "tenant": "t.eu.auth0.com",
            "in_sync": in_sync,
            "summary": {"findings": 0 if in_sync else 2},
            "organizations": [],
            "spec_files": [{"path": SPEC, "sha256": "ab"}],
            "evidence": {"live_state_sha256": digest},
        }
    )


@pytest.mark.parametrize(
    ("replay_in_sync", "replay_code", "replay_digest", "passes"),
    [
        (False, 1, "d" * 64, True),
        (True, 1, "d" * 64, False),
        (False, 0, "d" * 64, False),
        (False, 1, "e" * 64, False),  # the same verdict from another state
    ],
)
@pytest.mark.parametrize("attested", [True, False])
def test_audit_replay_step_accepts_only_the_same_verdict_and_digest(
    runner: Runner,
    replay_in_sync: bool,
    replay_code: int,
    replay_digest: str,
    passes: bool,
    attested: bool,
) -> None:
    workflow = load(AUDIT)
    check = step_named(workflow, "audit", "Check the live tenant")
    assert check["with"]["fail-on-drift"] == "false"  # drift fails the job after the evidence
    fail = step_named(workflow, "audit", "Fail on drift")
    assert fail["if"] == "steps.check.outputs.drift == 'true'"
    step = step_named(workflow, "audit", "Replay the check from the snapshot")
    assert step["env"]["STATEMENT"] == "${{ steps.check.outputs.intoto }}"
    # What the check step (the action) leaves: its JSON report, the snapshot it wrote, the
    # statement (with attest), and its exit code as an output.
    first = runner("true", {})
    (first.workdir / "report.json").write_text(
        _report(False, "2026-01-01T00:00:00Z", "api"), encoding="utf-8"
    )
    (first.workdir / "snapshot.json").write_text("{}", encoding="utf-8")
    statement = first.workdir.parent / "orgdrift.intoto.json"
    statement.write_text("{}", encoding="utf-8")

    replay = runner(
        step["run"],
        {
            "LIVE_CODE": "1",
            "STATEMENT": str(statement) if attested else "",
            "FAKE_CODE": "1",
            "FAKE_REPLAY_CODE": str(replay_code),
            "FAKE_REPLAY": _report(
                replay_in_sync, "2026-01-01T00:05:00Z", "snapshot", replay_digest
            ),
        },
    )
    assert (replay.code == 0) == passes, replay.stdout
    if passes:
        sums = (replay.workdir / "SHA256SUMS").read_text(encoding="utf-8").split()
        signed = ["run.intoto.json"] if attested else []
        assert sums[1::2] == ["snapshot.json", "report.json", "replay.json", *signed]


# --- pre-commit ----------------------------------------------------------------------------


def test_hook_definition() -> None:
    (hook,) = hook_definitions()
    assert hook["id"] == "orgdrift-validate"
    assert hook["language"] == "python"
    # pre-commit appends the file names: after `--`, a file named like an option is a file
    assert shlex.split(hook["entry"]) == [
        "orgdrift",
        "validate",
        "--per-directory",
        "--quiet",
        "--",
    ]
    assert hook["require_serial"] is True
    files = re.compile(hook["files"])
    for path in (SPEC, "orgs.yml", "infra/organizations.yaml", "team.orgdrift.yaml"):
        assert files.search(path), path
    for path in ("docker-compose.yml", "auth0/connections.yaml", "myorgs.yaml"):
        assert not files.search(path), path


def test_pre_commit_config_uses_the_hook() -> None:
    (repo,) = load(CONFIG)["repos"]
    assert repo["repo"].startswith("https://") and repo["rev"]
    (hook,) = repo["hooks"]
    assert hook["id"] == hook_definitions()[0]["id"]
    assert re.search(hook["files"], SPEC)


def test_readme_describes_every_example() -> None:
    readme = (CI_DIR / "README.md").read_text(encoding="utf-8")
    for path in YAML_FILES:
        assert f"`{path.name}`" in readme, path.name
