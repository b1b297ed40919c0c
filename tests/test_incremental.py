"""incremental: which organizations an audit re-reads after the logs since its snapshot, which
parts of the others the snapshot can no longer answer for, what that costs against a full
read (every part counted), and the refreshed state."""

from __future__ import annotations

from typing import Any

from orgdrift.incremental import Rereads, holders, refresh, rereads
from orgdrift.logs import Touched, Unattributable
from orgdrift.models import (
    ClientGrantDecl,
    ConnectionDecl,
    DiscoveryDomainDecl,
    LiveOrganization,
    LiveState,
    Location,
    OrgDecl,
)

HERE = Location("orgs.yaml", 1, 1)


def org(
    oid: str, name: str, *conns: str, view: bool = False, grants: tuple[str, ...] = ()
) -> LiveOrganization:
    items: tuple[dict[str, Any], ...] = tuple(
        {"connection_id": c, "connection": {"name": c.removeprefix("con_")}} for c in conns
    )
    return LiveOrganization(
        {"id": oid, "name": name},
        None if view else items,
        connection_view=items if view else None,
        client_grants=tuple({"id": g, "client_id": f"cli_{g}", "audience": "a"} for g in grants),
        discovery_domains=(),
    )


def decl(name: str, *, whole: bool = True, view: bool = False) -> OrgDecl:
    """A declaration of every part (`whole`), or of connections only; `view`: a connection
    field only the Early Access endpoint shows, so its connections are read there."""
    fields = {"organization_access_level": "readonly"} if view else {}
    return OrgDecl(
        name=name,
        id=None,
        fields={},
        connections=(ConnectionDecl("saml", None, {}, HERE, view_fields=fields),),
        connections_policy="exact",
        location=HERE,
        client_grants=(ClientGrantDecl("cli_x", "a", None, HERE),) if whole else None,
        discovery_domains=(DiscoveryDomainDecl("a.com", None, None, HERE),) if whole else None,
    )


SNAPSHOT = LiveState(
    organizations=(
        org("org_a", "a", "con_saml", "con_google", grants=("cgr_1",)),
        org("org_b", "b", "con_google", view=True, grants=("cgr_1", "cgr_2")),
        org("org_c", "c"),
    ),
    tenant="t.eu.auth0.com",
    taken_at="2026-11-28T00:00:00Z",
    complete=True,
    log_checkpoint="900",
)
DECLS = [decl("a"), decl("b", view=True), decl("c")]  # as each organization was read


def test_tenant_wide_writes_are_traced_to_every_organization_that_had_them_however_read() -> None:
    touched = Touched(
        connections=frozenset({"con_google"}),
        client_grants=frozenset({"cgr_2"}),
        clients=frozenset({"cli_cgr_1"}),
    )
    assert holders(SNAPSHOT, touched) == {
        "org_a": {"connections", "client_grants"},  # enabled_connections; a deleted app's grant
        "org_b": {"connections", "client_grants"},  # the Early Access view; the changed grant
    }


def test_nothing_changed_rereads_nothing() -> None:
    assert rereads(SNAPSHOT, Touched(), DECLS, list_all=True) == Rereads()


def test_organizations_written_are_reread_and_parts_written_go_stale() -> None:
    touched = Touched(
        organizations=frozenset({"org_c", "org_new"}),
        parts={"org_a": frozenset({"discovery_domains"}), "org_c": frozenset({"connections"})},
        connections=frozenset({"con_google"}),
    )
    result = rereads(SNAPSHOT, touched, DECLS, list_all=True)
    assert result.reread == {"org_c", "org_new"}
    # org_c is re-read whole: its stale parts are not listed again.
    assert result.stale == {
        "org_a": {"discovery_domains", "connections"},
        "org_b": {"connections"},
    }
    # org_c: 1 + 3 parts; org_new: 1 + the most a declaration declares (3); org_a: 2 parts;
    # org_b: 1 part.
    assert result.requests == 4 + 4 + 2 + 1
    # A full read costs 10: 1 listing page + 3 x 3 parts.
    assert result.full_read_because is not None


