"""The JSON report, written and read back: one `Report` both ways, through the shipped schemas
(schemas/report.schema.json; report-v1, report-v2 and report-v3.schema.json for the earlier
formats, still read)."""

from __future__ import annotations

import datetime as dt
import hashlib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from enum import Enum, EnumType
from types import UnionType
from typing import Any, ClassVar, TypeVar

from orgdrift import jsonfile
from orgdrift.accept import with_fingerprints
from orgdrift.errors import ExitCode, InputError, Problem
from orgdrift.evidence import exceptions_applied
from orgdrift.models import (
    REPORT_VERSION,
    Basis,
    Evidence,
    Failure,
    Finding,
    OrgResult,
    Report,
    Scope,
    SpecFile,
    Stats,
    Status,
)
from orgdrift.reporters._common import (
    TOOL_NAME,
    Counts,
    RenderOptions,
    basis_dict,
    json_document,
    json_value,
    ordered_findings,
    ordered_organizations,
)
from orgdrift.resources import REPORT_SCHEMA, REPORT_V1_SCHEMA, REPORT_V2_SCHEMA, REPORT_V3_SCHEMA

T = TypeVar("T")

SCHEMAS: Mapping[int, str] = {
    1: REPORT_V1_SCHEMA,
    2: REPORT_V2_SCHEMA,
    3: REPORT_V3_SCHEMA,
    REPORT_VERSION: REPORT_SCHEMA,
}
"""The report versions this orgdrift reads, and the schema of each."""
REPORT_NESTING = 72
"""Nesting allowed in a report file: a finding's values sit five levels down, and a spec value
nests at most 64 levels (yamlload.REPORT_NESTING)."""


# The JSON keys of a dataclass are its fields, in this order where it differs from theirs.
_ORDER: Mapping[type, tuple[str, ...]] = {
    Finding: (
        "kind",
        "severity",
        "organization",
        "path",
        "expected",
        "actual",
        "message",
        "source",
        "fingerprint",
        "accepted",
        "known",
        "expired_exception",
    ),
    OrgResult: ("name", "id", "status", "source", "findings"),
    Stats: ("requests", "retries", "rate_limited", "seconds"),
}


def _dump(value: Any) -> Any:
    """A report value as JSON: a dataclass as an object (keys `_ORDER`), an enum by its value, a
    tuple as a list; anything else, dates and finding values included, through `json_value`."""
    if is_dataclass(value):
        names = _ORDER.get(type(value)) or [f.name for f in fields(value)]
        return {name: _dump(getattr(value, name)) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_dump(item) for item in value]
    return json_value(value)


def _problem_dict(problem: Problem) -> dict[str, Any]:
    unknown = {key: None for key in ("file", "line", "column") if not getattr(problem, key)}
    return {**_dump(problem), **unknown}  # an unknown file, line, column (empty, 0) is null


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON report document, keys in their documented order."""
    failure = report.failure
    return {
        "tool": TOOL_NAME,
        "tool_version": report.tool_version,
        "report_version": REPORT_VERSION,
        "status": report.status.value,
        "exit_code": int(report.exit_code),
        "tenant": report.tenant,
        "checked_at": report.checked_at,
        "spec_files": _dump(report.spec_files),
        "scope": _dump(report.scope),
        "in_sync": report.in_sync if report.verdict else None,
        # no counts that could be read as a verdict when there is none
        "summary": Counts.of(report).summary() if report.verdict else None,
        "organizations": [
            _dump(replace(org, findings=tuple(ordered_findings(report, org))))
            for org in ordered_organizations(report)
        ],
        "problems": [_problem_dict(p) for p in failure.problems] if failure else [],
        "warnings": [_problem_dict(p) for p in report.warnings],
        "incomplete": (
            {"message": failure.message}
            if failure is not None and report.status is Status.INCOMPLETE
            else None
        ),
        "stats": {**_dump(report.stats), "seconds": round(report.stats.seconds, 3)},
        "source": report.live_from,
        **({"basis": basis_dict(report.basis)} if report.basis is not None else {}),
        "evidence": _evidence_dict(report),
    }


def _evidence_dict(report: Report) -> dict[str, Any]:
    evidence, stats = report.evidence, report.stats
    return {
        "started_at": evidence.started_at,
        "finished_at": evidence.finished_at,
        "live_state_sha256": evidence.live_sha256,
        "snapshots": _dump(evidence.snapshots),
        "scopes_required": _dump(stats.scopes_required),
        "scopes_granted": _dump(stats.scopes_granted),
        "exceptions_applied": _dump(exceptions_applied(report)),
        "ci_run_url": evidence.ci_run_url,
    }


# --- reading a report back -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A JSON report read back from a file: `orgdrift report`'s runs, `check --baseline`."""

    path: str
    sha256: str  # of the file's bytes, so that each input can be verified
    report: Report
    checked_at: dt.datetime


