"""Living with drift: which findings are accepted, and which are known.

- An *exception* in the spec accepts the findings it matches until its `expires` date. An accepted
  finding never changes the exit code and stays in every report, marked with its acceptance. Past
  that date the exception stops matching and the finding says so. An exception that matches
  nothing, or that expires within `EXPIRY_WARNING_DAYS`, is a warning at its spec line.
- A *fingerprint* names a finding across runs: tenant, organization (its id; its name while it
  is missing), kind and path. Never the spec line or the values, so a reformatted or reordered
  spec, or a value that changed again, keeps the same fingerprint. A baseline report's
  fingerprints mark the findings that are already known.

Pure: no I/O and no clock (`today` is passed in).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date
from fnmatch import fnmatchcase

from orgdrift.errors import Problem, UsageError
from orgdrift.models import ExceptionRule, Finding, OrgResult, Report

EXPIRY_WARNING_DAYS = 14
FINGERPRINT_KEY = "orgdrift/v1"
"""The name of orgdrift's fingerprint in SARIF `partialFingerprints`."""


def matches(rule: ExceptionRule, finding: Finding, org: OrgResult) -> bool:
    """Whether `rule` covers `finding` of `org` (its kind, its path glob, its organization glob
    against the organization's name or id), whatever its expiry."""
    if rule.kinds is not None and finding.kind not in rule.kinds:
        return False
    if rule.path is not None and not fnmatchcase(finding.path, rule.path):
        return False
    names = {n for n in (org.name, org.id, finding.organization) if n}
    return any(fnmatchcase(n, rule.organization) for n in names)


def apply_exceptions(
    results: Sequence[OrgResult],
    rules: Sequence[ExceptionRule],
    today: date,
    *,
    partial: bool = False,
) -> tuple[tuple[OrgResult, ...], tuple[Problem, ...]]:
    """Mark each finding accepted by the first live exception that matches it; a finding that
    only an expired exception matches records that expiry. Warn about exceptions that matched
    nothing (live or not) and those that expire within EXPIRY_WARNING_DAYS.

    When the run checked only part of the spec (`partial`: --org, --changed-from), an exception
    that matched nothing is a warning only if it names an organization that was checked."""
    used: set[int] = set()
    marked = _each_finding(results, lambda org, f: _mark(f, org, rules, today, used))
    if partial:
        names = {n for org in results for n in (org.name, org.id) if n}
        unchecked = {
            i
            for i, rule in enumerate(rules)
            if not any(fnmatchcase(n, rule.organization) for n in names)
        }
        used |= unchecked
    return marked, tuple(_warnings(rules, today, used))


def _mark(
    finding: Finding, org: OrgResult, rules: Sequence[ExceptionRule], today: date, used: set[int]
) -> Finding:
    matching = [index for index, rule in enumerate(rules) if matches(rule, finding, org)]
    used.update(matching)
    live = next((rules[i] for i in matching if rules[i].expires >= today), None)
    if live is not None:
        return replace(finding, accepted=live.acceptance())
    if matching:
        return replace(finding, expired_exception=rules[matching[0]].acceptance())
    return finding


def _warnings(rules: Sequence[ExceptionRule], today: date, used: set[int]) -> Iterable[Problem]:
    """Problems at the exceptions worth a second look: those that matched nothing, or that
    expire within EXPIRY_WARNING_DAYS."""
    for index, rule in enumerate(rules):
        days = (rule.expires - today).days
        if index not in used:
            message = f"exception for {rule.organization} matches no finding"
        elif 0 <= days <= EXPIRY_WARNING_DAYS:
            when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
            message = (
                f"exception for {rule.organization} expires {when} ({rule.expires.isoformat()}): "
                f"{rule.reason}"
            )
        else:
            continue
        at = rule.location
        yield Problem(at.file, at.line, at.column, "", message)


# --- fingerprints and baselines ------------------------------------------------------------


def fingerprint(tenant: str | None, org: OrgResult, finding: Finding) -> str:
    """A stable identity for `finding`: sha256 over tenant, organization, kind and path."""
    identity = org.id or org.name or finding.organization
    material = json.dumps([tenant or "", identity, finding.kind.value, finding.path])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def with_fingerprints(results: Sequence[OrgResult], tenant: str | None) -> tuple[OrgResult, ...]:
    """Every finding with its fingerprint."""
    return _each_finding(results, lambda o, f: replace(f, fingerprint=fingerprint(tenant, o, f)))


def mark_known(results: Sequence[OrgResult], known: frozenset[str]) -> tuple[OrgResult, ...]:
    """Mark every finding whose fingerprint the baseline report already carries."""
    return _each_finding(results, lambda _, f: replace(f, known=f.fingerprint in known))


def _each_finding(
    results: Sequence[OrgResult], change: Callable[[OrgResult, Finding], Finding]
) -> tuple[OrgResult, ...]:
    return tuple(
        replace(org, findings=tuple(change(org, f) for f in org.findings)) for org in results
    )


def baseline_fingerprints(baseline: Report, tenant: str | None, path: str) -> frozenset[str]:
    """The fingerprints of the findings of an earlier report, read from `path`. Raises
    UsageError (exit 2) saying why it cannot serve as a baseline: no verdict, another tenant."""

    def refuse(why: str) -> UsageError:
        return UsageError(f"--baseline {path}: {why}")

    if not baseline.verdict:
        raise refuse(f"it has no verdict (status {baseline.status.value!r})")
    if tenant is not None and baseline.tenant not in (None, tenant):
        raise refuse(f"it is for tenant {baseline.tenant!r}, not {tenant!r}")
    return frozenset(f.fingerprint for f in baseline.findings if f.fingerprint is not None)
