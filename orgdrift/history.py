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
import hashlib
import json
import math
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orgdrift.errors import InputError, Problem, UsageError
from orgdrift.inputs import REPORT_MAX_BYTES, read_input
from orgdrift.reporters.html import (
    Doc,
    counts,
    days_left_text,
    finding_view,
    is_accepted,
    is_error,
    is_known,
    is_verdict,
    location_text,
    outcome,
    parse_date,
    parse_time,
    render_html,
)

READABLE_VERSIONS = (1, 2)  # 2 added status, scope, problems; history spans an upgrade
EXPIRY_HORIZON_DAYS = 30
MAX_CELLS = 60  # runs shown per organization; older ones are summarised in the counts


@dataclass(frozen=True, slots=True)
class LoadedReport:
    path: str
    sha256: str  # of the file's bytes: the page lists it so each input can be verified
    document: Mapping[str, Any]
    checked_at: dt.datetime


# --- loading -----------------------------------------------------------------------------------


def _problem(path: str, field: str, message: str) -> Problem:
    return Problem(file=path, line=0, column=0, path=field, message=message)


def _shape_problems(path: str, document: Any) -> list[Problem]:
    """What this command relies on; other fields are read defensively by the renderer."""
    if not isinstance(document, dict):
        return [_problem(path, "$", "not an orgdrift JSON report (expected a JSON object)")]
    found: list[Problem] = []
    if document.get("tool") != "orgdrift":
        found.append(
            _problem(path, "$.tool", "not an orgdrift JSON report (tool is not 'orgdrift')")
        )
        return found
    version = document.get("report_version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        found.append(
            _problem(
                path,
                "$.report_version",
                f"report version {version!r}: this orgdrift reads versions 1 and 2",
            )
        )
    if parse_time(document.get("checked_at")) is None:
        found.append(_problem(path, "$.checked_at", "missing or not an RFC 3339 date-time"))
    if "tenant" not in document or not isinstance(document["tenant"], str | None):
        found.append(_problem(path, "$.tenant", "missing, or neither a string nor null"))
    files = document.get("spec_files")
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("path"), str) for f in files
    ):
        found.append(_problem(path, "$.spec_files", "missing, or not a list of {path, sha256}"))
    orgs = document.get("organizations", [])
    if not isinstance(orgs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("findings", []), list) for o in orgs
    ):
        found.append(
            _problem(path, "$.organizations", "not a list of organizations with findings lists")
        )
    return found


def load_reports(paths: Sequence[str]) -> list[LoadedReport]:
    """Read and check JSON reports, oldest first; every problem of every file in one error."""
    seen: dict[Path, str] = {}
    for path in paths:
        key = Path(path).resolve()
        if key in seen:
            raise UsageError(f"{path}: given twice (as {seen[key]} and {path})")
        seen[key] = path
    loaded: list[LoadedReport] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            data = read_input(path, REPORT_MAX_BYTES)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        try:
            document = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            problems.append(_problem(path, "", f"not UTF-8 ({exc.reason} at byte {exc.start})"))
            continue
        except json.JSONDecodeError as exc:
            problems.append(Problem(path, exc.lineno, exc.colno, "", f"not JSON: {exc.msg}"))
            continue
        shape = _shape_problems(path, document)
        if shape:
            problems.extend(shape)
            continue
        checked = parse_time(document["checked_at"])
        assert checked is not None  # checked by _shape_problems
        loaded.append(LoadedReport(path, hashlib.sha256(data).hexdigest(), document, checked))
    if problems:
        raise InputError(problems)
    return sorted(loaded, key=lambda report: report.checked_at)  # stable: ties keep argv order


def _spec_identity(document: Doc) -> tuple[str, ...]:
    paths = {posixpath.normpath(str(f["path"]).replace("\\", "/")) for f in document["spec_files"]}
    return tuple(sorted(paths))


def _groups(reports: Sequence[LoadedReport], key: Any) -> dict[Any, list[str]]:
    groups: dict[Any, list[str]] = {}
    for report in reports:
        groups.setdefault(key(report.document), []).append(report.path)
    return groups


def check_one_audit(reports: Sequence[LoadedReport]) -> None:
    """One history is one tenant checked against one spec: refuse anything else, naming files."""
    tenants = _groups(reports, lambda d: d["tenant"])
    if len(tenants) > 1:
        parts = [
            f"{', '.join(files)} (tenant {tenant if tenant is not None else 'not named'})"
            for tenant, files in tenants.items()
        ]
        raise UsageError(
            "reports from different tenants cannot make one history: " + "; ".join(parts)
        )
    specs = _groups(reports, _spec_identity)
    if len(specs) > 1:
        parts = [
            f"{', '.join(files)} (spec {' + '.join(spec) or 'none'})"
            for spec, files in specs.items()
        ]
        raise UsageError("reports of different specs cannot make one history: " + "; ".join(parts))


