"""ARCHITECTURE.md is drawn from the code: every module is in it, and every command's options and
result it names are what `cli.py` passes and `pipeline.py` returns."""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path

from orgdrift import cli, pipeline

ROOT = Path(__file__).resolve().parent.parent
NOTE = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def test_every_module_is_in_the_note() -> None:
    package = ROOT / "orgdrift"
    for path in sorted(package.rglob("*.py")):
        if path.name not in ("__init__.py", "__main__.py"):
            assert f"`{path.name}`" in NOTE or f"/{path.name}`" in NOTE, path.relative_to(ROOT)


def test_every_command_takes_one_options_value_and_returns_its_result() -> None:
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| `(\w+)`", NOTE, re.MULTILINE)
    assert {command for command, _, _ in rows} == {
        "validate",
        "check",
        "demo",
        "snapshot",
        "export",
        "report",
        "plan",
    }
    for command, options, result in rows:
        run = getattr(pipeline, f"run_{command}")
        hints = typing.get_type_hints(run)
        parameters = list(inspect.signature(run).parameters)
        assert parameters == ["options"], command
        assert hints["options"] is getattr(pipeline, options), command
        assert hints["return"].__name__ == result, command
        source = inspect.getsource(getattr(cli, f"_cmd_{command}"))
        if f"_{command}_options(" in source:  # built by its helper (check's, which plan shares)
            source = inspect.getsource(getattr(cli, f"_{command}_options"))
        assert f"pipeline.{options}(" in source, command


def _heavy_imports(*argv: str) -> set[str]:
    """The heavy packages `python -m orgdrift ARGV` imports (`-X importtime`, in a subprocess)."""
    import subprocess
    import sys

    heavy = {"httpx", "deepdiff", "jsonschema", "jsonschema_rs", "yaml", "jinja2", "starlette"}
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "orgdrift", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]  # a command that died early imports little
    assert "orgdrift.cli" in run.stderr  # importtime's lines are there to be read
    names = {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines() if "|" in line}
    return heavy & names


def test_the_light_commands_import_only_what_they_use() -> None:
    """`--version` and the parser import none of the heavy dependencies; `validate` reads YAML
    and checks a schema but never reads the tenant, compares or serves (httpx, deepdiff,
    starlette; tests/benchmarks/README.md, imports)."""
    assert _heavy_imports("--version") == set()
    assert _heavy_imports("validate", "examples/orgs.yaml") <= {
        "jsonschema",
        "jsonschema_rs",
        "yaml",
    }
