"""Read the live state a spec needs, with the fewest requests.

Organizations come either from listing (one request per 100) or from lookups by id or name (one
request each), whichever costs fewer requests for the spec at hand; the listing is always used
when unmanaged organizations are checked. Each declared organization whose connections are
managed then costs one request per 100 enabled connections. The rest of the organization model
is read only where declared: the Early Access connections instead of the enabled ones when a
connection declares one of their fields, one request per 100 client grants, one per 100
discovery domains (checkpoint pages). All requests go through the client, which bounds
concurrency and paces them to the tenant's rate limits.

"Missing" is proven, never inferred: a listing is read until a short or empty page (`total` is
only an estimate: Auth0 has answered `total: 0` beside two organizations, and may cap it at the
1,000-record window), checked for consistency, and every declared organization it lacks is looked
up directly; only the API's own JSON 404 makes it missing.

An incremental check reads through the same functions (`read_organizations`, `complete`);
`full_read_requests` and `part_requests` price both sides of its choice.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import quote

from orgdrift.check import match
from orgdrift.errors import (
    ApiError,
    FeatureUnavailableError,
    InsufficientScopeError,
    OrgdriftError,
    ProtocolError,
    UsageError,
)
from orgdrift.models import LiveOrganization, LiveState, OrgDecl, RawObject
from orgdrift.sansio import PAGE, part_unavailable

T = TypeVar("T")

Progress = Callable[[int, int], None]
"""Called with (organizations done, organizations to do)."""


class OrganizationReader(Protocol):
    async def get_organization(self, org_id: str) -> RawObject | None: ...
    async def get_organization_by_name(self, name: str) -> RawObject | None: ...
    async def list_organizations(self) -> list[RawObject]: ...
    async def organization_page(self, page: int, per_page: int) -> tuple[list[RawObject], int]: ...
    async def list_part(self, part: str, org_id: str) -> list[RawObject]: ...
    async def granted_scopes(self) -> frozenset[str] | None: ...


@dataclass(frozen=True, slots=True)
class ReadMode:
    """How the organizations will be read, and what it costs in requests (before connections)."""

    how: Literal["list", "lookup", "probe"]
    requests: int


def read_mode(declared: int, *, list_all: bool) -> ReadMode:
    """The first decision, before the tenant's size is known."""
    if list_all:
        return ReadMode("list", 0)
    if declared <= 2:  # a probe plus a listing page never costs less than two lookups
        return ReadMode("lookup", declared)
    return ReadMode("probe", 1)


WINDOW = 1000
"""Offset paging serves records 0 to 999 only (400 invalid_paging past them)."""


def after_probe(total: int, unresolved: int) -> ReadMode:
    """After a full page 0 (100 organizations and a `total` that is only an estimate): list the
    rest, or look the rest up. Offset pages run to the first short or empty one, so a tenant of
    exactly N x 100 costs one page more; past the window the listing starts again by checkpoint."""
    estimate = max(total, PAGE)
    if estimate + PAGE < WINDOW:
        rest = math.ceil((estimate + 1) / PAGE) - 1  # offset pages 1.. up to a short one
    else:
        rest = math.ceil((estimate + 1) / PAGE)  # checkpoint, from the start
    if unresolved == 0:
        return ReadMode("list", 0)
    return ReadMode("list", rest) if rest < unresolved else ReadMode("lookup", unresolved)


async def fetch_live(
    reader: OrganizationReader,
    decls: Sequence[OrgDecl],
    *,
    list_all: bool,
    tenant: str | None = None,
    progress: Progress | None = None,
) -> LiveState:
    """The live organizations the declarations name (all of them when listing), with the
    enabled connections of each declared organization whose connections the spec manages."""
    listed, found = await _organizations(reader, decls, list_all=list_all)
    parts = await _read_parts(reader, [(org, _parts(d)) for d, org in found], progress)
    orgs: dict[str, LiveOrganization] = {}
    for org in listed if listed is not None else [org for _, org in found]:
        orgs[str(org["id"])] = _live(org, parts.get(str(org["id"]), {}))
    return LiveState(tuple(orgs.values()), tenant=tenant, complete=listed is not None)


