"""incremental: what an audit re-reads after the logs since its snapshot, and the state after."""

from __future__ import annotations

from typing import Any

from orgdrift.incremental import Plan, combine, connection_index, plan
from orgdrift.logs import Touched
from orgdrift.models import LiveOrganization, LiveState


def org(oid: str, name: str, *conns: str) -> LiveOrganization:
    items: tuple[dict[str, Any], ...] = tuple(
        {"connection_id": c, "connection": {"name": c.removeprefix("con_")}} for c in conns
    )
    return LiveOrganization({"id": oid, "name": name}, items)


SNAPSHOT = LiveState(
    organizations=(
        org("org_a", "a", "con_saml", "con_google"),
        org("org_b", "b", "con_google"),
        org("org_c", "c"),
    ),
    tenant="t.eu.auth0.com",
    taken_at="2026-11-28T00:00:00Z",
    complete=True,
    log_checkpoint="900",
)


def test_connection_index() -> None:
    assert connection_index(SNAPSHOT) == {
        "con_saml": frozenset({"org_a"}),
        "con_google": frozenset({"org_a", "org_b"}),
    }


def test_nothing_changed_rereads_nothing() -> None:
    assert plan(SNAPSHOT, Touched(), declared=3) == Plan(frozenset())


def test_touched_organizations_and_the_organizations_that_had_a_touched_connection() -> None:
    touched = Touched(
        organizations=frozenset({"org_c", "org_new"}), connections=frozenset({"con_google"})
    )
    assert plan(SNAPSHOT, touched, declared=300).reread == {"org_a", "org_b", "org_c", "org_new"}


def test_a_connection_nobody_had_rereads_nothing() -> None:
    assert (
        plan(SNAPSHOT, Touched(connections=frozenset({"con_other"})), declared=3).reread
        == frozenset()
    )


def test_unattributable_entries_mean_a_full_read() -> None:
    touched = Touched(unattributable=("log 901 (d): POST /x/organization", "log 902 (d): y"))
    result = plan(SNAPSHOT, touched, declared=3)
    assert result.full
    assert result.full_read_because == (
        "a log entry could not be attributed: log 901 (d): POST /x/organization (and 1 more)"
    )


def test_tenant_wide_client_grant_writes_matter_only_when_grants_are_declared() -> None:
    touched = Touched(client_grants=frozenset({"cgr_1"}))
    assert not plan(SNAPSHOT, touched, declared=3).full
    assert plan(SNAPSHOT, touched, declared=3, client_grants_declared=True).full


def test_more_rereads_than_a_full_read_costs_mean_a_full_read() -> None:
    many = Touched(organizations=frozenset({"org_a", "org_b", "org_c"}))
    result = plan(SNAPSHOT, many, declared=3)  # 6 requests against 1 page + 3 = 4
    assert result.full_read_because == (
        "re-reading 3 organizations (6 requests) would cost more than a full read (4)"
    )


def test_combine_replaces_adds_and_removes() -> None:
    reread = {
        "org_a": org("org_a", "a-renamed", "con_saml"),
        "org_b": None,  # deleted
        "org_new": org("org_new", "n"),
    }
    state = combine(SNAPSHOT, reread, taken_at="2026-11-29T00:00:00Z", checkpoint="950")
    assert [(o.id, o.name) for o in state.organizations] == [
        ("org_a", "a-renamed"),
        ("org_c", "c"),
        ("org_new", "n"),
    ]
    assert state.organizations[0].connections == org("org_a", "x", "con_saml").connections
    assert (state.tenant, state.taken_at, state.complete, state.log_checkpoint) == (
        "t.eu.auth0.com",
        "2026-11-29T00:00:00Z",
        True,
        "950",
    )