def read_report(path: str) -> ReportFile:
    """Read a JSON report of any version this orgdrift reads; InputError naming the file and
    the JSON path of every problem (exit 2)."""
    raw = jsonfile.read_bytes(path)
    document = jsonfile.parse(path, raw, REPORT_NESTING)
    if not isinstance(document, dict) or document.get("tool") != TOOL_NAME:
        where = "$.tool" if isinstance(document, dict) else "$"
        raise InputError([jsonfile.problem(path, where, "not an orgdrift JSON report")])
    version = document.get("report_version")
    schema = SCHEMAS.get(version) if type(version) is int else None
    if schema is None:
        *others, last = (str(v) for v in SCHEMAS)
        readable = f"{', '.join(others)} and {last}"
        message = f"report version {version!r}: this orgdrift reads versions {readable}"
        raise InputError([jsonfile.problem(path, "$.report_version", message)])
    problems = jsonfile.schema_problems(path, document, schema)
    checked_at = _time(document.get("checked_at"))
    if checked_at is None and not any(p.path == "$.checked_at" for p in problems):
        problems.append(jsonfile.problem(path, "$.checked_at", "not an RFC 3339 date-time"))
    if problems or checked_at is None:
        raise InputError(problems)
    sha256 = hashlib.sha256(raw).hexdigest()
    return ReportFile(path, sha256, report_from_dict(document), checked_at)


def _time(value: Any) -> dt.datetime | None:
    """An RFC 3339 time (UTC when no offset is given); None when it is not one."""
    try:
        moment = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def report_from_dict(document: Mapping[str, Any]) -> Report:
    """The `Report` a JSON report document (valid against its version's schema) was written
    from. Version 1 reports had verdicts only, no scope and no fingerprints: their findings get
    the fingerprints a current run would give them, so a history spanning an upgrade follows
    each finding across it."""
    version = int(document["report_version"])
    tenant = document["tenant"]
    organizations = tuple(_load(OrgResult, org) for org in document["organizations"])
    if version == 1:
        organizations = with_fingerprints(organizations, tenant)
    evidence = document.get("evidence")  # version 3 on; it holds the scopes of the stats
    scope = document.get("scope")  # version 1: not recorded (Report.version says so)
    return Report(
        tool_version=document["tool_version"],
        tenant=tenant,
        checked_at=document["checked_at"],
        spec_files=tuple(_load(SpecFile, f) for f in document["spec_files"]),
        organizations=organizations,
        stats=_load(Stats, {**document["stats"], **(evidence or {})}),
        live_from=document["source"],
        scope=Scope() if scope is None else _load(Scope, scope),
        failure=_failure(document),
        warnings=tuple(_problem(p) for p in document.get("warnings", ())),
        basis=_basis(document.get("basis")),
        evidence=_evidence(evidence),
        version=version,
    )


_HINTS: dict[type, dict[str, Any]] = {}  # a dataclass's fields and their types, once per class


def _load(cls: type[T], item: Mapping[str, Any]) -> T:
    """The dataclass `_dump` wrote as `item`; a key an earlier version did not write leaves
    the field's default."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return cls(
        **{name: _value(hint, item[name]) for name, hint in _HINTS[cls].items() if name in item}
    )


def _value(hint: Any, value: Any) -> Any:
    """A JSON value as the type `hint` of its field: a dataclass, a tuple, an enum, a date."""
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, UnionType):  # X | None
        return _value(args[0], value)
    if origin is tuple:
        return tuple(_value(args[0], item) for item in value)
    if isinstance(hint, type) and is_dataclass(hint):
        return _load(hint, value)
    if hint is dt.date:
        return dt.date.fromisoformat(value)
    return hint(value) if isinstance(hint, EnumType) else value


def _evidence(value: Mapping[str, Any] | None) -> Evidence:
    """The evidence of a version 3 or later report (the exceptions applied follow from its
    findings); none for earlier versions. Version 3 recorded one snapshot file (or null),
    version 4 a list."""
    if value is None:
        return Evidence()
    snapshots = [s for s in value.get("snapshots", [value.get("snapshot")]) if s is not None]
    return _load(
        Evidence, {**value, "live_sha256": value["live_state_sha256"], "snapshots": snapshots}
    )


def _problem(item: Mapping[str, Any]) -> Problem:
    return Problem(
        item["file"] or "", item["line"] or 0, item["column"] or 0, item["path"], item["message"]
    )


def _failure(document: Mapping[str, Any]) -> Failure | None:
    status = document.get("status")
    if status == Status.INCOMPLETE:
        return Failure(ExitCode.INCOMPLETE, document["incomplete"]["message"])
    if status != Status.INVALID:
        return None
    problems = tuple(_problem(p) for p in document["problems"])
    message = problems[0].message if len(problems) == 1 else f"{len(problems)} problems found"
    return Failure(ExitCode.USAGE, message, problems)


def _basis(value: Mapping[str, Any] | None) -> Basis | None:
    if value is None:
        return None
    logs = value["log_range"]
    return _load(
        Basis, {**value, "log_from": logs["from"], "log_to": logs["to"], "entries": logs["entries"]}
    )


class JsonReporter:
    name: ClassVar[str] = "json"
    description: ClassVar[str] = "the JSON report (schemas/report.schema.json)"
    suffix: ClassVar[str] = ".json"

    def render(self, report: Report, options: RenderOptions) -> str:
        return json_document(report_to_dict(report))
