"""An incremental audit: the tenant log since a snapshot's checkpoint (read here), what it
touched (`logs.py`), what to re-read and the snapshot refreshed (`incremental.py`), then the
re-reads and every part the declarations declare that the refreshed snapshot lacks, read by the
reads a full check uses (`fetch.py`); or, when continuity cannot be shown, a full read that
says why. This module reads nothing of the organizations itself.

A snapshot taken for other spec files serves too: what the spec now declares and the snapshot
lacks (an organization, a part) is read like any part the logs made stale.

Fails closed: whatever breaks continuity (no checkpoint, another tool version, a
checkpoint no longer retained, no `read:logs`, an entry that could touch a declared part and
cannot be attributed, re-reads dearer than a full read, a lookup that contradicts the snapshot)
gives `full_read_because`, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from orgdrift.client import ManagementClient
from orgdrift.errors import IncrementalUnavailable, InsufficientScopeError
from orgdrift.fetch import Progress, complete, fetch_live, full_read_requests, read_organizations
from orgdrift.incremental import refresh, rereads
from orgdrift.logs import classify
from orgdrift.models import Basis, LiveState, OrgDecl, RawObject

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
    previous: LiveState, *, tool_version: str, tenant: str | None, unmanaged: bool
) -> str | None:
    """Why the snapshot cannot be the basis of an incremental check, before any request."""
    if previous.log_checkpoint is None:
        return "the snapshot has no log checkpoint"
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

    async def incremental(start: str) -> Incremental | str:
        """The incremental read, or why it cannot be trusted: the logs since the checkpoint,
        then the organizations they touched re-read and every part the declarations declare
        that the refreshed snapshot lacks read, all through the reads a full check uses."""
        full = full_read_requests(decls, previous, list_all=list_all)
        logs = await _read_logs(client, start, full)
        if isinstance(logs, str):
            return logs
        entries, pages = logs
        touched = classify(entries)
        decided = rereads(previous, touched, decls, list_all=list_all, log_requests=pages)
        if decided.full_read_because is not None:
            return decided.full_read_because
        checkpoint = touched.last_log_id or start
        bodies = await read_organizations(client, sorted(decided.reread))
        refreshed = refresh(previous, bodies, decided.stale, checkpoint=checkpoint)
        done = await complete(client, refreshed, decls, progress)
        if done.conflicts:
            return f"{done.conflicts[0]}, and no log entry says it changed"
        state = replace(done.state, tenant=tenant if tenant is not None else done.state.tenant)
        reread = tuple(sorted(decided.reread | set(done.read)))
        basis = Basis(
            previous.taken_at, start, touched.last_log_id, touched.entries, reread, done.looked_up
        )
        return Incremental(state, basis, Checkpoint(checkpoint))

    start, why = previous.log_checkpoint, problem
    if why is None:
        attempt = (
            "the snapshot has no log checkpoint" if start is None else await incremental(start)
        )
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


async def _read_logs(
    client: ManagementClient, start: str, full: int
) -> tuple[list[RawObject], int] | str:
    """The log entries after `start` and the pages read, or why they cannot serve: no
    `read:logs`, a checkpoint no longer retained, or more pages than a full read costs."""
    scopes = await client.granted_scopes()
    if scopes is not None and LOG_SCOPE not in scopes:
        return f"the token lacks {LOG_SCOPE}"
    entries: list[RawObject] = []
    pages = 0
    try:
        if not await client.log_retained(start):
            return f"the snapshot's log checkpoint {start} is no longer retained by the tenant"
        async for page in client.iter_log_pages(start):
            pages += 1
            entries.extend(page)
            if pages >= full:
                return (
                    f"the logs since the snapshot hold more than {len(entries)} entries: reading "
                    f"them would cost more requests than a full read ({full})"
                )
    except InsufficientScopeError:
        return f"the API refused {LOG_SCOPE} (403)"
    return entries, pages
