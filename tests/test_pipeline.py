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
    assert pipeline.run_validate(pipeline.ValidateOptions((SPEC,), {})).status is Status.VALID
    assert pipeline.run_validate(pipeline.ValidateOptions((SPEC,), {})).scope.declared == 5
    missing = pipeline.run_validate(pipeline.ValidateOptions((str(tmp_path / "nope.yaml"),), {}))
    assert missing.status is Status.INVALID and missing.spec_files == ()


def test_a_check_needs_a_tenant_or_a_snapshot() -> None:
    report = pipeline.run_check(options(tenant=None))
    assert report.exit_code is ExitCode.USAGE
    assert report.failure is not None and "a tenant or a snapshot" in report.failure.message


@pytest.mark.parametrize(
    ("orgs", "code"), [((), ExitCode.DRIFT), (("acme",), ExitCode.DRIFT), (("x",), ExitCode.USAGE)]
)
def test_demo_is_a_report_in_every_outcome(orgs: tuple[str, ...], code: ExitCode) -> None:
    report = pipeline.run_demo(pipeline.DemoOptions(orgs))
    assert report.exit_code is code
    assert [f.path for f in report.spec_files] == ["examples/orgs.yaml"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({}, ExitCode.IN_SYNC),
        ({"token": "revoked"}, ExitCode.INCOMPLETE),
        ({"domain": ""}, ExitCode.USAGE),
    ],
)
def test_snapshot_and_export_return_a_result_in_every_outcome(
    changes: dict[str, Any], code: ExitCode
) -> None:
    tenant = options(**changes).tenant
    assert tenant is not None
    taken = pipeline.run_snapshot(pipeline.SnapshotOptions(tenant, (SPEC,)))
    exported = pipeline.run_export(pipeline.ExportOptions(tenant))
    for failure in (taken.failure, exported.failure):
        assert (failure.exit_code if failure else ExitCode.IN_SYNC) is code
    if code is ExitCode.IN_SYNC:
        assert taken.state.organizations and "read:logs" in (taken.no_checkpoint or "")
        assert exported.organizations == len(state_of(TENANT).organizations)
        assert exported.text.count("\n- name: ") == exported.organizations
    else:
        assert not taken.state.organizations and exported.text == ""


def test_report_returns_the_page_or_why_not(tmp_path: Path) -> None:
    written = pipeline.run_check(options())
    first = tmp_path / "r.json"
    first.write_text(report_to_dict_text(written), encoding="utf-8")
    page = pipeline.run_report(pipeline.ReportOptions((str(first),)))
    assert page.failure is None and page.page.startswith("<!DOCTYPE html>")
    (tmp_path / "bad.json").write_text("[]", encoding="utf-8")
    refused = pipeline.run_report(pipeline.ReportOptions((str(first), str(tmp_path / "bad.json"))))
    assert refused.page == "" and refused.failure is not None
    assert refused.failure.exit_code is ExitCode.USAGE
    assert [p.path for p in refused.failure.problems] == ["$"]


def report_to_dict_text(report: Any) -> str:
    from orgdrift.reporters import RenderOptions, get_reporter

    return get_reporter("json").render(report, RenderOptions())