def test_a_connection_nobody_had_rereads_nothing() -> None:
    assert (
        rereads(SNAPSHOT, Touched(connections=frozenset({"con_other"})), DECLS, list_all=True)
        == Rereads()
    )


def test_unattributable_entries_mean_a_full_read_when_they_could_touch_a_declared_part() -> None:
    anything = Touched(
        unattributable=(
            Unattributable("log 901 (d): POST /x/organization"),
            Unattributable("log 902 (d): y"),
        )
    )
    result = rereads(SNAPSHOT, anything, DECLS, list_all=True)
    assert result.full_read_because == (
        "a log entry could not be attributed: log 901 (d): POST /x/organization (and 1 more)"
    )
    grants = Touched(
        unattributable=(
            Unattributable("log 903 (d): DELETE /resource-servers/rs", "client_grants"),
        )
    )
    assert rereads(SNAPSHOT, grants, DECLS, list_all=True).full_read_because is not None
    assert (
        rereads(SNAPSHOT, grants, [decl("a", whole=False)], list_all=True).full_read_because is None
    )


def test_re_reads_dearer_than_a_full_read_mean_a_full_read() -> None:
    touched = Touched(organizations=frozenset({"org_a", "org_b", "org_c"}))
    result = rereads(SNAPSHOT, touched, DECLS, list_all=True)
    # 3 x (1 + 3 parts) = 12 against a full read: 1 listing page + 3 x 3 parts = 10
    assert result.full_read_because == (
        "re-reading what the logs touched in 3 organizations (12 requests, and 0 for the logs) "
        "would cost more than a full read (10)"
    )
    grants = Touched(parts={"org_a": frozenset({"client_grants"})})  # 1 request
    assert rereads(SNAPSHOT, grants, DECLS, list_all=True, log_requests=9).full_read_because is None
    assert (
        rereads(SNAPSHOT, grants, DECLS, list_all=True, log_requests=10).full_read_because
        is not None
    )


def test_declarations_the_snapshot_lacks_are_counted_as_lookups_with_their_parts() -> None:
    result = rereads(SNAPSHOT, Touched(), [*DECLS, decl("d")], list_all=True)
    assert result.requests == 1 + 3


def test_parts_a_declaration_now_declares_that_the_snapshot_lacks_are_counted() -> None:
    """What `fetch.complete` reads of an organization the logs did not touch is counted too:
    the Early Access view when the snapshot has only the GA list (and the reverse), and a
    part the snapshot was not taken with."""
    needs_view = [decl("a", view=True), decl("b", view=True), decl("c")]
    assert rereads(SNAPSHOT, Touched(), needs_view, list_all=True).requests == 1  # org_a's view
    ga_only = [decl("a"), decl("b"), decl("c")]
    assert rereads(SNAPSHOT, Touched(), ga_only, list_all=True).requests == 1  # org_b's GA list
    bare = LiveOrganization({"id": "org_c", "name": "c"}, ())  # no grants or domains read
    snapshot = LiveState((*SNAPSHOT.organizations[:2], bare), complete=True)
    assert rereads(snapshot, Touched(), DECLS, list_all=True).requests == 2


def test_refresh_replaces_removes_adds_and_forgets_stale_parts() -> None:
    state = refresh(
        SNAPSHOT,
        {
            "org_a": {"id": "org_a", "name": "a-renamed"},
            "org_b": None,
            "org_new": {"id": "org_new", "name": "n"},
        },
        {"org_c": frozenset({"connections", "client_grants"})},
        checkpoint="950",
    )
    assert [(o.id, o.name) for o in state.organizations] == [
        ("org_a", "a-renamed"),
        ("org_c", "c"),
        ("org_new", "n"),
    ]
    renamed, kept, new = state.organizations
    # Re-read organizations have none of their parts until fetch.complete reads them.
    assert (renamed.connections, renamed.client_grants, renamed.discovery_domains) == (
        None,
        None,
        None,
    )
    assert (kept.connections, kept.connection_view, kept.client_grants) == (None, None, None)
    assert kept.discovery_domains == ()
    assert new.connections is None
    assert (state.tenant, state.taken_at, state.complete, state.log_checkpoint) == (
        "t.eu.auth0.com",
        "2026-11-28T00:00:00Z",
        True,
        "950",
    )
