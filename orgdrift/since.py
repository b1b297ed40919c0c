"""The reads of an incremental audit: the tenant log since a snapshot's
checkpoint, the organizations it touched, the declared organizations the snapshot lacks; or, when
continuity cannot be shown, a full read that says why. The decisions are in `logs.py` (what an
entry touched) and `incremental.py` (what to re-read, how to combine); this module does the I/O.

Fails closed: whatever breaks continuity (no checkpoint, another spec or tool version, a
checkpoint no longer retained, no `read:logs`, an entry that cannot be attributed, logs dearer
than a full read, a lookup that contradicts the snapshot) gives `full_read_because`, never a
guess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from orgdrift.client import ManagementClient
from orgdrift.errors import IncrementalUnavailable, InsufficientScopeError
from orgdrift.fetch import Progress, _gather, fetch_live
from orgdrift.incremental import PAGE, combine, plan
from orgdrift.logs import classify
from orgdrift.models import Basis, LiveOrganization, LiveState, OrgDecl, RawObject

LOG_SCOPE = "read:logs"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The newest log id before a read, or why there is none (said once on stderr)."""

    log_id: str | None
    why_none: str | None = None


async def read_checkpoint(client: ManagementClient) -> Checkpoint:
    """The tenant's newest log id, read before the organizations are."""
    scopes = await client.granted_scopes()
    if scopes is not None and LOG_SCOPE not in scopes:
        return Checkpoint(
            None, f"the token lacks {LOG_SCOPE}, so the snapshot has no log checkpoint"
        )
    try:
        newest = await client.newest_log_id()
    except InsufficientScopeError:
        return Checkpoint(
            None, f"the API refused {LOG_SCOPE} (403), so the snapshot has no log checkpoint"
        )
    if newest is None:
        return Checkpoint(None, "the tenant log is empty, so the snapshot has no log checkpoint")
    return Checkpoint(newest)


async def read_with_checkpoint(
    client: ManagementClient,
    decls: Sequence[OrgDecl],
    *,
    list_all: bool,
    tenant: str | None,
    progress: Progress | None,
) -> tuple[LiveState, Checkpoint]:
    """A full read of what the declarations need, the checkpoint read first."""
    checkpoint = await read_checkpoint(client)
    state = await fetch_live(client, decls, list_all=list_all, tenant=tenant, progress=progress)
    return replace(state, log_checkpoint=checkpoint.log_id), checkpoint


def continuity_problem(
    previous: LiveState,
    *,
    spec_sha256: tuple[str, ...],
    tool_version: str,
    tenant: str | None,
    unmanaged: bool,
) -> str | None:
    """Why the snapshot cannot be the basis of an incremental check, before any request."""
    if previous.log_checkpoint is None:
        return "the snapshot has no log checkpoint"
    if previous.spec_sha256 != spec_sha256:
        return "the snapshot was taken for other spec files (their sha256 differ)"
    if previous.tool_version != tool_version:
        return f"the snapshot was taken by orgdrift {previous.tool_version}, not {tool_version}"
    if tenant is not None and previous.tenant is not None and previous.tenant != tenant:
        return f"the snapshot is of tenant {previous.tenant}, not {tenant}"
    if unmanaged and not previous.complete:
        return "the snapshot does not list every organization, which the unmanaged check needs"
    return None


@dataclass(frozen=True, slots=True)
class Incremental:
    """The live state and its basis; `basis.full_read_because` set when it fell back."""

    state: LiveState
    basis: Basis
    checkpoint: Checkpoint


