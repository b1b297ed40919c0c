"""pipeline: one function per command returns a Report in every outcome; the spec is loaded,
the declarations selected and matched once. In process, through httpx.ASGITransport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from orgdrift import check, pipeline, reads
from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app
from orgdrift.errors import ExitCode
from orgdrift.models import Status

from .test_cli_check import ROOT, TENANT, state_of

SPEC = str(ROOT / "examples" / "orgs.yaml")


def options(
    token: str = DEFAULT_TOKEN, domain: str = "http://127.0.0.1", **changes: Any
) -> pipeline.CheckOptions:
    app = create_app(state_of(TENANT), EmulatorConfig())
    tenant = reads.Tenant(
        domain=domain, env={"AUTH0_API_TOKEN": token}, transport=httpx.ASGITransport(app=app)
    )
    values: dict[str, Any] = {"specs": (SPEC,), "env": {}, "tenant": tenant} | changes
    return pipeline.CheckOptions(**values)


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({}, Status.DRIFT, ExitCode.DRIFT),
        ({"orgs": ("hooli",)}, Status.IN_SYNC, ExitCode.IN_SYNC),
        ({"orgs": ("nobody",)}, Status.INVALID, ExitCode.USAGE),
        ({"specs": (str(ROOT / "examples" / "broken.yaml"),)}, Status.INVALID, ExitCode.USAGE),
        ({"token": "revoked"}, Status.INCOMPLETE, ExitCode.INCOMPLETE),
        ({"domain": ""}, Status.INVALID, ExitCode.USAGE),
        (
            {"domain": "http://example.com"},
            Status.INVALID,
            ExitCode.USAGE,
        ),  # plain http off loopback
    ],
)
def test_every_outcome_is_a_report(changes: dict[str, Any], status: Status, code: ExitCode) -> None:
    report = pipeline.run_check(options(**changes))
    assert (report.status, report.exit_code) == (status, code)
    if report.failure is not None:
        assert report.organizations == ()
        assert report.failure.message


def test_invalid_spec_problems_are_located() -> None:
    report = pipeline.run_check(options(specs=(str(ROOT / "examples" / "broken.yaml"),)))
    assert report.failure is not None
    assert [(p.line, p.column) for p in report.failure.problems][:2] == [(4, 16), (6, 11)]
    assert [f.path for f in report.spec_files] == [str(ROOT / "examples" / "broken.yaml")]


def test_select_and_match_run_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"select": 0, "match": 0}
    real_select, real_match = check.select, check.match

    def select(*args: Any) -> Any:
        calls["select"] += 1
        return real_select(*args)

    def match(*args: Any) -> Any:
        calls["match"] += 1
        return real_match(*args)

    monkeypatch.setattr(pipeline, "select", select)
    monkeypatch.setattr(check, "match", match)
    report = pipeline.run_check(options())
    assert report.status is Status.DRIFT
    assert calls == {"select": 1, "match": 1}


def test_validate_is_a_report_too(tmp_path: Path) -> None:
    assert pipeline.run_validate([SPEC], {}).status is Status.VALID
    assert pipeline.run_validate([SPEC], {}).scope.declared == 5
    missing = pipeline.run_validate([str(tmp_path / "nope.yaml")], {})
    assert missing.status is Status.INVALID and missing.spec_files == ()
