"""The HTML audit report: one self-contained page a person reads.

The page is rendered from the JSON report document (`report_to_dict`, schemas/report.schema.json),
the one input shape for both `check --report html=PATH` and `orgdrift report REPORT.json...`.
Parts that only newer reports carry (an outcome `status`, `problems`, `scope`, accepted findings,
fingerprints, snapshot hash, token scopes) are shown when present and said to be unrecorded when
absent. Every string from the tenant, the spec or a report file is untrusted: Jinja2 escapes it,
and control, format (bidi, zero-width) and surrogate characters are shown as visible escapes.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from orgdrift.models import Report
from orgdrift.reporters._common import Counts, RenderOptions, findings_phrase, json_value, plural
from orgdrift.reporters.json_report import report_to_dict

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

    from orgdrift.history import HistoryView

TEMPLATE = "report.html.j2"

# --- untrusted text ----------------------------------------------------------------------------

_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_code(char: str) -> str:
    """`\\n`, `\\x1b`, `\\u202e`, `\\U000e0001`: how an invisible character is shown."""
    if char in _NAMED:
        return _NAMED[char]
    point = ord(char)
    if point <= 0xFF:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def is_invisible(char: str) -> bool:
    """Control, format (bidi overrides, zero-width), surrogate and line/paragraph separators."""
    return unicodedata.category(char) in _INVISIBLE


def display_text(text: str) -> Markup:
    """`text` HTML-escaped, with invisible characters shown as `<span class=esc>\\u200b</span>`.

    An organization named `acme` and one named `ac\\u200bme` must not look alike in an audit,
    and a right-to-left override in a display name must not reorder the rest of the page.
    """
    from markupsafe import Markup, escape

    parts: list[Markup] = []
    last = 0
    for match in _NOT_PRINTABLE_ASCII.finditer(text):
        char = match.group()
        if not is_invisible(char):
            continue
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup("<span class=esc>{}</span>").format(escape_code(char)))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def _finalize(value: Any) -> Any:
    """Jinja2 `finalize`: every `{{ value }}` of the template goes through `display_text`."""
    from markupsafe import Markup

    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return display_text(value)
    return value


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("orgdrift.reporters", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


# --- reading a JSON report document defensively ------------------------------------------------

Doc = Mapping[str, Any]


def _obj(value: Any) -> Doc:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _objs(value: Any) -> list[Doc]:
    return [item for item in _list(value) if isinstance(item, Mapping)]


def _text(value: Any) -> str:
    """A scalar as text; anything else as compact JSON; absent as ``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return compact(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def compact(value: Any) -> str:
    """A value as one line of JSON, for people."""
    return json.dumps(json_value(value), ensure_ascii=False, separators=(", ", ": "))


def location_text(value: Any) -> str:
    """`orgs.yaml:14` from a location object (or a string); `` when there is none."""
    if isinstance(value, str):
        return value
    loc = _obj(value)
    file = _text(loc.get("file"))
    if not file:
        return ""
    line = _int(loc.get("line"))
    return f"{file}:{line}" if line else file


def parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 time (UTC when no offset is given); None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def parse_date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def days_left_text(days: int) -> str:
    if days > 1:
        return f"{days} days left"
    if days == 1:
        return "1 day left"
    if days == 0:
        return "expires today"
    return f"expired {-days} day{'s' if days != -1 else ''} before"


# --- the outcome -------------------------------------------------------------------------------

_STATUS_ALIASES = {
    "in_sync": "in_sync",
    "drift": "drift",
    "drifted": "drift",
    "incomplete": "incomplete",
    "invalid_spec": "invalid_spec",
    "invalid": "invalid_spec",
    "spec_invalid": "invalid_spec",
    "valid": "valid",
}


def outcome(document: Doc) -> str:
    """`in_sync`, `drift`, `valid`, `incomplete`, `invalid_spec` or `unknown` (fails closed: no
    verdict about a tenant unless the report says in sync or drift)."""
    status = document.get("status")
    if isinstance(status, str):
        return _STATUS_ALIASES.get(status, "unknown")
    in_sync = document.get("in_sync")
    if isinstance(in_sync, bool):
        return "in_sync" if in_sync else "drift"
    return "unknown"


def is_verdict(kind: str) -> bool:
    return kind in ("in_sync", "drift")


def is_accepted(finding: Doc) -> bool:
    return isinstance(finding.get("accepted"), Mapping)


def is_known(finding: Doc) -> bool:
    return finding.get("known") is True


def is_error(finding: Doc) -> bool:
    """A finding that fails the check: severity error, not accepted, not known from a baseline."""
    return (
        finding.get("severity", "error") == "error"
        and not is_accepted(finding)
        and not is_known(finding)
    )


def counts(document: Doc) -> Counts:
    """The reporters' counts (`_common.Counts`), taken from a JSON report document."""
    orgs = _objs(document.get("organizations"))
    statuses = [org.get("status") for org in orgs]
    findings = [f for org in orgs for f in _objs(org.get("findings"))]
    return Counts(
        organizations=len(orgs),
        declared=sum(1 for s in statuses if s != "unmanaged"),
        in_sync=statuses.count("in_sync"),
        drifted=statuses.count("drifted"),
        missing=statuses.count("missing"),
        unmanaged=statuses.count("unmanaged"),
        findings=len(findings),
        errors=sum(1 for f in findings if is_error(f)),
        warnings=sum(1 for f in findings if f.get("severity") == "warning"),
        accepted=sum(1 for f in findings if is_accepted(f)),
        known=sum(1 for f in findings if is_known(f) and not is_accepted(f)),
        failing=sum(1 for org in orgs if any(is_error(f) for f in _objs(org.get("findings")))),
        reported=sum(1 for org in orgs if _objs(org.get("findings"))),
    )


def summary_sentence(document: Doc, kind: str) -> str:
    """The text report's sentence for a verdict, counted the same way."""
    c = counts(document)
    orgs = plural(c.organizations, "organization")
    if kind == "in_sync":
        return f"{orgs} checked" + (f", {findings_phrase(c)}" if c.findings else "")
    if kind == "drift":
        details = [f"{c.missing} missing"] if c.missing else []
        details += [f"{c.unmanaged} unmanaged"] if c.unmanaged else []
        detail = f" ({', '.join(details)})" if details else ""
        return f"{findings_phrase(c)} in {c.reported} of {orgs}{detail}"
    if kind == "incomplete":
        return (
            "The tenant could not be read completely. This is not a verdict: nothing below "
            "says whether the tenant matches the spec."
        )
    if kind == "invalid_spec":
        return (
            "The input is invalid (the spec, a snapshot or the command line), so nothing was "
            "compared. This is not a verdict."
        )
    if kind == "valid":
        return "The spec is valid. It was not compared with a tenant, so this is not a verdict."
    return "This report does not record a usable outcome. It is not a verdict."


_TITLES = {
    "in_sync": "In sync",
    "drift": "Drift found",
    "incomplete": "No verdict: the tenant could not be read completely",
    "invalid_spec": "No verdict: the input is invalid",
    "valid": "Valid spec: no tenant was compared",
    "unknown": "No verdict: the outcome is not recorded",
}


# --- the view the template lays out ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """A labelled value; `code` values are set in monospace."""

    label: str
    value: str
    code: bool = False


@dataclass(frozen=True, slots=True)
class AcceptedView:
    reason: str
    owner: str
    expires: str
    days_left: str
    source: str
    urgent: bool  # expires within 14 days (or has expired)


@dataclass(frozen=True, slots=True)
class FindingView:
    location: str
    kind: str
    severity: str  # error | warning
    badge: str  # error | warning | accepted | known
    message: str
    path: str
    expected: str
    actual: str
    accepted: AcceptedView | None
    fingerprint: str
    extras: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class OrgView:
    anchor: str
    label: str
    name: str
    id: str
    status: str  # css-safe: in_sync, drifted, missing, unmanaged, other
    status_label: str
    location: str
    findings: tuple[FindingView, ...]


@dataclass(frozen=True, slots=True)
class ExceptionRow:
    anchor: str
    organization: str
    finding: FindingView
    accepted: AcceptedView


@dataclass(frozen=True, slots=True)
class ProblemView:
    location: str
    path: str
    message: str


@dataclass(frozen=True, slots=True)
class SpecFileView:
    path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class PageView:
    title: str
    tenant: str
    outcome: str  # in_sync | drift | incomplete | invalid_spec | unknown
    verdict: bool
    headline: str
    sentence: str
    facts: tuple[Row, ...]
    scope: tuple[Row, ...]
    scope_note: str
    problems: tuple[ProblemView, ...]
    warnings: tuple[ProblemView, ...]
    counts: Counts
    organizations: tuple[OrgView, ...]
    exceptions: tuple[ExceptionRow, ...]
    evidence: tuple[Row, ...]
    spec_files: tuple[SpecFileView, ...]
    further: tuple[Row, ...]
    tool: str


_ORG_STATUS = {
    "in_sync": "in sync",
    "drifted": "drifted",
    "missing": "missing",
    "unmanaged": "unmanaged",
}

_FINDING_KEYS = frozenset(
    {
        "kind",
        "severity",
        "organization",
        "path",
        "expected",
        "actual",
        "message",
        "source",
        "accepted",
        "fingerprint",
        "known",
        "expired_exception",
    }
)


def _accepted_view(value: Any, reference: dt.date | None) -> AcceptedView | None:
    if not isinstance(value, Mapping):
        return None
    expires = parse_date(value.get("expires"))
    days = (expires - reference).days if expires and reference else None
    return AcceptedView(
        reason=_text(value.get("reason")),
        owner=_text(value.get("owner")),
        expires=_text(value.get("expires")),
        days_left=days_left_text(days) if days is not None else "",
        source=location_text(value.get("source")),
        urgent=days is not None and days <= 14,
    )


def finding_view(finding: Doc, reference: dt.date | None) -> FindingView:
    severity = "warning" if finding.get("severity") == "warning" else "error"
    badge = "accepted" if is_accepted(finding) else "known" if is_known(finding) else severity
    extras = tuple(
        Row(str(key).replace("_", " "), _text(value), code=True)
        for key, value in sorted(finding.items(), key=lambda item: str(item[0]))
        if key not in _FINDING_KEYS and value is not None
    )
    expired = finding.get("expired_exception")
    if isinstance(expired, Mapping):  # it matched, but its date has passed: the finding counts
        when, why = _text(expired.get("expires")), _text(expired.get("reason"))
        extras = (Row("exception expired", f"{when}: {why}"), *extras)
    return FindingView(
        location=location_text(finding.get("source")),
        kind=_text(finding.get("kind")).replace("_", " "),
        severity=severity,
        badge=badge,
        message=_text(finding.get("message")),
        path=_text(finding.get("path")),
        expected=compact(finding.get("expected")),
        actual=compact(finding.get("actual")),
        accepted=_accepted_view(finding.get("accepted"), reference),
        fingerprint=_text(finding.get("fingerprint")),
        extras=extras,
    )


def _org_view(index: int, org: Doc, reference: dt.date | None) -> OrgView:
    status = _text(org.get("status"))
    name, ident = _text(org.get("name")), _text(org.get("id"))
    return OrgView(
        anchor=f"org-{index}",
        label=name or ident or "(unnamed)",
        name=name,
        id=ident,
        status=status if status in _ORG_STATUS else "other",
        status_label=_ORG_STATUS.get(status, status or "unknown"),
        location=location_text(org.get("source")),
        findings=tuple(finding_view(f, reference) for f in _objs(org.get("findings"))),
    )


def _warnings(document: Doc) -> tuple[ProblemView, ...]:
    """Warnings about the spec itself: exceptions that match nothing or expire soon."""
    return tuple(_problem_views(document.get("warnings")))


def _problem_views(items: Any) -> list[ProblemView]:
    found: list[ProblemView] = []
    for problem in _list(items):
        if isinstance(problem, Mapping):
            line, column = _int(problem.get("line")), _int(problem.get("column"))
            where = _text(problem.get("file"))
            if where and line:
                where += f":{line}" + (f":{column}" if column else "")
            found.append(
                ProblemView(where, _text(problem.get("path")), _text(problem.get("message")))
            )
        else:
            found.append(ProblemView("", "", _text(problem)))
    return found


def _problems(document: Doc) -> tuple[ProblemView, ...]:
    """What made the run end without a verdict: spec problems, what could not be read."""
    found = _problem_views(document.get("problems"))
    for key in ("error", "errors", "incomplete", "unread"):
        value = document.get(key)
        items = value if isinstance(value, list) else [value] if value not in (None, "") else []
        for item in items:
            if isinstance(item, Mapping):
                message = _text(item.get("message")) or compact(item)
                found.append(ProblemView(location_text(item.get("source")), "", message))
            elif item not in (None, "", False):
                found.append(ProblemView("", "", _text(item)))
    return tuple(found)


_SCOPE_LABELS = {
    "organizations": "Organizations selected",
    "selection": "Organizations selected",
    "orgs": "Organizations selected",
    "changed_from": "Changed from git ref",
    "baseline": "Baseline report",
}


def _scope(document: Doc) -> tuple[tuple[Row, ...], str]:
    if "scope" not in document:
        return (), "Not recorded in this report (it may cover only some organizations)."
    scope = document.get("scope")
    if not isinstance(scope, Mapping):
        text = _text(scope)
        return ((Row("Scope", text),) if text else ()), "" if text else "The whole spec."
    rows = []
    for key in sorted(scope, key=str):
        value = scope[key]
        if value in (None, "", [], {}, False):
            continue
        if isinstance(value, list):
            text = ", ".join(_text(item) for item in value)
        else:
            text = "yes" if value is True else _text(value)
        rows.append(Row(_SCOPE_LABELS.get(str(key), str(key).replace("_", " ").capitalize()), text))
    if not rows:
        return (), "The whole spec: every declared organization was in scope."
    return tuple(rows), "Part of the spec: this verdict covers only what is listed here."


_KNOWN_KEYS = frozenset(
    {
        "tool",
        "tool_version",
        "report_version",
        "tenant",
        "checked_at",
        "spec_files",
        "in_sync",
        "summary",
        "organizations",
        "stats",
        "source",
        "status",
        "problems",
        "warnings",
        "exit_code",
        "error",
        "errors",
        "incomplete",
        "unread",
        "scope",
        "snapshot",
        "snapshot_sha256",
        "scopes",
        "token_scopes",
        "evidence",
        "basis",
    }
)


def _basis_text(basis: Doc) -> str:
    """`check --since`: what the verdict rests on (an incremental read, or a full one and why)."""
    if basis.get("full_read"):
        return f"full read, because {_text(basis.get('full_read_because'))}"
    logs = _obj(basis.get("log_range"))
    reread = _list(basis.get("reread"))
    span = (
        f"log entries after {_text(logs.get('from'))} to {_text(logs.get('to'))}"
        if logs.get("to") is not None
        else f"no log entries after {_text(logs.get('from'))}"
    )
    return (
        f"incremental: snapshot of {_text(basis.get('snapshot_taken_at'))}, {span} "
        f"({plural(_int(logs.get('entries')) or 0, 'entry')}), "
        f"{plural(len(reread), 'organization')} re-read"
        f"{': ' + ', '.join(_text(r) for r in reread) if reread else ''}, "
        f"{_int(basis.get('looked_up')) or 0} looked up"
    )


def _evidence(document: Doc) -> tuple[Row, ...]:
    rows = [
        Row(
            "Tool",
            f"{_text(document.get('tool')) or 'orgdrift'} {_text(document.get('tool_version'))}",
        ),
        Row("Report version", _text(document.get("report_version"))),
        Row("Tenant", _text(document.get("tenant")) or "not named in the report"),
        Row("Checked at", _text(document.get("checked_at")), code=True),
    ]
    source = document.get("source")
    rows.append(
        Row(
            "Live state from",
            "a saved snapshot (offline check)"
            if source == "snapshot"
            else "the Management API"
            if source == "api"
            else _text(source) or "not recorded",
        )
    )
    snapshot = document.get("snapshot")
    snapshot_hash = document.get("snapshot_sha256")
    if isinstance(snapshot, Mapping):
        for key in sorted(snapshot, key=str):
            label = "Snapshot " + str(key).replace("_", " ")
            rows.append(Row(label, _text(snapshot[key]), code=True))
    elif snapshot not in (None, ""):
        rows.append(Row("Snapshot", _text(snapshot), code=True))
    if isinstance(snapshot_hash, str):
        rows.append(Row("Snapshot sha256", snapshot_hash, code=True))
    if source == "snapshot" and not isinstance(snapshot, Mapping | str) and snapshot_hash is None:
        rows.append(Row("Snapshot sha256", "not recorded in this report"))
    scopes = document.get("scopes", document.get("token_scopes"))
    if isinstance(scopes, list):
        rows.append(Row("Scopes used", " ".join(_text(s) for s in scopes) or "none", code=True))
    elif scopes is not None:
        rows.append(Row("Scopes used", _text(scopes), code=True))
    else:
        rows.append(Row("Scopes used", "not recorded in this report"))
    stats = _obj(document.get("stats"))
    if stats:
        seconds = stats.get("seconds")
        took = f"{seconds:.2f} s" if isinstance(seconds, int | float) else "not recorded"
        rows.append(
            Row(
                "Requests",
                f"{plural(_int(stats.get('requests')) or 0, 'request')}, "
                f"{plural(_int(stats.get('retries')) or 0, 'retry')}, "
                f"{_int(stats.get('rate_limited')) or 0} rate limited, {took}",
            )
        )
        for key in sorted(stats, key=str):
            if key not in ("requests", "retries", "rate_limited", "seconds"):
                rows.append(Row(str(key).replace("_", " ").capitalize(), _text(stats[key])))
    basis = _obj(document.get("basis"))
    if basis:
        rows.append(Row("Basis", _basis_text(basis)))
    evidence = _obj(document.get("evidence"))
    for key in sorted(evidence, key=str):
        rows.append(Row(str(key).replace("_", " ").capitalize(), _text(evidence[key]), code=True))
    return tuple(rows)


def page_view(document: Doc) -> PageView:
    """Everything the template shows, computed from one JSON report document."""
    kind = outcome(document)
    checked = parse_time(document.get("checked_at"))
    reference = checked.date() if checked else None
    tenant = _text(document.get("tenant"))
    orgs = tuple(
        _org_view(index, org, reference)
        for index, org in enumerate(_objs(document.get("organizations")), start=1)
    )
    exceptions = tuple(
        ExceptionRow(org.anchor, org.label, finding, finding.accepted)
        for org in orgs
        for finding in org.findings
        if finding.accepted is not None
    )
    source = document.get("source")
    scope_rows, scope_note = _scope(document)
    files = tuple(
        SpecFileView(_text(f.get("path")), _text(f.get("sha256")))
        for f in _objs(document.get("spec_files"))
    )
    facts = (
        Row("Checked at", _text(document.get("checked_at")), code=True),
        Row(
            "Live state from",
            "a saved snapshot"
            if source == "snapshot"
            else "the Management API"
            if source == "api"
            else _text(source) or "not recorded",
        ),
        Row("Spec files", ", ".join(f.path for f in files) or "none recorded", code=True),
    )
    further = tuple(
        Row(str(key), compact(document[key]), code=True)
        for key in sorted(document, key=str)
        if key not in _KNOWN_KEYS
    )
    version = _text(document.get("tool_version"))
    return PageView(
        title=f"orgdrift audit report: {tenant or 'tenant not named'}: {_TITLES[kind]}",
        tenant=tenant,
        outcome=kind,
        verdict=is_verdict(kind),
        headline=_TITLES[kind],
        sentence=summary_sentence(document, kind),
        facts=facts,
        scope=scope_rows,
        scope_note=scope_note,
        problems=_problems(document),
        warnings=_warnings(document),
        counts=counts(document),
        organizations=orgs,
        exceptions=exceptions,
        evidence=_evidence(document),
        spec_files=files,
        further=further,
        tool=f"orgdrift {version}".strip(),
    )


def render_html(document: Doc, history: HistoryView | None = None) -> str:
    """The page for one JSON report document, with the history of earlier runs when given."""
    page = page_view(document)
    text = _environment().get_template(TEMPLATE).render(page=page, history=history)
    return text.rstrip("\n") + "\n"


class HtmlReporter:
    name: ClassVar[str] = "html"
    description: ClassVar[str] = (
        "one self-contained HTML page for auditors (no network, no scripts)"
    )
    suffix: ClassVar[str] = ".html"

    def render(self, report: Report, options: RenderOptions) -> str:
        document = report_to_dict(report)
        if options.plan is not None:  # each finding says what would fix it
            from orgdrift.plan_render import finding_remediation  # it imports the reporters

            for org in document["organizations"]:
                for finding in org["findings"]:
                    fix = finding_remediation(options.plan, finding.get("fingerprint"))
                    finding["remediation"] = fix
        return render_html(document)
