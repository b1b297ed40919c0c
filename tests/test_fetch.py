"""The fetch plans and the listing rules: "missing" is proven by a lookup, never inferred from a
listing or its `total`, whatever the listing says (issue 17, item 1).

A scripted in-memory reader stands for the client, so each plan's requests are counted exactly
and each paging lie is one parameter.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest

from orgdrift.errors import ProtocolError
from orgdrift.fetch import (
    PAGE,
    ReadMode,
    after_probe,
    complete,
    fetch_everything,
    fetch_live,
    full_read_requests,
    read_mode,
    read_organizations,
)
from orgdrift.models import (
    ClientGrantDecl,
    ConnectionDecl,
    LiveOrganization,
    LiveState,
    Location,
    OrgDecl,
    RawObject,
)


def org(i: int) -> RawObject:
    return {"id": f"org_{i:016d}", "name": f"org-{i:05d}"}


def decl(i: int, *, by_id: bool = False) -> OrgDecl:
    data = org(i)
    return OrgDecl(
        name=None if by_id else data["name"],
        id=data["id"] if by_id else None,
        fields={},
        connections=None,
        connections_policy="exact",
        location=Location("orgs.yaml", i + 1, 5),
    )


Pages = Callable[[int, list[RawObject]], list[RawObject]]


@dataclass
class Reader:
    """A tenant of `orgs` that answers as told: `total` as reported, pages possibly altered."""

    orgs: list[RawObject]
    total: Callable[[int], int] = lambda n: n
    offset_page: Pages = lambda page, items: items
    checkpoint_page: Pages = lambda page, items: items
    checkpoint_ends_after: int | None = None  # `next` disappears after this page
    calls: Counter[str] = field(default_factory=Counter)

    async def get_organization(self, org_id: str) -> RawObject | None:
        self.calls["by_id"] += 1
        return next((o for o in self.orgs if o["id"] == org_id), None)

    async def get_organization_by_name(self, name: str) -> RawObject | None:
        self.calls["by_name"] += 1
        return next((o for o in self.orgs if o["name"] == name), None)

    async def list_organizations(self) -> list[RawObject]:
        listed: list[RawObject] = []
        for page in range(len(self.orgs) // PAGE + 1):
            self.calls["checkpoint"] += 1
            listed.extend(self.checkpoint_page(page, self.orgs[page * PAGE : (page + 1) * PAGE]))
            if page == self.checkpoint_ends_after:
                break
        return listed

    async def organization_page(self, page: int, per_page: int) -> tuple[list[RawObject], int]:
        assert (page + 1) * per_page <= 1000, "offset paging past the 1,000-record window"
        self.calls["offset"] += 1
        items = self.orgs[page * per_page : (page + 1) * per_page]
        return self.offset_page(page, items), self.total(len(self.orgs))

    async def list_part(self, part: str, org_id: str) -> list[RawObject]:
        self.calls[part] += 1
        return {
            "connection_view": [{"connection_id": "con_1", "is_enabled": True}],
            "client_grants": [{"id": "cgr_1", "client_id": "cli_1", "audience": "a"}],
        }.get(part, [])

    async def granted_scopes(self) -> frozenset[str] | None:
        return None


def read(reader: Reader, decls: list[OrgDecl], *, list_all: bool = False) -> LiveState:
    return asyncio.run(fetch_live(reader, decls, list_all=list_all))


def names(state: LiveState) -> set[str]:
    return {o.name for o in state.organizations}


# --- read modes ----------------------------------------------------------------------------------


def test_first_read_mode() -> None:
    assert read_mode(2, list_all=False) == ReadMode("lookup", 2)
    assert read_mode(3, list_all=False) == ReadMode("probe", 1)
    assert read_mode(1, list_all=True) == ReadMode("list", 0)


@pytest.mark.parametrize(
    ("total", "unresolved", "expected"),
    [
        (250, 150, ReadMode("list", 2)),  # pages 1 and 2; page 2 is short
        (300, 200, ReadMode("list", 3)),  # pages 1 to 3: page 3 shows the end
        (300, 2, ReadMode("lookup", 2)),
        (0, 50, ReadMode("list", 1)),  # page 0 was full: `total: 0` is a stale estimate
        (1000, 9900, ReadMode("list", 11)),  # may go past the window: checkpoint from the start
        (1500, 1400, ReadMode("list", 16)),
        (5000, 10, ReadMode("lookup", 10)),
        (300, 0, ReadMode("list", 0)),
    ],
)
def test_after_probe(total: int, unresolved: int, expected: ReadMode) -> None:
    assert after_probe(total, unresolved) == expected


# --- normal tenants cost what they did ----------------------------------------------------------


def test_300_declared_of_300_costs_four_pages_and_no_lookup() -> None:
    reader = Reader([org(i) for i in range(300)])
    state = read(reader, [decl(i) for i in range(300)])
    assert len(state.organizations) == 300 and state.complete
    assert reader.calls == Counter(offset=4)


def test_a_truly_missing_organization_costs_one_lookup() -> None:
    reader = Reader([org(i) for i in range(250) if i != 7])
    state = read(reader, [decl(i) for i in range(250)])
    assert "org-00007" not in names(state) and len(state.organizations) == 249
    assert state.complete
    assert reader.calls == Counter(offset=3, by_name=1)


def test_a_short_page_0_is_the_whole_listing() -> None:
    reader = Reader([org(i) for i in range(40)])
    state = read(reader, [decl(i) for i in range(40)])
    assert len(state.organizations) == 40 and state.complete
    assert reader.calls == Counter(offset=1)


# --- paging lies --------------------------------------------------------------------------------


def test_total_capped_at_the_window_with_10000_organizations() -> None:
    """The issue's largest case: 9,000 false "missing" findings before. Now: none, by checkpoint."""
    reader = Reader([org(i) for i in range(10_000)], total=lambda n: min(n, 1000))
    state = read(reader, [decl(i) for i in range(10_000)])
    assert len(state.organizations) == 10_000 and state.complete
    assert reader.calls == Counter(offset=1, checkpoint=101)


