"""The HTML audit report: one self-contained page a person reads.

The page is rendered from a `Report`: the run's own for `check --report html=PATH`, or the
latest one read back from its JSON file for `orgdrift report REPORT.json...` (with the history
view of reporters/history.py). Counts and sentences are the other reporters' (`_common`). What a
report does not record (the scope of a version 1 report, the snapshot hash, the token's scopes)
is said to be unrecorded. Every string from the tenant, the spec or a report file is untrusted:
Jinja2 escapes it, and control, format (bidi, zero-width) and surrogate characters are shown as
visible escapes.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any, ClassVar

from orgdrift.models import Basis, Finding, Report, Status
from orgdrift.plan import Plan
from orgdrift.reporters._common import (
    Counts,
    RenderOptions,
    compact_json,
    escape_code,
    level,
    ordered_findings,
    ordered_organizations,
    plural,
    stats_phrase,
    verdict_sentence,
    visible,
    words,
)

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

TEMPLATE = "report.html.j2"


def display_text(text: str) -> Markup:
    """`text` HTML-escaped, with invisible characters shown as `<span class=esc>\\u200b</span>`.

    An organization named `acme` and one named `ac\\u200bme` must not look alike in an audit,
    and a right-to-left override in a display name must not reorder the rest of the page.
    """
    from markupsafe import Markup, escape

    span = "<span class=esc>{}</span>"
    return Markup(visible(escape(text), show=lambda char: span.format(escape_code(char))))


def _finalize(value: Any) -> Any:
    """Jinja2 `finalize`: every `{{ value }}` of the template goes through `display_text`; None
    shows as nothing."""
    from markupsafe import Markup

    if value is None:
        return ""
    return value if isinstance(value, Markup) else display_text(str(value))


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("orgdrift.reporters", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    environment.filters.update(
        json=compact_json, level=level, words=words, days_left=days_left_text
    )
    return environment


# --- phrases -----------------------------------------------------------------------------------


def days_left_text(days: int) -> str:
    if days == 0:
        return "expires today"
    return f"{plural(days, 'day')} left" if days > 0 else f"expired {plural(-days, 'day')} before"


_SENTENCES = {
    Status.INCOMPLETE: (
        "The tenant could not be read completely. This is not a verdict: nothing below "
        "says whether the tenant matches the spec."
    ),
    Status.INVALID: (
        "The input is invalid (the spec, a snapshot or the command line), so nothing was "
        "compared. This is not a verdict."
    ),
    Status.VALID: "The spec is valid. It was not compared with a tenant, so this is not a verdict.",
}

_TITLES = {
    Status.IN_SYNC: "In sync",
    Status.DRIFT: "Drift found",
    Status.INCOMPLETE: "No verdict: the tenant could not be read completely",
    Status.INVALID: "No verdict: the input is invalid",
    Status.VALID: "Valid spec: no tenant was compared",
}


def _scope(report: Report) -> tuple[list[tuple[str, str]], str]:
    """What the run covered, (label, value) by value, and one sentence saying how much of the
    spec that is."""
    if report.version < 2:
        return [], "Not recorded in this report (it may cover only some organizations)."
    scope = report.scope
    rows = [
        ("Organizations selected", ", ".join(scope.organizations)),
        ("Changed from git ref", scope.changed_from),
        ("Changes", scope.changes),
        ("Baseline report", scope.baseline),
    ]
    return [(label, value) for label, value in rows if value], _coverage(report)


def _coverage(report: Report) -> str:
    scope, basis = report.scope, report.basis
    if scope.partial:
        which = ["that the --org selection matched"] if scope.organizations else []
        if scope.changed_from is not None:
            since = f"added or changed since {scope.changed_from}"
            which.append(f"and that were {since}" if which else since)
        declared = (
            plural(scope.declared, "declared organization") if report.verdict else "organizations"
        )
        return (
            f"Part of the spec: the {declared} {' '.join(which)}; "
            "the rest of the spec was not checked."
        )
    if basis is None:
        how = " was in scope"
    elif basis.full_read_because is not None:
        how = f", read in full (check --since fell back because {basis.full_read_because})"
    else:
        how = (
            ", read incrementally (check --since): those the tenant logs touched after the "
            f"snapshot of {basis.snapshot_taken_at or 'an unknown time'} were read again, the "
            "others taken from that snapshot"
        )
    unmanaged = (
        " Organizations the spec does not declare were looked for too." if scope.unmanaged else ""
    )
    return f"The whole spec: every declared organization{how}.{unmanaged}"


def _basis_text(basis: Basis) -> str:
    """`check --since`: what the verdict rests on (an incremental read, or a full one and why)."""
    if basis.full_read_because is not None:
        return f"full read, because {basis.full_read_because}"
    span = (
        f"log entries after {basis.log_from or ''} to {basis.log_to}"
        if basis.log_to is not None
        else f"no log entries after {basis.log_from or ''}"
    )
    reread = ": " + ", ".join(basis.reread) if basis.reread else ""
    return (
        f"incremental: snapshot of {basis.snapshot_taken_at or ''}, {span} "
        f"({plural(basis.entries, 'entry')}), "
        f"{plural(len(basis.reread), 'organization')} re-read{reread}, "
        f"{basis.looked_up} looked up"
    )


_LIVE_STATE = {"snapshot": "a saved snapshot", "api": "the Management API", "spec": "spec"}
_SNAPSHOT_ROLE = {"read": "read", "since": "started from (--since)", "written": "written"}


def _scopes_text(report: Report) -> str:
    stats = report.stats
    if report.version < 3:
        return "not recorded in this report"
    if not stats.scopes_required:
        return "none: the tenant was not read"
    required = ", ".join(stats.scopes_required)
    if stats.scopes_granted is None:
        return f"required {required}; granted: not known (an opaque token)"
    return f"required {required}; granted {', '.join(stats.scopes_granted) or 'none'}"


def render_html(report: Report, history: object = None, plan: Plan | None = None) -> str:
    """The page of one report; with the history of earlier runs (reporters/history.py's
    `HistoryView`) when given; with what would fix each finding when a plan is given."""
    orgs = [(org, ordered_findings(report, org)) for org in ordered_organizations(report)]
    scope, scope_note = _scope(report)
    template = _environment().get_template(TEMPLATE)
    text = template.render(
        report=report,
        headline=_TITLES[report.status],
        sentence=verdict_sentence(report) if report.verdict else _SENTENCES[report.status],
        live_state=_LIVE_STATE[report.live_from],
        spec_files=", ".join(f.path for f in report.spec_files),
        scope=scope,
        scope_note=scope_note,
        counts=Counts.of(report),
        organizations=orgs,
        exceptions=[
            (i, org, f) for i, (org, found) in enumerate(orgs, 1) for f in found if f.accepted
        ],
        checked_on=dt.date.fromisoformat(report.checked_at[:10]),  # days left count from it
        remediation=functools.partial(_remediation, plan),
        snapshot_roles=_SNAPSHOT_ROLE,
        scopes=_scopes_text(report),
        requests=stats_phrase(report),
        basis=report.basis and _basis_text(report.basis),
        history=history,
    )
    return text.rstrip("\n") + "\n"


def _remediation(plan: Plan | None, finding: Finding) -> str | None:
    """The plan's requests that would fix `finding`, or why none; None without a plan."""
    if plan is None:
        return None
    from orgdrift.plan_render import finding_remediation  # it imports the reporters

    return finding_remediation(plan, finding.fingerprint or None)


class HtmlReporter:
    name: ClassVar[str] = "html"
    description: ClassVar[str] = (
        "one self-contained HTML page for auditors (no network, no scripts)"
    )
    suffix: ClassVar[str] = ".html"

    def render(self, report: Report, options: RenderOptions) -> str:
        return render_html(report, plan=options.plan)
