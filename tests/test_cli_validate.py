"""`orgdrift validate` end to end through the CLI's main()."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgdrift.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_valid_example_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES / "orgs.yaml")]) == 0
    out, err = capsys.readouterr()
    assert "valid (5 organizations)" in out
    assert err == ""


def test_broken_example_lists_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES / "broken.yaml")]) == 2
    _, err = capsys.readouterr()
    lines = err.splitlines()
    located = [line.split(": ", 1)[0].rsplit("/", 1)[-1] for line in lines[:-1]]
    assert located == [
        "broken.yaml:4:16",
        "broken.yaml:6:11",
        "broken.yaml:7:5",
        "broken.yaml:10:37",
        "broken.yaml:11:15",
        "broken.yaml:12:5",
        "broken.yaml:14:25",
        "broken.yaml:15:23",
        "broken.yaml:17:11",
    ]
    assert lines[-1] == "orgdrift: 9 problems found"


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read file" in capsys.readouterr().err