@pytest.mark.parametrize("reported", [0, 50, 150])
def test_a_total_smaller_than_the_listing_never_ends_it(reported: int) -> None:
    reader = Reader([org(i) for i in range(350)], total=lambda n: reported)
    state = read(reader, [decl(i) for i in range(350)])
    assert len(state.organizations) == 350 and state.complete
    assert reader.calls["by_name"] == 0


def test_a_total_far_too_small_past_the_window_switches_to_checkpoint() -> None:
    reader = Reader([org(i) for i in range(1200)], total=lambda n: 300)
    state = read(reader, [decl(i) for i in range(1200)])
    assert len(state.organizations) == 1200 and state.complete
    assert reader.calls["offset"] == 10 and reader.calls["checkpoint"] == 13


def test_items_dropped_from_page_0_are_found_by_lookup() -> None:
    reader = Reader([org(i) for i in range(100)], offset_page=lambda p, items: items[:70])
    state = read(reader, [decl(i) for i in range(100)])
    assert len(state.organizations) == 100
    assert not state.complete  # the listing was shown not to be whole
    assert reader.calls["by_name"] == 30


def test_items_dropped_from_a_middle_page_is_exit_3() -> None:
    reader = Reader(
        [org(i) for i in range(350)], offset_page=lambda p, items: items[:90] if p == 1 else items
    )
    with pytest.raises(ProtocolError, match="offset page 1 is short but a later page is not empty"):
        read(reader, [decl(i) for i in range(350)])


@pytest.mark.parametrize("repeat", ["page", "item"])
def test_repeated_pages_or_items_are_exit_3(repeat: str) -> None:
    def lie(page: int, items: list[RawObject]) -> list[RawObject]:
        if page == 2:
            return [org(i) for i in range(100, 200)] if repeat == "page" else [org(150), *items[1:]]
        return items

    reader = Reader([org(i) for i in range(350)], offset_page=lie)
    with pytest.raises(ProtocolError, match="listed twice"):
        read(reader, [decl(i) for i in range(350)])


def test_checkpoint_next_disappearing_early_is_caught_by_lookup() -> None:
    reader = Reader([org(i) for i in range(250)], checkpoint_ends_after=0)
    with pytest.raises(ProtocolError, match="left out org-00100"):
        read(reader, [decl(i) for i in range(250)], list_all=True)


def test_checkpoint_next_disappearing_early_with_lookups_only_gives_the_truth() -> None:
    reader = Reader([org(i) for i in range(2000)], total=lambda n: 1000, checkpoint_ends_after=3)
    state = read(reader, [decl(i) for i in range(2000)])
    assert len(state.organizations) == 2000 and not state.complete
    assert reader.calls["by_name"] == 1600


def test_declared_by_id_missing_from_a_listing_is_looked_up_by_id() -> None:
    reader = Reader(
        [org(i) for i in range(150)], offset_page=lambda p, items: items[:-1] if p == 1 else items
    )
    state = read(reader, [decl(i, by_id=True) for i in range(150)])
    assert len(state.organizations) == 150
    assert reader.calls["by_id"] == 1


def test_export_of_named_organizations_uses_lookups() -> None:
    reader = Reader([org(i) for i in range(5)])
    state, left_out = asyncio.run(fetch_everything(reader, ["org-00001", org(2)["id"]]))
    assert left_out == ()
    assert names(state) == {"org-00001", "org-00002"}
    assert reader.calls == Counter(by_name=1, by_id=1, connections=2)