async def read_organizations(
    reader: OrganizationReader, ids: Sequence[str]
) -> dict[str, RawObject | None]:
    """The organizations by id, each None when the API answers its JSON 404 (gone)."""
    found = await _gather([reader.get_organization(org_id) for org_id in ids])
    return dict(zip(ids, found, strict=True))


@dataclass(frozen=True, slots=True)
class Completed:
    """A state `complete` filled in, and what it read."""

    state: LiveState
    read: tuple[str, ...]  # organizations whose parts were read, by id
    looked_up: int  # declarations the state had no organization for, looked up
    conflicts: tuple[str, ...]  # lookups that contradict the state, said in a sentence


async def complete(
    reader: OrganizationReader,
    state: LiveState,
    decls: Sequence[OrgDecl],
    progress: Progress | None = None,
) -> Completed:
    """`state` with every part each declaration declares that its organization lacks read; the
    declarations `state` has no organization for looked up and read with their parts. A lookup
    that finds an organization `state` has under another name is a conflict, not a change."""
    pairs = match(decls, state.organizations, lambda o: (o.id, o.name))
    absent = [d for d, org in pairs if org is None]
    found = await _lookups(reader, absent)
    orgs = {org.id: org for org in state.organizations}
    conflicts = tuple(
        f"organization {org['id']} is in the state as {orgs[str(org['id'])].name!r} but the "
        f"tenant names it {org.get('name')!r}"
        for _, org in found
        if str(org["id"]) in orgs
    )
    # The parts each declaration declares that its organization was not read with.
    jobs = [
        (org.data, frozenset(n for n in _parts(d) if getattr(org, n) is None))
        for d, org in pairs
        if org is not None
    ]
    jobs += [(org, _parts(d)) for d, org in found]
    read = await _read_parts(reader, jobs, progress)
    for _, org in found:
        orgs.setdefault(str(org["id"]), LiveOrganization(org, None))
    for org_id, parts in read.items():
        orgs[org_id] = replace(orgs[org_id], **parts)
    filled = replace(state, organizations=tuple(orgs.values()))
    return Completed(filled, tuple(sorted(read)), len(absent), conflicts)


def part_requests(decl: OrgDecl, org: LiveOrganization | None = None) -> int:
    """The requests reading every part `decl` declares costs: one per 100 items of each (as
    many as `org` had, when known; one page otherwise)."""
    return sum(max(1, math.ceil(len(getattr(org, n, None) or ()) / PAGE)) for n in _parts(decl))


def completion_requests(decl: OrgDecl, org: LiveOrganization, before: LiveOrganization) -> int:
    """The requests `complete` makes for the parts `decl` declares that `org` lacks (one per
    100 items of each, as many as `before` had)."""
    lacking = frozenset(n for n in _parts(decl) if getattr(org, n) is None)
    return sum(max(1, math.ceil(len(getattr(before, n) or ()) / PAGE)) for n in lacking)


def full_read_requests(decls: Sequence[OrgDecl], state: LiveState, *, list_all: bool) -> int:
    """What a full read of `decls` costs, estimated from `state` (an earlier read of the same
    tenant): the organizations (listing, or looking up when that costs less and the unmanaged
    ones are not needed), then every declared part."""
    listing = math.ceil(max(len(state.organizations), len(decls), 1) / PAGE)
    organizations = listing if list_all else min(listing, len(decls))
    pairs = match(decls, state.organizations, lambda o: (o.id, o.name))
    return organizations + sum(part_requests(d, org) for d, org in pairs)


