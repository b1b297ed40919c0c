"""Spec + live state -> results per organization. Pure: no I/O, no clock.

The same function serves online checks and `--live` snapshot checks, so both give exactly the
same findings for the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase
from typing import TypeVar

from orgdrift.diff import compare, missing, unmanaged, with_unknown_connection_hints
from orgdrift.errors import IncompleteSnapshotError, UsageError
from orgdrift.models import (
    LiveOrganization,
    LiveState,
    OrgDecl,
    OrgResult,
    OrgStatus,
    Severity,
    Spec,
)

Org = TypeVar("Org")


def select(spec: Spec, patterns: Sequence[str]) -> tuple[OrgDecl, ...]:
    """The declarations `--org` selects by name or id, globs allowed (`customer-*`); all when
    `patterns` is empty. A pattern that selects nothing is a usage error."""
    if not patterns:
        return spec.organizations

    def hits(pattern: str, decl: OrgDecl) -> bool:
        return any(n is not None and fnmatchcase(n, pattern) for n in (decl.name, decl.id))

    unknown = [p for p in patterns if not any(hits(p, d) for d in spec.organizations)]
    if unknown:
        raise UsageError(
            f"--org names organizations the spec does not declare: {', '.join(unknown)}"
        )
    return tuple(d for d in spec.organizations if any(hits(p, d) for p in patterns))


def checks_unmanaged(spec: Spec, names: Sequence[str]) -> bool:
    """Unmanaged organizations are looked for unless the policy ignores them or --org narrows."""
    return spec.unmanaged_organizations != "ignore" and not names


def match(
    decls: Sequence[OrgDecl], orgs: Iterable[Org], key: Callable[[Org], tuple[object, object]]
) -> list[tuple[OrgDecl, Org | None]]:
    """Each declaration with its organization among `orgs`, by id when it declares one, else by
    name; `key` gives an organization's (id, name). The one matching rule: fetching uses it on
    listed organizations to find what to look up, `evaluate` on the live state."""
    by_id: dict[str, Org] = {}
    by_name: dict[str, Org] = {}
    for org in orgs:
        org_id, name = key(org)
        by_id[str(org_id)] = org
        by_name[str(name)] = org
    return [(d, by_id.get(d.id) if d.id is not None else by_name.get(str(d.name))) for d in decls]


def live_key(org: LiveOrganization) -> tuple[str, str]:
    return org.id, org.name


def evaluate(
    spec: Spec, decls: Sequence[OrgDecl], live: LiveState, *, check_unmanaged: bool
) -> tuple[OrgResult, ...]:
    """Compare each declaration with its live organization; add unmanaged ones when asked."""
    results: list[OrgResult] = []
    matched: set[str] = set()
    for decl, org in match(decls, live.organizations, live_key):
        if org is None:
            results.append(
                OrgResult(decl.name, decl.id, OrgStatus.MISSING, (missing(decl),), decl.location)
            )
            continue
        matched.add(org.id)
        _check_read(decl, org)
        findings = tuple(
            with_unknown_connection_hints(decl, compare(decl, org), live.connection_names)
        )
        status = OrgStatus.DRIFTED if findings else OrgStatus.IN_SYNC
        results.append(OrgResult(decl.name or org.name, org.id, status, findings, decl.location))
    if check_unmanaged:
        results.extend(_unmanaged(spec, live, matched))
    return tuple(results)


def _check_read(decl: OrgDecl, org: LiveOrganization) -> None:
    """Every part of the organization `decl` declares was read (a snapshot taken for another
    spec may lack some)."""
    if decl.connections is not None and not decl.needs_connection_view and org.connections is None:
        raise IncompleteSnapshotError(
            f"the enabled connections of organization {org.name} ({org.id}) were not read"
        )
    lacking = {
        "organization connections (Early Access view)": (
            decl.needs_connection_view and org.connection_view is None
        ),
        "client grants": decl.client_grants is not None and org.client_grants is None,
        "discovery domains": decl.discovery_domains is not None and org.discovery_domains is None,
    }
    unread = [what for what, lacks in lacking.items() if lacks]
    if unread:
        raise IncompleteSnapshotError(
            f"the {' and '.join(unread)} of organization {org.name} ({org.id}) were not read "
            "(take the snapshot with this spec)"
        )


def _unmanaged(spec: Spec, live: LiveState, matched: set[str]) -> list[OrgResult]:
    if not live.complete:
        raise IncompleteSnapshotError(
            "unmanaged organizations cannot be checked: the live state does not list every "
            "organization of the tenant (take the snapshot with --all)"
        )
    declared = {d.id for d in spec.organizations} | {d.name for d in spec.organizations}
    extra = [o for o in live.organizations if o.id not in matched and not {o.id, o.name} & declared]
    severity = Severity.ERROR if spec.unmanaged_organizations == "fail" else Severity.WARNING
    return [
        OrgResult(
            org.name or org.id,
            org.id,
            OrgStatus.UNMANAGED,
            (unmanaged(org, severity, spec.unmanaged_source),),
            None,
        )
        for org in sorted(extra, key=lambda o: (o.name, o.id))
    ]