async def read_since(
    client: ManagementClient,
    previous: LiveState,
    decls: Sequence[OrgDecl],
    *,
    list_all: bool,
    tenant: str | None,
    progress: Progress | None,
    problem: str | None,
    full_fallback: bool,
) -> Incremental:
    """The incremental read, or the full read with the reason it was needed. Without
    `full_fallback` a reason raises `IncrementalUnavailable` (exit 3) instead."""
    why = problem
    if why is None:
        attempt = await _incremental(client, previous, decls, tenant=tenant)
        if isinstance(attempt, Incremental):
            return attempt
        why = attempt
    if not full_fallback:
        raise IncrementalUnavailable(
            f"no incremental check: {why}; --no-full-fallback forbids the full read"
        )
    state, checkpoint = await read_with_checkpoint(
        client, decls, list_all=list_all, tenant=tenant, progress=progress
    )
    basis = Basis(previous.taken_at, previous.log_checkpoint, None, 0, (), 0, why)
    return Incremental(state, basis, checkpoint)


async def _incremental(
    client: ManagementClient,
    previous: LiveState,
    decls: Sequence[OrgDecl],
    *,
    tenant: str | None,
) -> Incremental | str:
    """The incremental read, or why it cannot be trusted."""
    start = previous.log_checkpoint
    assert start is not None, "continuity_problem checks the checkpoint first"
    scopes = await client.granted_scopes()
    if scopes is not None and LOG_SCOPE not in scopes:
        return f"the token lacks {LOG_SCOPE}"
    full_cost = math.ceil(max(len(decls), len(previous.organizations)) / PAGE) + len(decls)
    entries: list[RawObject] = []
    try:
        if not await client.log_retained(start):
            return f"the snapshot's log checkpoint {start} is no longer retained by the tenant"
        pages = 0
        async for page in client.iter_log_pages(start):
            pages += 1
            entries.extend(page)
            if pages >= full_cost:
                return (
                    f"the logs since the snapshot hold more than {len(entries)} entries: reading "
                    f"them would cost more requests than a full read ({full_cost})"
                )
    except InsufficientScopeError:
        return f"the API refused {LOG_SCOPE} (403)"
    touched = classify(entries)
    decided = plan(previous, touched, declared=len(decls))
    if decided.full_read_because is not None:
        return decided.full_read_because
    reread_ids = sorted(decided.reread)
    reread = dict(
        zip(reread_ids, await _gather([_read(client, i) for i in reread_ids]), strict=True)
    )
    checkpoint = touched.last_log_id or start
    state = combine(previous, reread, taken_at=previous.taken_at or "", checkpoint=checkpoint)
    # Declared organizations the combined state lacks: looked up ("missing" is proven).
    by_id = {o.id: o for o in state.organizations}
    by_name = {o.name: o for o in state.organizations}
    absent = [
        d
        for d in decls
        if (by_id.get(d.id) if d.id is not None else by_name.get(str(d.name))) is None
    ]
    found = await _gather([_lookup(client, d) for d in absent])
    added: dict[str, LiveOrganization | None] = {}
    for org in found:
        if org is None:
            continue
        if org.id in by_id or org.id in added:
            return (
                f"organization {org.id} is in the snapshot as {by_id[org.id].name!r} but the "
                f"tenant names it {org.name!r}, and no log entry says it changed"
                if org.id in by_id
                else f"organization {org.id} was looked up twice"
            )
        added[org.id] = org
    if added:
        state = combine(state, added, taken_at=state.taken_at or "", checkpoint=checkpoint)
    state = replace(state, tenant=tenant if tenant is not None else state.tenant)
    basis = Basis(
        previous.taken_at,
        start,
        touched.last_log_id,
        touched.entries,
        tuple(reread_ids),
        len(absent),
    )
    return Incremental(state, basis, Checkpoint(checkpoint))


async def _read(client: ManagementClient, org_id: str) -> LiveOrganization | None:
    """An organization by id with its enabled connections; None on the API's JSON 404."""
    data = await client.get_organization(org_id)
    if data is None:
        return None
    return LiveOrganization(data, tuple(await client.list_enabled_connections(org_id)))


async def _lookup(client: ManagementClient, decl: OrgDecl) -> LiveOrganization | None:
    if decl.id is not None:
        return await _read(client, decl.id)
    data = await client.get_organization_by_name(str(decl.name))
    if data is None:
        return None
    org_id = str(data["id"])
    return LiveOrganization(data, tuple(await client.list_enabled_connections(org_id)))