# --- the history view --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunView:
    number: int
    file: str
    sha256: str
    checked_at: str
    when: str  # 2026-11-02 06:17
    outcome: str
    outcome_label: str
    findings: int | None  # error findings not accepted; None: no verdict
    drifted: int | None  # organizations with such a finding
    accepted: int
    spec_changed: bool  # a spec file's sha256 differs from the run before


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    at: float
    label: str
    anchor: str = "middle"  # SVG text-anchor: the outermost labels stay inside the chart


@dataclass(frozen=True, slots=True)
class ChartView:
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    findings_lines: tuple[str, ...]
    drifted_lines: tuple[str, ...]
    findings_points: tuple[Point, ...]
    drifted_points: tuple[Point, ...]
    gaps: tuple[Point, ...]  # runs without a verdict
    description: str


@dataclass(frozen=True, slots=True)
class FindingHistory:
    organization: str
    kind: str
    path: str
    message: str
    location: str
    first_seen: str
    last_seen: str
    resolved: str
    state: str  # open | accepted | resolved | unchecked
    state_label: str
    runs_seen: int


@dataclass(frozen=True, slots=True)
class Cell:
    status: str  # css-safe: in_sync drifted missing unmanaged absent noverdict
    title: str


@dataclass(frozen=True, slots=True)
class OrgHistory:
    label: str
    current: str
    drifted_runs: int
    first: str
    last: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class ExpiringView:
    organization: str
    message: str
    location: str
    reason: str
    owner: str
    expires: str
    days_left: str
    expired: bool


@dataclass(frozen=True, slots=True)
class HistoryView:
    runs: tuple[RunView, ...]
    verdict_runs: int
    chart: ChartView
    findings: tuple[FindingHistory, ...]
    organizations: tuple[OrgHistory, ...]
    steady: int  # organizations in sync in every run that checked them
    cells_note: str
    expiring: tuple[ExpiringView, ...]
    expiry_reference: str


_OUTCOME_LABELS = {
    "in_sync": "in sync",
    "drift": "drift",
    "incomplete": "incomplete: no verdict",
    "invalid_spec": "invalid spec: no verdict",
    "unknown": "no verdict",
}


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def _org_key(org: Doc) -> str:
    name, ident = org.get("name"), org.get("id")
    return str(name) if isinstance(name, str) and name else str(ident)


def _finding_key(finding: Doc) -> tuple[str, ...]:
    fingerprint = finding.get("fingerprint")
    if isinstance(fingerprint, str) and fingerprint:
        return ("fingerprint", fingerprint)
    return (str(finding.get("organization")), str(finding.get("kind")), str(finding.get("path")))


def _orgs(document: Doc) -> list[Doc]:
    return [o for o in document.get("organizations") or [] if isinstance(o, Mapping)]


def _findings(org: Doc) -> list[Doc]:
    return [f for f in org.get("findings") or [] if isinstance(f, Mapping)]