# --- the same plan for a state read before (check --since) --------------------------------------

HERE = Location("orgs.yaml", 1, 1)


def whole(i: int, *, by_id: bool = False) -> OrgDecl:
    """`decl(i)` declaring Early Access connection fields and client grants."""
    conn = ConnectionDecl("c", None, {}, HERE, view_fields={"organization_access_level": "none"})
    return replace(
        decl(i, by_id=by_id),
        connections=(conn,),
        client_grants=(ClientGrantDecl("cli_1", "a", None, HERE),),
    )


def test_complete_reads_only_what_each_declaration_declares_and_the_state_lacks() -> None:
    reader = Reader([org(i) for i in range(6)])
    view = ({"connection_id": "con_1", "is_enabled": True},)
    state = LiveState(
        (
            LiveOrganization(org(0), None, connection_view=view, client_grants=()),  # whole
            LiveOrganization(org(1), None, connection_view=view),  # its grants went stale
            LiveOrganization(org(2), None),  # re-read: no part left
            LiveOrganization(org(5), None),  # not declared: nothing read
        )
    )
    done = asyncio.run(
        complete(reader, state, [whole(0), whole(1), whole(2), whole(3, by_id=True), whole(4)])
    )
    # org 3 and 4 are looked up (by id, by name) and read whole; org 1 its grants; org 2 all.
    assert reader.calls == Counter(by_id=1, by_name=1, connection_view=3, client_grants=4)
    assert done.read == (org(1)["id"], org(2)["id"], org(3)["id"], org(4)["id"])
    assert (done.looked_up, done.conflicts) == (2, ())
    parts = {
        o.id: (o.connection_view is not None, o.client_grants is not None)
        for o in done.state.organizations
    }
    assert parts == {
        org(0)["id"]: (True, True),
        org(1)["id"]: (True, True),
        org(2)["id"]: (True, True),
        org(3)["id"]: (True, True),
        org(4)["id"]: (True, True),
        org(5)["id"]: (False, False),
    }


def test_complete_says_when_a_lookup_contradicts_the_state() -> None:
    """A declaration by name the state lacks, found under an id the state has by another name:
    renamed without a log entry saying so."""
    renamed = {**org(1), "name": org(0)["name"]}
    reader = Reader([renamed])
    state = LiveState((LiveOrganization(org(1), (), client_grants=()),))
    done = asyncio.run(complete(reader, state, [decl(0)]))
    said = (
        f"organization {org(1)['id']} is in the state as {org(1)['name']!r} but the tenant "
        f"names it {org(0)['name']!r}"
    )
    assert done.conflicts == (said,)


def test_read_organizations_says_which_are_gone() -> None:
    reader = Reader([org(0)])
    found = asyncio.run(read_organizations(reader, [org(0)["id"], org(9)["id"]]))
    assert found == {org(0)["id"]: org(0), org(9)["id"]: None}


def test_the_full_read_costs_the_organizations_and_every_declared_part() -> None:
    state = LiveState(tuple(LiveOrganization(org(i), None) for i in range(250)))
    decls = [whole(i) for i in range(200)]
    # 3 listing pages (fewer than 200 lookups), then 2 parts for each declaration
    assert full_read_requests(decls, state, list_all=False) == 3 + 2 * 200
    assert full_read_requests(decls[:2], state, list_all=False) == 2 + 2 * 2  # 2 lookups
    assert full_read_requests(decls[:2], state, list_all=True) == 3 + 2 * 2
    big = LiveState((LiveOrganization(org(0), None, client_grants=tuple({} for _ in range(250))),))
    assert full_read_requests([whole(0)], big, list_all=False) == 1 + 1 + 3  # 3 pages of grants


def test_two_declarations_of_one_organization_get_every_part_either_declares() -> None:
    """One declared by id, the other by the name the organization was renamed to: each is
    compared with its own parts, so both are read (found by the differential property test:
    the full check exited 3 saying the snapshot lacked the Early Access view)."""
    reader = Reader([org(0)])
    by_id = replace(whole(0, by_id=True), connections=None)  # client grants only
    by_name = replace(whole(0), client_grants=None)  # the Early Access view only
    state = asyncio.run(fetch_live(reader, [by_id, by_name], list_all=False))
    (live,) = state.organizations
    assert (live.connection_view is not None, live.client_grants is not None) == (True, True)
    assert (reader.calls["connection_view"], reader.calls["client_grants"]) == (1, 1)
    again = asyncio.run(
        complete(
            reader,
            replace(
                state, organizations=(replace(live, connection_view=None, client_grants=None),)
            ),
            [by_id, by_name],
        )
    )
    assert again.state.organizations[0].connection_view is not None
    assert again.state.organizations[0].client_grants is not None
