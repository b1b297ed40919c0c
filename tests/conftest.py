"""Shared test plumbing: golden files; a skipped test fails.

Run `pytest --update-goldens` to rewrite golden files from the current output; review the diff
before committing it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from orgdrift import client as client_module

GOLDEN_DIR = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/golden/* from the current output instead of comparing",
    )


GoldenCheck = Callable[[str, str], None]


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> GoldenCheck:
    """`golden("check/drift.txt", text)` compares `text` with tests/golden/check/drift.txt."""
    update = bool(request.config.getoption("--update-goldens"))

    def check(name: str, actual: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8", newline="\n")
            return
        assert path.exists(), f"golden file {path} is missing: run pytest --update-goldens"
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"output differs from golden file {path}"

    return check


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """A skipped test is a check that cannot fail: this project has none, so a skip (a fixture
    missing on this machine, an optional package not installed) fails the run and says why."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, and no test may be skipped here: {report.longrepr}"


@pytest.fixture
def quick_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests whose faults travel over real sockets, where virtual time cannot drive the
    client: its waits between attempts are scaled down 20 times (the same retries, in the same
    order). The waits' own values are tested in virtual time (test_client.py, test_pacing.py)."""
    original = client_module.retry_delay

    def scaled(*args: Any, **kwargs: Any) -> float:
        return original(*args, **kwargs) / 20

    monkeypatch.setattr(client_module, "retry_delay", scaled)