async def fetch_everything(
    reader: OrganizationReader,
    names: Sequence[str],
    *,
    tenant: str | None = None,
    progress: Progress | None = None,
    extras: Extras | None = None,
) -> tuple[LiveState, tuple[LeftOut, ...]]:
    """Every organization (or those named, by name or id) with its enabled connections, and
    the parts of the organization model `extras` asks for (none by default); and the parts left
    out because the token or the tenant does not allow them, each with why (`if_available`)."""
    extras = extras or Extras()
    if names:
        found = await _gather(
            [_lookup(reader, n if n.startswith("org_") else None, n) for n in names]
        )
        missing = [n for n, org in zip(names, found, strict=True) if org is None]
        if missing:
            raise UsageError(f"no such organization in the tenant: {', '.join(missing)}")
        orgs = [org for org in found if org is not None]
    else:
        orgs = await _list_checkpoint(reader)
    wanted = extras.parts
    left_out: tuple[LeftOut, ...] = ()
    if extras.if_available and orgs:
        wanted, left_out = await _available(reader, str(orgs[0]["id"]), wanted)
    parts = await _read_parts(reader, [(org, wanted) for org in orgs], progress)
    state = [_live(org, parts[str(org["id"])]) for org in orgs]
    return LiveState(tuple(state), tenant=tenant, complete=not names), left_out


async def _lookup(
    reader: OrganizationReader, org_id: str | None, name: str | None
) -> RawObject | None:
    if org_id is not None:
        return await reader.get_organization(org_id)
    return await reader.get_organization_by_name(str(name))


async def _organizations(
    reader: OrganizationReader, decls: Sequence[OrgDecl], *, list_all: bool
) -> tuple[list[RawObject] | None, list[tuple[OrgDecl, RawObject]]]:
    """(every organization when the listing is proven whole, else None; the declarations found
    with their organization). Declarations a listing lacks are looked up before being missing."""
    first = read_mode(len(decls), list_all=list_all)
    if first.how == "lookup":
        return None, await _lookups(reader, decls)
    if first.how == "list":
        listed: list[RawObject] | None = await _list_checkpoint(reader)
        seen = listed or []
    else:
        listed, seen = await _probe_and_list(reader, decls)
    hits, unresolved = _match(decls, seen)
    confirmed = await _lookups(reader, unresolved)
    if listed is not None and confirmed:  # the listing was not whole after all
        if list_all:
            org = confirmed[0][1]
            raise ProtocolError(
                f"the organization listing left out {org['name']} ({org['id']}), which a lookup "
                "finds, so it cannot show which organizations are not declared"
            )
        listed = None
    return listed, hits + confirmed


async def _probe_and_list(
    reader: OrganizationReader, decls: Sequence[OrgDecl]
) -> tuple[list[RawObject] | None, list[RawObject]]:
    """Page 0, then the rest of the listing when that costs less than looking the rest up:
    (the listing when read to its end, else None; the organizations seen)."""
    page0, total = await reader.organization_page(0, PAGE)
    if len(page0) < PAGE:
        return page0, page0  # a short page 0 is the whole listing
    second = after_probe(total, len(_match(decls, page0)[1]))
    if second.how == "lookup" or second.requests == 0:
        return None, page0
    if max(total, PAGE) + PAGE < WINDOW:
        seen, whole = await _list_offset(reader, page0, second.requests)
        if whole:
            return seen, seen
        # Every page of the window was full: the listing goes on past it.
        if len(_match(decls, seen)[1]) <= PAGE // 10:
            return None, seen  # look the few left up rather than list again
    listed = await _list_checkpoint(reader)
    return listed, listed


def _match(
    decls: Sequence[OrgDecl], orgs: Sequence[RawObject]
) -> tuple[list[tuple[OrgDecl, RawObject]], list[OrgDecl]]:
    """(the declarations found among listed `orgs`, with theirs; those not found)."""
    pairs = match(decls, orgs, lambda o: (o.get("id"), o.get("name")))
    return [(d, o) for d, o in pairs if o is not None], [d for d, o in pairs if o is None]


async def _list_checkpoint(reader: OrganizationReader) -> list[RawObject]:
    listed = await reader.list_organizations()
    _check_unique(listed)
    return listed


async def _list_offset(
    reader: OrganizationReader, page0: list[RawObject], pages: int
) -> tuple[list[RawObject], bool]:
    """Offset pages 1..`pages` at once, then one at a time until a short or empty page:
    (organizations, whether a short page ended them; False when the window ran out first)."""
    last = WINDOW // PAGE - 1
    numbers = range(1, min(pages, last) + 1)
    found = await _gather([reader.organization_page(p, PAGE) for p in numbers])
    results = [items for items, _ in found]
    while len(results[-1]) == PAGE and len(results) < last:
        results.append((await reader.organization_page(len(results) + 1, PAGE))[0])
    for number, items in enumerate(results[:-1], start=1):
        if len(items) < PAGE:
            raise ProtocolError(f"offset page {number} is short but a later page is not empty")
    listed = page0 + [org for items in results for org in items]
    _check_unique(listed)
    return listed, len(results[-1]) < PAGE


