"""Incremental audits: from a snapshot and what the tenant logs since touched, which
organizations to re-read and which of their parts the snapshot can no longer answer for; the
snapshot refreshed accordingly. Pure: the reads happen in `fetch` (the same reads a full check
uses), which then reads every part each declaration declares that the refreshed state lacks.

The rule is to fail closed. `rereads` returns a reason for a full read whenever continuity cannot be
shown (an entry that could touch a declared part and cannot be attributed) or when the re-reads
would cost more requests than reading everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from orgdrift.check import match
from orgdrift.fetch import completion_requests, full_read_requests, part_requests
from orgdrift.logs import Part, Touched
from orgdrift.models import LiveOrganization, LiveState, OrgDecl, RawObject

# The fields of a `LiveOrganization` each part of the logs' vocabulary stands for.
_FIELDS: Mapping[Part, tuple[str, ...]] = {
    "connections": ("connections", "connection_view"),  # both views of the same associations
    "client_grants": ("client_grants",),
    "discovery_domains": ("discovery_domains",),
}


@dataclass(frozen=True, slots=True)
class Rereads:
    """Organizations to re-read by id, parts of others the snapshot can no longer answer for,
    what that costs against a full read, or why everything must be read again."""

    reread: frozenset[str] = frozenset()
    stale: Mapping[str, frozenset[Part]] = field(default_factory=dict)
    requests: int = 0  # the re-reads' estimated cost (the logs' pages not included)
    full_read_because: str | None = None


def holders(state: LiveState, touched: Touched) -> dict[str, set[Part]]:
    """Organization id -> the parts a tenant-wide write changed for it: the connections of each
    organization that had a changed or deleted connection (however read), the client grants of
    each associated with a changed or deleted grant or with a grant of a deleted application."""
    stale: dict[str, set[Part]] = {}
    for org in state.organizations:
        items = [*(org.connections or ()), *(org.connection_view or ())]
        if any(item.get("connection_id") in touched.connections for item in items):
            stale.setdefault(org.id, set()).add("connections")
        if any(
            grant.get("id") in touched.client_grants or grant.get("client_id") in touched.clients
            for grant in org.client_grants or ()
        ):
            stale.setdefault(org.id, set()).add("client_grants")
    return stale


def rereads(
    snapshot: LiveState,
    touched: Touched,
    decls: Sequence[OrgDecl],
    *,
    list_all: bool,
    log_requests: int = 0,
) -> Rereads:
    """What to re-read after `touched`, against a full read of `decls`."""
    blocking = [
        u
        for u in touched.unattributable
        if u.part is None or any(getattr(d, u.part) is not None for d in decls)  # named alike
    ]
    if blocking:
        more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
        why = f"a log entry could not be attributed: {blocking[0]}{more}"
        return Rereads(full_read_because=why)
    stale = holders(snapshot, touched)
    for org_id, parts in touched.parts.items():
        stale.setdefault(org_id, set()).update(parts)
    reread = frozenset(touched.organizations)
    frozen = {k: frozenset(v) for k, v in stale.items() if k not in reread}
    cost = _cost(snapshot, decls, reread, frozen)
    full = full_read_requests(decls, snapshot, list_all=list_all)
    if cost + log_requests > full:
        count = len(reread | set(frozen))
        why = (
            f"re-reading what the logs touched in {count} organization{'s' if count != 1 else ''}"
            f" ({cost} requests, and {log_requests} for the logs) would cost more than a full "
            f"read ({full})"
        )
        return Rereads(reread, frozen, cost, why)
    return Rereads(reread, frozen, cost)


def _cost(
    snapshot: LiveState,
    decls: Sequence[OrgDecl],
    reread: frozenset[str],
    stale: Mapping[str, frozenset[Part]],
) -> int:
    """The requests the re-reads cost: each organization re-read, then every part its
    declaration declares (the most any declaration declares when it has none in the snapshot:
    it may be new or renamed); for every other declared organization, what `fetch.complete`
    reads: the parts its declaration declares that the snapshot lacks or can no longer answer
    for (stale); each declaration the snapshot has no organization for, looked up and read
    whole."""
    pairs = match(decls, snapshot.organizations, lambda o: (o.id, o.name))
    declared = {org.id: (d, org) for d, org in pairs if org is not None}
    most = max((part_requests(d) for d in decls), default=0)
    cost = 0
    for org_id in reread:
        cost += 1 + (part_requests(*declared[org_id]) if org_id in declared else most)
    for org_id, (decl, org) in declared.items():
        if org_id not in reread:
            kept = _without(org, stale.get(org_id, frozenset()))
            cost += completion_requests(decl, kept, org)
    absent = sum(1 + part_requests(d) for d, org in pairs if org is None)
    return cost + absent


def _without(org: LiveOrganization, parts: frozenset[Part]) -> LiveOrganization:
    """`org` without the parts named: the snapshot can no longer answer for them."""
    cleared: dict[str, Any] = dict.fromkeys(name for part in parts for name in _FIELDS[part])
    return replace(org, **cleared)


def refresh(
    snapshot: LiveState,
    organizations: Mapping[str, RawObject | None],
    stale: Mapping[str, frozenset[Part]],
    *,
    checkpoint: str | None,
) -> LiveState:
    """The snapshot with each organization re-read replaced by its new body (None: gone) and
    none of its parts, and the stale parts of the others left out: what the state can still
    answer for. `fetch.complete` then reads what the declarations need of the rest."""
    kept = [
        _without(org, stale.get(org.id, frozenset()))
        for org in snapshot.organizations
        if org.id not in organizations
    ]
    fresh = [LiveOrganization(body, None) for body in organizations.values() if body is not None]
    return replace(
        snapshot,
        organizations=tuple(sorted([*kept, *fresh], key=lambda o: (o.name, o.id))),
        log_checkpoint=checkpoint,
    )
