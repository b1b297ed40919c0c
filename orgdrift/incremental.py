"""Incremental audits: from a snapshot and the tenant logs since, what to re-read, and the live
state that results. Pure: the reads happen elsewhere.

The rule is to fail closed. `plan` returns a reason for a full read whenever continuity cannot be
shown (an entry that cannot be attributed, a snapshot without a checkpoint or for another spec or
tool version) or when re-reading would cost more than reading everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orgdrift.logs import Touched
from orgdrift.models import LiveOrganization, LiveState

REQUESTS_PER_REREAD = 2  # the organization, then its enabled connections
PAGE = 100


@dataclass(frozen=True, slots=True)
class Plan:
    """Organizations to re-read by id, or why everything must be read again."""

    reread: frozenset[str]
    full_read_because: str | None = None

    @property
    def full(self) -> bool:
        return self.full_read_because is not None


def connection_index(state: LiveState) -> Mapping[str, frozenset[str]]:
    """connection id -> ids of the organizations that had it enabled in `state`."""
    index: dict[str, set[str]] = {}
    for org in state.organizations:
        for item in org.connections or ():
            conn_id = item.get("connection_id")
            if isinstance(conn_id, str):
                index.setdefault(conn_id, set()).add(org.id)
    return {k: frozenset(v) for k, v in index.items()}


def plan(
    snapshot: LiveState, touched: Touched, *, declared: int, client_grants_declared: bool = False
) -> Plan:
    """What to re-read after `touched`, against a full read of `declared` organizations."""
    if touched.unattributable:
        extra = len(touched.unattributable) - 1
        more = f" (and {extra} more)" if extra else ""
        why = f"a log entry could not be attributed: {touched.unattributable[0]}{more}"
        return Plan(frozenset(), why)
    index = connection_index(snapshot)
    reread = set(touched.organizations)
    for conn_id in touched.connections:
        reread |= index.get(conn_id, frozenset())
    if touched.client_grants and client_grants_declared:
        why = "client grants changed tenant-wide, and the snapshot cannot say which organizations had them"
        return Plan(frozenset(), why)
    full_cost = -(-max(declared, len(snapshot.organizations)) // PAGE) + declared
    cost = REQUESTS_PER_REREAD * len(reread)
    if cost > full_cost:
        why = (
            f"re-reading {len(reread)} organizations ({cost} requests) would cost more than "
            f"a full read ({full_cost})"
        )
        return Plan(frozenset(reread), why)
    return Plan(frozenset(reread))


def combine(
    snapshot: LiveState,
    reread: Mapping[str, LiveOrganization | None],
    *,
    taken_at: str,
    checkpoint: str | None,
) -> LiveState:
    """The snapshot with each re-read organization replaced, added or (None: gone) removed."""
    kept = [org for org in snapshot.organizations if org.id not in reread]
    fresh = [org for org in reread.values() if org is not None]
    return LiveState(
        organizations=tuple(sorted([*kept, *fresh], key=lambda o: (o.name, o.id))),
        tenant=snapshot.tenant,
        taken_at=taken_at,
        complete=snapshot.complete,
        log_checkpoint=checkpoint,
    )
