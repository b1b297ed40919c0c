"""`orgdrift report REPORT.json... -o PATH`: the audit page of the latest run, with its history.

Earlier JSON reports of one tenant and one spec (the same spec file paths; their content may
change between runs) become: the findings and drifted organizations of every run as a small
inline SVG chart, when each finding first appeared and when it was resolved, each organization's
status run by run, and the exceptions that expire within 30 days of the latest run.

A run without a verdict (incomplete read, invalid spec) is shown as such and never resolves a
finding; neither does a run that did not check the finding's organization (a selection).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from orgdrift.errors import InputError, Problem, UsageError
from orgdrift.models import Finding, OrgResult, Report, Status
from orgdrift.reporters._common import Counts, level, org_fails, plural, words
from orgdrift.reporters.html import render_html
from orgdrift.reporters.json_report import ReportFile, read_report

EXPIRY_HORIZON_DAYS = 30
MAX_CELLS = 60  # runs shown per organization; older ones are summarised in the counts


# --- reading -----------------------------------------------------------------------------------


def read_reports(paths: Sequence[str]) -> list[ReportFile]:
    """Read JSON reports, oldest first; every problem of every file in one error."""
    seen: dict[Path, str] = {}
    for path in paths:
        key = Path(path).resolve()
        if key in seen:
            raise UsageError(f"{path}: given twice (as {seen[key]} and {path})")
        seen[key] = path
    loaded: list[ReportFile] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            loaded.append(read_report(path))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return sorted(loaded, key=lambda run: run.checked_at)  # stable: ties keep argv order


def _spec_identity(report: Report) -> tuple[str, ...]:
    paths = {posixpath.normpath(f.path.replace("\\", "/")) for f in report.spec_files}
    return tuple(sorted(paths))


def check_one_audit(runs: Sequence[ReportFile]) -> None:
    """One history is one tenant checked against one spec: refuse anything else, naming files."""
    criteria: list[tuple[str, Callable[[Report], Any], Callable[[Any], str]]] = [
        (
            "from different tenants",
            lambda report: report.tenant,
            lambda tenant: f"tenant {tenant if tenant is not None else 'not named'}",
        ),
        ("of different specs", _spec_identity, lambda spec: f"spec {' + '.join(spec) or 'none'}"),
    ]
    for mixed, key, shown in criteria:
        groups: dict[Any, list[str]] = {}
        for run in runs:
            groups.setdefault(key(run.report), []).append(run.path)
        if len(groups) > 1:
            parts = [f"{', '.join(files)} ({shown(value)})" for value, files in groups.items()]
            raise UsageError(f"reports {mixed} cannot make one history: " + "; ".join(parts))


# --- the history view --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunView:
    number: int
    file: ReportFile
    when: str  # 2026-11-02 06:17
    outcome_label: str
    findings: int | None  # error findings not accepted; None: no verdict
    drifted: int | None  # organizations with such a finding
    accepted: int
    spec_changed: bool  # a spec file's sha256 differs from the run before


_Point = tuple[float, float, str]  # x, y, title


@dataclass(frozen=True, slots=True)
class ChartView:
    width: ClassVar[int] = 720
    height: ClassVar[int] = 220
    left: ClassVar[int] = 44  # the plot area, inside the axis labels
    right: ClassVar[int] = 704
    top: ClassVar[int] = 14
    bottom: ClassVar[int] = 180
    y_ticks: tuple[tuple[float, str], ...]  # at, label
    x_ticks: tuple[tuple[float, str], ...]
    findings_lines: tuple[str, ...]
    findings_points: tuple[_Point, ...]
    drifted_lines: tuple[str, ...]
    drifted_points: tuple[_Point, ...]
    gaps: tuple[tuple[float, str], ...]  # x, title: runs without a verdict
    description: str


@dataclass(frozen=True, slots=True)
class FindingHistory:
    finding: Finding  # as the latest run that had it
    organization: str
    first_seen: str
    last_seen: str
    resolved: str
    state: str  # open | accepted | resolved | unchecked
    state_label: str
    runs_seen: int


@dataclass(frozen=True, slots=True)
class OrgHistory:
    label: str
    current: str
    drifted_runs: int
    first: str
    last: str
    cells: tuple[tuple[str, str], ...]  # css-safe status, title


@dataclass(frozen=True, slots=True)
class HistoryView:
    runs: tuple[RunView, ...]
    verdict_runs: int
    chart: ChartView
    findings: tuple[FindingHistory, ...]
    organizations: tuple[OrgHistory, ...]
    steady: int  # organizations in sync in every run that checked them
    cells_note: str
    expiring: tuple[tuple[int, str, Finding], ...]  # days left, organization, finding
    expiry_reference: str


_OUTCOME_LABELS = {  # in sync and drift say themselves
    Status.INCOMPLETE: "incomplete: no verdict",
    Status.INVALID: "invalid spec: no verdict",
    Status.VALID: "valid spec: no verdict",
}


def _at(runs: Sequence[RunView], index: int) -> str:
    return f"run {runs[index].number}, {runs[index].when}"


def _runs(files: Sequence[ReportFile]) -> tuple[RunView, ...]:
    hashes = [{f.path: f.sha256 for f in file.report.spec_files} for file in files]
    runs = []
    for index, file in enumerate(files):
        report, counts = file.report, Counts.of(file.report)
        runs.append(
            RunView(
                number=index + 1,
                file=file,
                when=file.checked_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
                outcome_label=_OUTCOME_LABELS.get(report.status) or words(report.status),
                findings=counts.errors if report.verdict else None,
                drifted=counts.failing if report.verdict else None,
                accepted=counts.accepted,
                spec_changed=index > 0 and hashes[index] != hashes[index - 1],
            )
        )
    return tuple(runs)


def _nice_ceiling(value: int) -> tuple[int, int]:
    """An axis top at or above `value` and its tick step (1, 2 or 5 times a power of ten)."""
    if value <= 4:
        return max(value, 1), 1
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return int(math.ceil(value / step) * step), int(step)


def _chart(runs: Sequence[RunView]) -> ChartView:
    left, right, top, bottom = ChartView.left, ChartView.right, ChartView.top, ChartView.bottom
    peak = max([r.findings or 0 for r in runs] + [r.drifted or 0 for r in runs] + [1])
    y_max, step = _nice_ceiling(peak)

    def x_of(index: int) -> float:
        if len(runs) == 1:
            return (left + right) / 2
        return round(left + index * (right - left) / (len(runs) - 1), 1)

    def y_of(value: int) -> float:
        return round(bottom - value * (bottom - top) / y_max, 1)

    y_ticks = tuple((y_of(v), str(v)) for v in range(0, y_max + 1, step))
    every = max(1, math.ceil(len(runs) / 6))
    x_ticks = tuple(
        (x_of(i), run.when[:10])
        for i, run in enumerate(runs)
        if i % every == 0 or i == len(runs) - 1
    )
    if len(x_ticks) >= 2 and x_ticks[-1][0] - x_ticks[-2][0] < 70:
        x_ticks = (*x_ticks[:-2], x_ticks[-1])

    def series(attr: str, noun: str) -> tuple[tuple[str, ...], tuple[_Point, ...]]:
        """A line through each stretch of runs with a verdict, and a point per run."""
        values = [getattr(run, attr) for run in runs]
        stretches = itertools.groupby(enumerate(values), lambda item: item[1] is None)
        lines = [
            " ".join(f"{x_of(i)},{y_of(v)}" for i, v in stretch)
            for gap, stretch in stretches
            if not gap
        ]
        points = tuple(
            (x_of(i), y_of(v), f"{_at(runs, i)}: {plural(v, noun)}")
            for i, v in enumerate(values)
            if v is not None
        )
        return tuple(line for line in lines if " " in line), points

    gaps = tuple(
        (x_of(i), f"{_at(runs, i)}: {run.outcome_label}")
        for i, run in enumerate(runs)
        if run.findings is None
    )
    return ChartView(
        y_ticks,
        x_ticks,
        *series("findings", "finding"),
        *series("drifted", "drifted organization"),
        gaps,
        f"{len(runs)} runs from {runs[0].when} to {runs[-1].when}; "
        f"at most {peak} findings or drifted organizations in one run",
    )


_STATE_LABELS = {  # in the order the table lists them
    "open": "open",
    "warning": "open (warning)",
    "known": "known (baseline)",
    "accepted": "accepted",
    "unchecked": "not checked since",
    "resolved": "resolved",
}
_STATE_ORDER = {state: rank for rank, state in enumerate(_STATE_LABELS)}


@dataclass(slots=True)
class _Sighting:
    """One finding across the runs with a verdict: where it was seen, its latest form."""

    runs: list[int]
    finding: Finding
    organization: str


def _finding_histories(
    files: Sequence[ReportFile], runs: Sequence[RunView], verdicts: Sequence[int]
) -> tuple[FindingHistory, ...]:
    """Each finding seen in a run with a verdict: open, accepted, known, or resolved by a later
    run that checked its organization without it (a run without a verdict resolves nothing)."""
    seen: dict[str, _Sighting] = {}
    for index in verdicts:
        for org in files[index].report.organizations:
            for finding in org.findings:
                key = (
                    finding.fingerprint or f"{finding.organization}\0{finding.kind}\0{finding.path}"
                )
                sighting = seen.setdefault(key, _Sighting([], finding, org.label))
                sighting.runs.append(index)
                sighting.finding, sighting.organization = finding, org.label
    checked = [{org.label for org in file.report.organizations} for file in files]
    histories = [(s.runs[0], _finding_history(s, runs, verdicts, checked)) for s in seen.values()]
    histories.sort(
        key=lambda item: (
            _STATE_ORDER[item[1].state],
            item[0],
            item[1].organization,
            words(item[1].finding.kind),
            item[1].finding.path,
        )
    )
    return tuple(history for _, history in histories)


def _finding_history(
    sighting: _Sighting, runs: Sequence[RunView], verdicts: Sequence[int], checked: list[set[str]]
) -> FindingHistory:
    first, last = sighting.runs[0], sighting.runs[-1]
    # the runs with a verdict after its last that checked its organization: it was gone
    later = [i for i in verdicts if i > last and sighting.organization in checked[i]]
    shown = level(sighting.finding)
    if last == verdicts[-1]:  # still there in the latest run with a verdict: an error is open
        state = "open" if shown == "error" else shown
    else:
        state = "resolved" if later else "unchecked"
    return FindingHistory(
        finding=sighting.finding,
        organization=sighting.finding.organization or sighting.organization,
        first_seen=_at(runs, first),
        last_seen=_at(runs, last),
        resolved=_at(runs, later[0]) if later else "",
        state=state,
        state_label=_STATE_LABELS[state],
        runs_seen=len(sighting.runs),
    )


_CELL_TITLES = {"accepted": "drift accepted", "absent": "not checked", "noverdict": "no verdict"}


def _cell_title(cell: str) -> str:
    """A cell as people read it: its own title, else its organization status in words."""
    return _CELL_TITLES.get(cell) or words(cell)


def _cell(org: OrgResult) -> str:
    """An organization in one run: its status, or `accepted` when only accepted drift kept it
    from being in sync."""
    if org.findings and not org_fails(org) and any(f.accepted for f in org.findings):
        return "accepted"
    return org.status.value


def _org_histories(
    files: Sequence[ReportFile], runs: Sequence[RunView], verdicts: Sequence[int]
) -> tuple[tuple[OrgHistory, ...], int]:
    """The organizations that were not in sync in every run that checked them, each with its
    cell per run and the runs in which it had failing findings; and how many others there are."""
    columns: dict[str, list[str]] = {}
    failing: dict[str, list[int]] = {}
    empty = ["absent" if run.findings is not None else "noverdict" for run in runs]
    for index in verdicts:
        for org in files[index].report.organizations:
            columns.setdefault(org.label, list(empty))[index] = _cell(org)
            if org_fails(org):
                failing.setdefault(org.label, []).append(index)
    rows = []
    for label, column in columns.items():
        drifted = failing.get(label, [])
        if not drifted and all(s in ("in_sync", "absent", "noverdict") for s in column):
            continue
        cells = tuple(
            (status, f"{_at(runs, i)}: {_cell_title(status)}") for i, status in enumerate(column)
        )[-MAX_CELLS:]
        rows.append(
            OrgHistory(
                label=label,
                current=_cell_title(column[-1]),
                drifted_runs=len(drifted),
                first=_at(runs, drifted[0]) if drifted else "",
                last=_at(runs, drifted[-1]) if drifted else "",
                cells=cells,
            )
        )
    rows.sort(key=lambda row: (-row.drifted_runs, row.label))
    return tuple(rows), len(columns) - len(rows)


def _expiring(
    files: Sequence[ReportFile], runs: Sequence[RunView], verdicts: Sequence[int]
) -> tuple[tuple[tuple[int, str, Finding], ...], str]:
    """The exceptions of the latest run with a verdict that expire within the horizon."""
    if not verdicts:
        return (), ""
    latest = files[verdicts[-1]]
    reference = latest.checked_at.date()
    found = [
        ((f.accepted.expires - reference).days, f.organization or org.label, f)
        for org in latest.report.organizations
        for f in org.findings
        if f.accepted is not None
    ]
    soon = sorted(
        (item for item in found if item[0] <= EXPIRY_HORIZON_DAYS),
        key=lambda item: (item[0], item[1], item[2].message),
    )
    return tuple(soon), _at(runs, verdicts[-1])


def render_history(paths: Sequence[str]) -> str:
    """The page of the latest report with the history of all of them (oldest to newest)."""
    if not paths:
        raise UsageError("give at least one JSON report")
    files = read_reports(paths)
    check_one_audit(files)
    runs = _runs(files)
    verdicts = [i for i, run in enumerate(runs) if run.findings is not None]
    orgs, steady = _org_histories(files, runs, verdicts)
    expiring, reference = _expiring(files, runs, verdicts)
    note = f"the last {MAX_CELLS} of {len(runs)} runs" if len(runs) > MAX_CELLS else ""
    history = HistoryView(
        runs=runs,
        verdict_runs=len(verdicts),
        chart=_chart(runs),
        findings=_finding_histories(files, runs, verdicts),
        organizations=orgs,
        steady=steady,
        cells_note=note,
        expiring=expiring,
        expiry_reference=reference,
    )
    return render_html(files[-1].report, history)