def _runs(reports: Sequence[LoadedReport]) -> tuple[RunView, ...]:
    runs = []
    previous: dict[str, str] | None = None
    for number, report in enumerate(reports, start=1):
        kind = outcome(report.document)
        c = counts(report.document)
        hashes = {
            str(f.get("path")): str(f.get("sha256"))
            for f in report.document["spec_files"]
            if isinstance(f, Mapping)
        }
        runs.append(
            RunView(
                number=number,
                file=report.path,
                sha256=report.sha256,
                checked_at=str(report.document["checked_at"]),
                when=_when(report.checked_at),
                outcome=kind,
                outcome_label=_OUTCOME_LABELS[kind],
                findings=c.errors if is_verdict(kind) else None,
                drifted=c.failing if is_verdict(kind) else None,
                accepted=c.accepted,
                spec_changed=previous is not None and hashes != previous,
            )
        )
        previous = hashes
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
    width, height, left, right_margin, top, bottom_margin = 720, 220, 44, 16, 14, 40
    right, bottom = width - right_margin, height - bottom_margin
    peak = max([r.findings or 0 for r in runs] + [r.drifted or 0 for r in runs] + [1])
    y_max, step = _nice_ceiling(peak)

    def x_of(index: int) -> float:
        if len(runs) == 1:
            return (left + right) / 2
        return round(left + index * (right - left) / (len(runs) - 1), 1)

    def y_of(value: int) -> float:
        return round(bottom - value * (bottom - top) / y_max, 1)

    y_ticks = tuple(Tick(y_of(v), str(v)) for v in range(0, y_max + 1, step))
    every = max(1, math.ceil(len(runs) / 6))
    x_ticks = tuple(
        Tick(x_of(i), run.when[:10])
        for i, run in enumerate(runs)
        if i % every == 0 or i == len(runs) - 1
    )
    if len(x_ticks) >= 2 and x_ticks[-1].at - x_ticks[-2].at < 70:
        x_ticks = (*x_ticks[:-2], x_ticks[-1])
    if len(x_ticks) >= 2:
        first, last = x_ticks[0], x_ticks[-1]
        x_ticks = (
            Tick(first.at, first.label, "start"),
            *x_ticks[1:-1],
            Tick(last.at, last.label, "end"),
        )

    def series(attr: str, noun: str) -> tuple[tuple[str, ...], tuple[Point, ...]]:
        lines: list[str] = []
        points: list[Point] = []
        segment: list[str] = []
        for i, run in enumerate(runs):
            value = getattr(run, attr)
            if value is None:
                if segment:
                    lines.append(" ".join(segment))
                segment = []
                continue
            x, y = x_of(i), y_of(value)
            segment.append(f"{x},{y}")
            points.append(Point(x, y, f"run {run.number}, {run.when}: {plural_noun(value, noun)}"))
        if segment:
            lines.append(" ".join(segment))
        return tuple(line for line in lines if " " in line), tuple(points)

    findings_lines, findings_points = series("findings", "finding")
    drifted_lines, drifted_points = series("drifted", "drifted organization")
    gaps = tuple(
        Point(x_of(i), top, f"run {run.number}, {run.when}: {run.outcome_label}")
        for i, run in enumerate(runs)
        if run.findings is None
    )
    latest = runs[-1]
    description = (
        f"{len(runs)} runs from {runs[0].when} to {latest.when}; "
        f"at most {peak} findings or drifted organizations in one run"
    )
    return ChartView(
        width,
        height,
        left,
        right,
        top,
        bottom,
        y_ticks,
        x_ticks,
        findings_lines,
        drifted_lines,
        findings_points,
        drifted_points,
        gaps,
        description,
    )


