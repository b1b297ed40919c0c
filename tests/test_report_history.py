"""`orgdrift report REPORT.json... -o PATH`: the audit page with the history of earlier runs.

The runs in tests/data/history, oldest first (run 1 in report format 1, the others in 2):
  1 2026-10-05 drift: acme display_name and google-oauth2, customer-1 is_signup_enabled
  2 2026-10-12 incomplete (HTTP 503): acme read in sync, but that resolves nothing
  3 2026-10-19 in sync, scope --org acme, spec changed: display_name fixed (resolved),
    google-oauth2 accepted until 2026-11-20; customer-1 not checked (so not resolved)
  4 2026-10-26 drift: customer-1 still, customer-2 metadata.tier new, customer-2 logo accepted
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orgdrift.cli import main
from tests.reporters.test_html import HOSTILE, Element, assert_safe, parse, shown

GoldenCheck = Callable[[str, str], None]
HISTORY = Path(__file__).resolve().parent / "data" / "history"
RUNS = ["2026-10-05.json", "2026-10-12.json", "2026-10-19.json", "2026-10-26.json"]


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the runs in a scratch directory, which is also the working directory."""
    for name in RUNS:
        shutil.copy(HISTORY / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def page_of(capsys: pytest.CaptureFixture[str], *files: str) -> tuple[Element, str]:
    code, _, err = run(capsys, *files, "-o", "page.html")
    assert code == 0, err
    html = Path("page.html").read_text(encoding="utf-8")
    return parse(html), html


def rows(section: Element, heading: str) -> list[list[str]]:
    """The body rows of the table that follows the <h3> `heading`."""
    children = [c for c in section.children if isinstance(c, Element)]
    start = next(i for i, c in enumerate(children) if c.tag == "h3" and c.text() == heading)
    table = next(c for c in children[start + 1 :] if c.tag == "table")
    return [[td.text() for td in tr.find("td")] for tr in table.find("tbody")[0].find("tr")]


def test_history_golden(
    runs: Path, capsys: pytest.CaptureFixture[str], golden: GoldenCheck
) -> None:
    # given in any order: the page orders the runs by checked_at
    page, html = page_of(capsys, RUNS[2], RUNS[0], RUNS[3], RUNS[1])
    assert_safe(page, html)
    golden("reporters/html/history.html", html)


def test_the_page_is_the_latest_run_with_its_history(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page, _ = page_of(capsys, *RUNS)
    assert page.by_id("verdict").text() == (
        "Drift found 4 findings (2 accepted) in 3 of 4 organizations"
    )
    sections = [e.attrs.get("id") for e in page.find("section")]
    assert sections.index("organizations") < sections.index("history") < sections.index("evidence")
    history = page.by_id("history")
    runs_table = rows(history, "Runs")
    assert [r[:7] for r in runs_table] == [
        ["1", "2026-10-05T06:17:03Z", "drift", "3", "2", "0", ""],
        ["2", "2026-10-12T06:17:11Z", "incomplete: no verdict", "—", "—", "0", "—"],
        ["3", "2026-10-19T06:17:08Z", "in sync", "0", "0", "1", "changed"],
        ["4", "2026-10-26T06:17:15Z", "drift", "2", "2", "2", "—"],
    ]
    for row, name in zip(runs_table, RUNS, strict=True):
        assert row[7].startswith(name + " ") and len(row[7].split()[1]) == 64  # file and sha256


def test_when_each_finding_appeared_and_was_resolved(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page, _ = page_of(capsys, *RUNS)
    table = {
        (row[1], row[2].split(": ", 1)[1].split(" field changed")[0].split(" connection ")[0]): row
        for row in rows(page.by_id("history"), "Findings over time")
    }
    by_state = {(org, row[0], row[3], row[4], row[5], row[6]) for (org, _), row in table.items()}
    assert by_state == {
        # still drifted in the latest run; run 3 did not check customer-1, so it resolved nothing
        ("customer-1", "open", "run 1, 2026-10-05 06:17", "run 4, 2026-10-26 06:17", "—", "2"),
        ("customer-2", "open", "run 4, 2026-10-26 06:17", "run 4, 2026-10-26 06:17", "—", "1"),
        ("acme", "accepted", "run 1, 2026-10-05 06:17", "run 4, 2026-10-26 06:17", "—", "3"),
        ("customer-2", "accepted", "run 4, 2026-10-26 06:17", "run 4, 2026-10-26 06:17", "—", "1"),
        # gone in run 2 too, but run 2 has no verdict: resolved by run 3, which checked acme
        (
            "acme",
            "resolved",
            "run 1, 2026-10-05 06:17",
            "run 1, 2026-10-05 06:17",
            "run 3, 2026-10-19 06:17",
            "1",
        ),
    }
    states = [row[0] for row in rows(page.by_id("history"), "Findings over time")]
    assert states == ["open", "open", "accepted", "accepted", "resolved"]


def test_organizations_over_time(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page, _ = page_of(capsys, *RUNS)
    history = page.by_id("history")
    table = rows(history, "Organizations over time")
    assert [row[:5] for row in table] == [
        ["customer-1", "drifted", "2", "run 1, 2026-10-05 06:17", "run 4, 2026-10-26 06:17"],
        ["acme", "drift accepted", "1", "run 1, 2026-10-05 06:17", "run 1, 2026-10-05 06:17"],
        ["customer-2", "drifted", "1", "run 4, 2026-10-26 06:17", "run 4, 2026-10-26 06:17"],
    ]
    strips = [
        [cell.attrs["class"] for cell in div.find("span")]
        for div in history.find("div")
        if div.attrs.get("class") == "strip"
    ]
    assert strips == [
        ["c-drifted", "c-noverdict", "c-absent", "c-drifted"],
        ["c-drifted", "c-noverdict", "c-accepted", "c-accepted"],
        ["c-in_sync", "c-noverdict", "c-absent", "c-drifted"],
    ]
    assert "1 other organization in sync in every run that checked it." in history.text()


def test_exceptions_expiring_within_30_days(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page, _ = page_of(capsys, *RUNS)
    expiring = rows(page.by_id("history"), "Exceptions expiring within 30 days")
    assert expiring == [
        [
            "acme",
            "connection google-oauth2 is enabled but not allowed",
            "SSO migration, SEC-142",
            "@platform",
            "2026-11-20",
            "25 days left",
            "auth0/orgs.yaml:40",
        ],
    ]  # the logo exception expires 2027-03-01: not listed


def test_the_chart(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page, _ = page_of(capsys, *RUNS)
    (svg,) = page.by_id("history").find("svg")
    assert svg.attrs["role"] == "img"
    circles = svg.find("circle")  # findings, one per run with a verdict
    squares = [r for r in svg.find("rect") if r.attrs.get("class") == "pd"]
    gaps = [r for r in svg.find("rect") if r.attrs.get("class") == "gap"]
    assert [c.text() for c in circles] == [
        "run 1, 2026-10-05 06:17: 3 findings",
        "run 3, 2026-10-19 06:17: 0 findings",
        "run 4, 2026-10-26 06:17: 2 findings",
    ]
    assert [s.text() for s in squares] == [
        "run 1, 2026-10-05 06:17: 2 drifted organizations",
        "run 3, 2026-10-19 06:17: 0 drifted organizations",
        "run 4, 2026-10-26 06:17: 2 drifted organizations",
    ]
    assert [g.text() for g in gaps] == ["run 2, 2026-10-12 06:17: incomplete: no verdict"]
    # the line breaks at the run without a verdict: run 1 stands alone, runs 3-4 are joined
    assert len(svg.find("polyline")) == 2
    heights = [float(c.attrs["cy"]) for c in circles]
    assert heights[0] < heights[2] < heights[1]  # 3 findings above 2 above 0
    labels = [t.text() for t in svg.find("text")]
    assert "2026-10-05" in labels and "2026-10-26" in labels


def test_one_report_is_a_history_of_one(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page, _ = page_of(capsys, RUNS[0])
    assert len(rows(page.by_id("history"), "Runs")) == 1
    assert len(page.by_id("history").find("circle")) == 1


def test_stdout(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *RUNS, "-o", "-")
    assert code == 0
    assert out.startswith("<!DOCTYPE html>")
    parse(out)


# --- refusals: exit 2 naming the files ---------------------------------------------------------


def edit(path: Path, **changes: Any) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    document.update(changes)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_reports_of_another_tenant_are_refused(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(runs / RUNS[1], tenant="other.eu.auth0.com")
    code, _, err = run(capsys, *RUNS, "-o", "page.html")
    assert code == 2
    assert "different tenants" in err
    assert "2026-10-12.json (tenant other.eu.auth0.com)" in err
    assert (
        "2026-10-05.json, 2026-10-19.json, 2026-10-26.json (tenant acme-prod.eu.auth0.com)" in err
    )
    assert not Path("page.html").exists()


def test_reports_of_another_spec_are_refused(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(runs / RUNS[3], spec_files=[{"path": "other/orgs.yaml", "sha256": "0" * 64}])
    code, _, err = run(capsys, *RUNS, "-o", "page.html")
    assert code == 2
    assert "different specs" in err
    assert "2026-10-26.json (spec other/orgs.yaml)" in err
    assert "2026-10-05.json, 2026-10-12.json, 2026-10-19.json (spec auth0/orgs.yaml)" in err


def test_a_spec_named_differently_is_the_same_spec(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(runs / RUNS[3], spec_files=[{"path": "./auth0//orgs.yaml", "sha256": "0" * 64}])
    code, _, err = run(capsys, *RUNS, "-o", "page.html")
    assert code == 0, err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"tool": "orgdrift",\n  "tenant": }',
            "2026-10-12.json:2:13: not valid JSON: Expecting value",
        ),
        ("[1, 2]", "2026-10-12.json: $: not an orgdrift JSON report"),
        ('{"tool": "other"}', "2026-10-12.json: $.tool: not an orgdrift JSON report"),
        (b"\xff\xfe{}", "2026-10-12.json: not valid UTF-8 at byte 0"),
        ("[" * 100 + "]" * 100, "2026-10-12.json: JSON nested more than 72 levels deep"),
        ("[" * 100_000 + "]" * 100_000, "2026-10-12.json: JSON nested more than 72 levels deep"),
        (
            '{"tool": "orgdrift", "report_version": 2}',
            "2026-10-12.json: $: 'tool_version' is required",
        ),
    ],
)
def test_a_file_that_is_not_a_report_is_refused(
    runs: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, message: str
) -> None:
    target = runs / RUNS[1]
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, *RUNS, "-o", "page.html")
    assert code == 2
    assert message in err


def test_every_problem_of_every_file_at_once(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(runs / RUNS[0], report_version=5)
    edit(runs / RUNS[2], spec_files="auth0/orgs.yaml", checked_at="yesterday")
    code, _, err = run(capsys, *RUNS, "-o", "page.html")
    assert code == 2
    assert (
        "2026-10-05.json: $.report_version: report version 5: this orgdrift reads versions 1, 2, 3 and 4"
        in err
    )
    assert "2026-10-19.json: $.checked_at: not an RFC 3339 date-time" in err
    assert "2026-10-19.json: $.spec_files: 'auth0/orgs.yaml' is not of type 'array'" in err
    assert "3 problems found" in err
    assert not Path("page.html").exists()


def test_usage_errors(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, RUNS[0], RUNS[0], "-o", "page.html")
    assert (code, "given twice") == (2, "given twice") and "given twice" in err
    code, _, err = run(capsys, RUNS[0], "missing.json", "-o", "page.html")
    assert code == 2 and "missing.json: cannot read file: No such file or directory" in err
    code, _, err = run(capsys, *RUNS, "-o", RUNS[0])
    assert code == 2 and f"{RUNS[0]} is an input of this run; refusing to overwrite it" in err
    assert json.loads((runs / RUNS[0]).read_text(encoding="utf-8"))["tool"] == "orgdrift"
    with pytest.raises(SystemExit) as exited:
        main(["report", *RUNS])  # -o is required
    assert exited.value.code == 2


def test_hostile_text_in_history(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for index, name in enumerate(RUNS):
        document = json.loads((runs / name).read_text(encoding="utf-8"))
        for org in document["organizations"]:
            text = HOSTILE[index % len(HOSTILE)]
            org["name"] = text + org["name"]
            for finding in org["findings"]:
                finding["organization"] = org["name"]
                finding["message"] = text + finding["message"]
                if finding.get("accepted"):
                    finding["accepted"]["reason"] = text
                    finding["accepted"]["owner"] = HOSTILE[-2]
        (runs / name).write_text(json.dumps(document), encoding="utf-8")
    page, html = page_of(capsys, *RUNS)
    assert_safe(page, html)
    history = page.by_id("history").text()
    assert shown(HOSTILE[0] + "customer-1") in history
    assert shown(HOSTILE[3]) in history  # the latest run's accepted reason
    assert shown(HOSTILE[-2]) in history


def test_the_scheduled_audit_keeps_the_html_with_the_other_evidence() -> None:
    from tests.test_examples_ci import AUDIT, load, only_command, reports, step_using

    targets = reports(only_command(AUDIT, "check", live=False))
    kept = step_using(load(AUDIT), "audit", "actions/upload-artifact")["with"]["path"].split()
    assert targets["html"] in kept and targets["json"] in kept


def test_a_finding_known_from_the_baseline_is_neither_open_nor_resolved(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads((runs / RUNS[3]).read_text(encoding="utf-8"))
    document["organizations"][1]["findings"][0]["known"] = True  # customer-1's signup flag
    (runs / RUNS[3]).write_text(json.dumps(document), encoding="utf-8")
    page, _ = page_of(capsys, *RUNS)
    states = {
        row[1]: row[0]
        for row in rows(page.by_id("history"), "Findings over time")
        if row[0] in ("known (baseline)", "open")
    }
    assert states == {"customer-1": "known (baseline)", "customer-2": "open"}
    assert rows(page.by_id("history"), "Runs")[3][3:5] == ["1", "1"]  # findings, drifted orgs