def _check_unique(orgs: Sequence[RawObject]) -> None:
    """Ids and names are unique in a tenant; a listing that repeats one is not consistent."""
    for key in ("id", "name"):
        seen: set[str] = set()
        for org in orgs:
            value = str(org.get(key))
            if value in seen:
                raise ProtocolError(f"organization {key} {value} was listed twice")
            seen.add(value)


async def _lookups(
    reader: OrganizationReader, decls: Sequence[OrgDecl]
) -> list[tuple[OrgDecl, RawObject]]:
    results = await _gather([_lookup(reader, d.id, d.name) for d in decls])
    return [(d, org) for d, org in zip(decls, results, strict=True) if org is not None]


# --- the rest of the organization model: connections (Early Access), grants, domains --------

CLIENT_GRANTS_SCOPE = "read:organization_client_grants"
DISCOVERY_DOMAINS_SCOPE = "read:organization_discovery_domains"


@dataclass(frozen=True, slots=True)
class Extras:
    """What `fetch_everything` reads beyond organizations and enabled connections (export).
    With `if_available`, a part the token's scopes or the tenant do not allow is left out, and
    why is said, instead of ending the read."""

    connection_view: bool = False  # connections through the Early Access endpoint
    client_grants: bool = False
    discovery_domains: bool = False
    if_available: bool = False

    @property
    def parts(self) -> _Parts:
        """The parts to read of each organization: those asked for (named alike), and the
        enabled connections unless the Early Access view replaces them."""
        asked = {part for part in _PARTS if getattr(self, part)}
        return frozenset(asked if self.connection_view else {*asked, "connections"})


def extra_scopes(decls: Sequence[OrgDecl]) -> tuple[str, ...]:
    """The scopes the declarations need beyond read:organizations and
    read:organization_connections (which the Early Access connections endpoint needs too)."""
    grants = any(d.client_grants is not None for d in decls)
    return _scopes(grants, any(d.discovery_domains is not None for d in decls))


def extras_scopes(extras: Extras) -> tuple[str, ...]:
    """The scopes `extras` needs beyond the usual two (none when read only if available)."""
    return () if extras.if_available else _scopes(extras.client_grants, extras.discovery_domains)


def _scopes(grants: bool, domains: bool) -> tuple[str, ...]:
    wanted = ((CLIENT_GRANTS_SCOPE, grants), (DISCOVERY_DOMAINS_SCOPE, domains))
    return tuple(scope for scope, yes in wanted if yes)


_PART_NAMES = ("connections", "connection_view", "client_grants", "discovery_domains")
_Parts = frozenset[str]  # the parts to read of one organization, named as in LiveOrganization
_Read = dict[str, Any]  # what was read of one organization: each part read, its items


def _parts(decl: OrgDecl) -> _Parts:
    """What `decl` needs read: only what it declares."""
    parts = {
        ("connection_view" if decl.needs_connection_view else "connections"): decl.connections,
        "client_grants": decl.client_grants,
        "discovery_domains": decl.discovery_domains,
    }
    return frozenset(part for part, declared in parts.items() if declared is not None)