def plural_noun(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _finding_histories(
    reports: Sequence[LoadedReport], runs: Sequence[RunView]
) -> tuple[FindingHistory, ...]:
    verdict_indexes = [i for i, run in enumerate(runs) if run.findings is not None]
    latest_verdict = verdict_indexes[-1] if verdict_indexes else None
    seen: dict[tuple[str, ...], list[int]] = {}
    latest_doc: dict[tuple[str, ...], tuple[Doc, str]] = {}
    checked: list[set[str]] = []
    present: list[set[tuple[str, ...]]] = []
    for index, report in enumerate(reports):
        orgs = _orgs(report.document)
        checked.append({_org_key(org) for org in orgs})
        here: set[tuple[str, ...]] = set()
        if runs[index].findings is not None:
            for org in orgs:
                for finding in _findings(org):
                    key = _finding_key(finding)
                    here.add(key)
                    seen.setdefault(key, []).append(index)
                    latest_doc[key] = (finding, _org_key(org))
        present.append(here)
    histories: list[tuple[int, FindingHistory]] = []
    for key, indexes in seen.items():
        finding, org_key = latest_doc[key]
        last = indexes[-1]
        resolved = ""
        if latest_verdict is not None and key in present[latest_verdict]:
            state = (
                "accepted"
                if is_accepted(finding)
                else "known"
                if is_known(finding)
                else "open"
                if is_error(finding)
                else "warning"
            )
            label = {
                "accepted": "accepted",
                "known": "known (baseline)",
                "open": "open",
                "warning": "open (warning)",
            }[state]
        else:
            later = [
                i
                for i in verdict_indexes
                if i > last and org_key in checked[i] and key not in present[i]
            ]
            if later:
                state, label = "resolved", "resolved"
                resolved = f"run {runs[later[0]].number}, {runs[later[0]].when}"
            else:
                state, label = "unchecked", "not checked since"
        view = finding_view(finding, None)
        histories.append(
            (
                indexes[0],
                FindingHistory(
                    organization=str(finding.get("organization") or org_key),
                    kind=view.kind,
                    path=view.path,
                    message=view.message,
                    location=view.location,
                    first_seen=f"run {runs[indexes[0]].number}, {runs[indexes[0]].when}",
                    last_seen=f"run {runs[last].number}, {runs[last].when}",
                    resolved=resolved,
                    state=state,
                    state_label=label,
                    runs_seen=len(indexes),
                ),
            )
        )
    order = {"open": 0, "warning": 1, "known": 2, "accepted": 3, "unchecked": 4, "resolved": 5}
    histories.sort(
        key=lambda item: (
            order[item[1].state],
            item[0],
            item[1].organization,
            item[1].kind,
            item[1].path,
        )
    )
    return tuple(history for _, history in histories)


_CELL_TITLES = {
    "in_sync": "in sync",
    "drifted": "drifted",
    "missing": "missing",
    "unmanaged": "unmanaged",
    "accepted": "drift accepted",
    "absent": "not checked",
    "noverdict": "no verdict",
}


def _org_histories(
    reports: Sequence[LoadedReport], runs: Sequence[RunView]
) -> tuple[tuple[OrgHistory, ...], int]:
    statuses: dict[str, list[str]] = {}
    failing: dict[str, list[int]] = {}
    for index, report in enumerate(reports):
        verdict = runs[index].findings is not None
        if not verdict:
            continue
        for org in _orgs(report.document):
            key = _org_key(org)
            column = statuses.setdefault(key, ["absent"] * len(reports))
            status = str(org.get("status"))
            findings = _findings(org)
            errors = any(is_error(f) for f in findings)
            if errors:
                failing.setdefault(key, []).append(index)
            if findings and not errors and any(is_accepted(f) for f in findings):
                status = "accepted"
            column[index] = status if status in _CELL_TITLES else "drifted"
    for column in statuses.values():
        for index, run in enumerate(runs):
            if run.findings is None:
                column[index] = (
                    "noverdict"  # whatever was read, a run without a verdict says nothing
                )
    rows = []
    steady = 0
    for key, column in statuses.items():
        drifted = failing.get(key, [])
        if not drifted and all(s in ("in_sync", "absent", "noverdict") for s in column):
            steady += 1
            continue
        cells = tuple(
            Cell(status, f"run {runs[i].number}, {runs[i].when}: {_CELL_TITLES[status]}")
            for i, status in enumerate(column)
        )[-MAX_CELLS:]
        rows.append(
            OrgHistory(
                label=key,
                current=_CELL_TITLES[column[-1]],
                drifted_runs=len(drifted),
                first=f"run {runs[drifted[0]].number}, {runs[drifted[0]].when}" if drifted else "",
                last=f"run {runs[drifted[-1]].number}, {runs[drifted[-1]].when}" if drifted else "",
                cells=cells,
            )
        )
    rows.sort(key=lambda row: (-row.drifted_runs, row.label))
    return tuple(rows), steady


def _expiring(
    reports: Sequence[LoadedReport], runs: Sequence[RunView]
) -> tuple[tuple[ExpiringView, ...], str]:
    verdicts = [i for i, run in enumerate(runs) if run.findings is not None]
    if not verdicts:
        return (), ""
    latest = reports[verdicts[-1]]
    reference = latest.checked_at.date()
    found = []
    for org in _orgs(latest.document):
        for finding in _findings(org):
            accepted = finding.get("accepted")
            if not isinstance(accepted, Mapping):
                continue
            expires = parse_date(accepted.get("expires"))
            if expires is None:
                continue
            days = (expires - reference).days
            if days > EXPIRY_HORIZON_DAYS:
                continue
            view = finding_view(finding, reference)
            found.append(
                (
                    days,
                    ExpiringView(
                        organization=str(finding.get("organization") or _org_key(org)),
                        message=view.message,
                        location=location_text(accepted.get("source")) or view.location,
                        reason=view.accepted.reason if view.accepted else "",
                        owner=view.accepted.owner if view.accepted else "",
                        expires=str(accepted.get("expires")),
                        days_left=days_left_text(days),
                        expired=days < 0,
                    ),
                )
            )
    found.sort(key=lambda item: (item[0], item[1].organization, item[1].message))
    return tuple(
        view for _, view in found
    ), f"run {runs[verdicts[-1]].number}, {runs[verdicts[-1]].when}"


def history_view(reports: Sequence[LoadedReport]) -> HistoryView:
    runs = _runs(reports)
    orgs, steady = _org_histories(reports, runs)
    expiring, reference = _expiring(reports, runs)
    shown = min(len(runs), MAX_CELLS)
    note = f"the last {shown} of {len(runs)} runs" if len(runs) > MAX_CELLS else ""
    return HistoryView(
        runs=runs,
        verdict_runs=sum(1 for run in runs if run.findings is not None),
        chart=_chart(runs),
        findings=_finding_histories(reports, runs),
        organizations=orgs,
        steady=steady,
        cells_note=note,
        expiring=expiring,
        expiry_reference=reference,
    )


def render_history(paths: Sequence[str]) -> str:
    """The page of the latest report with the history of all of them (oldest to newest)."""
    if not paths:
        raise UsageError("give at least one JSON report")
    reports = load_reports(paths)
    check_one_audit(reports)
    return render_html(reports[-1].document, history_view(reports))