def _live(org: RawObject, read: _Read) -> LiveOrganization:
    return replace(LiveOrganization(org, None), **read)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A part of the organization model `export` could not read, and why."""

    option: str  # its `--without` name
    label: str
    why: str
    remedy: str  # what would let it be read

    def __str__(self) -> str:
        return f"{self.label}: {self.why}"


_PARTS: dict[str, tuple[str, str, str | None]] = {  # part: option, label, scope
    "connection_view": ("connection-access", "the Early Access connection fields", None),
    "client_grants": ("client-grants", "client grants", CLIENT_GRANTS_SCOPE),
    "discovery_domains": ("discovery-domains", "discovery domains", DISCOVERY_DOMAINS_SCOPE),
}


async def _available(
    reader: OrganizationReader, org_id: str, wanted: _Parts
) -> tuple[_Parts, tuple[LeftOut, ...]]:
    """`wanted` without the parts the token or the tenant does not allow, and why each was left
    out. A part whose scope the token's known scopes lack costs no request; every other part is
    read for one organization first (one request more per part), since a tenant may not offer
    it at all (`feature_not_enabled`, or a 404 for the route)."""
    granted = await reader.granted_scopes()
    left_out: list[LeftOut] = []
    for part, (option, label, scope) in _PARTS.items():
        if part not in wanted:
            continue
        enable = "enable the feature for the tenant"
        why: tuple[str, str] | None = None  # why it is left out, what would let it be read
        if scope is not None and granted is not None and scope not in granted:
            why = f"the token lacks {scope}", f"grant {scope}"
        else:
            try:
                await reader.list_part(part, org_id)
            except FeatureUnavailableError as exc:
                route = f"{exc.method} /organizations/{{id}}/connections"
                why = f"the tenant does not offer the Early Access {route}", enable
            except InsufficientScopeError:
                if scope is None:
                    raise  # read:organization_connections, a base scope: no export at all
                why = f"the token lacks {scope} (HTTP 403)", f"grant {scope}"
            except ApiError as exc:
                if not part_unavailable(exc):
                    raise
                route = exc.path.partition("?")[0].replace(quote(org_id, safe=""), "{id}")
                code = f"HTTP {exc.status}" + (f" {exc.error_code}" if exc.error_code else "")
                why = f"the tenant does not offer them ({exc.method} {route}: {code})", enable
        if why is not None:
            # Without the Early Access view, connections come from enabled_connections.
            wanted = wanted - {part} | ({"connections"} if part == "connection_view" else set())
            left_out.append(LeftOut(option, label, *why))
    return wanted, tuple(left_out)


async def _read_parts(
    reader: OrganizationReader, jobs: Sequence[tuple[RawObject, _Parts]], progress: Progress | None
) -> dict[str, _Read]:
    """The parts each organization needs, all concurrently (one that needs none is not read).
    The requests queue organization by organization (its connections, grants, domains, then the
    next one's), so an endpoint with a lower limit of its own does not hold the others back
    behind all of its requests."""
    jobs = _united([job for job in jobs if job[1]])
    done = 0
    total = len(jobs)
    if progress:
        progress(0, total)

    async def one(org: RawObject, parts: _Parts) -> _Read:
        nonlocal done
        names = [name for name in _PART_NAMES if name in parts]
        reads = [reader.list_part(name, str(org["id"])) for name in names]
        results = [await reads[0]] if len(reads) == 1 else await _gather(reads)
        done += 1
        if progress:
            progress(done, total)
        return dict(zip(names, map(tuple, results), strict=True))

    results = await _gather([one(org, parts) for org, parts in jobs])
    return {str(org["id"]): read for (org, _), read in zip(jobs, results, strict=True)}


def _united(jobs: Sequence[tuple[RawObject, _Parts]]) -> list[tuple[RawObject, _Parts]]:
    """One job per organization, with every part any of its jobs wants: two declarations may
    match one organization (one by id, the other by the name it was renamed to), and each is
    compared with the parts it declares."""
    united: dict[str, tuple[RawObject, _Parts]] = {}
    for org, parts in jobs:
        first, wanted = united.get(str(org["id"]), (org, frozenset()))
        united[str(org["id"])] = (first, wanted | parts)
    return list(united.values())


async def _gather(coros: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run all concurrently; on the first failure cancel the rest and raise that failure."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as group_error:
        raise _first(group_error) from None
    return [t.result() for t in tasks]


def _first(group_error: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from a failed group: an interrupt first, then our own typed errors."""
    leaves = list(_leaves(group_error))
    wanted = (
        e for kind in (KeyboardInterrupt, OrgdriftError) for e in leaves if isinstance(e, kind)
    )
    return next(wanted, leaves[0])


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
