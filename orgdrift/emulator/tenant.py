"""The emulated tenant: one state per organization holding every part, the tenant's connections
and client grants, lookups and cursors.

Each organization keeps its connections once, as associations carrying every field either
endpoint shows: `GET .../enabled_connections` (GA) serves the enabled ones without the Early
Access fields, `GET .../connections` (Early Access) serves them all. Client grants live in the
tenant (`/client-grants/{id}`) and an organization holds the ids associated with it, so a change
to a grant shows in every organization that has it. Discovery domains and `token_quota` (part of
the organization's body) belong to the organization.

Built from a live state, then changed in place by the writes (`writes.py`). Organizations are
in the state's order, which stands for their creation order; each gets a synthetic `created_at`
(never shown in bodies, as in Auth0) from which checkpoint cursors are made the way Auth0 makes
them: unpadded base64 of `"<created_at>UTC,<org_id>"`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from orgdrift.models import LiveOrganization, LiveState, RawObject

_EPOCH = datetime(2023, 3, 14, 11, 17, 19, 466000, tzinfo=UTC)
_STEP = timedelta(seconds=37, microseconds=1234)
_CURSOR_RE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6})UTC,(\S{0,60})$")
START_KEY: tuple[str, str] = ("0000-00-00 00:00:00.000000", "")

CursorKey = tuple[str, str]  # (created_at, id)

VIEW_ONLY = ("is_enabled", "organization_access_level", "organization_connection_name")
"""Fields of a connection association that only the Early Access endpoint shows."""
FLAGS = ("assign_membership_on_login", "is_signup_enabled", "show_as_button")
GRANT_FIELDS = (
    "id",
    "client_id",
    "audience",
    "scope",
    "organization_usage",
    "allow_any_organization",
)
"""What `GET /organizations/{id}/client-grants` shows of a grant (OrganizationClientGrant)."""


def encode_cursor(key: CursorKey) -> str:
    raw = f"{key[0]}UTC,{key[1]}".encode()
    return base64.b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> CursorKey | None:
    """The key a cursor stands for, or None when it is not one of ours."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), validate=True).decode()
    except (binascii.Error, ValueError):
        return None
    match = _CURSOR_RE.match(raw)
    return (match.group(1), match.group(2)) if match else None


def enabled_view(association: RawObject) -> RawObject:
    """An association as `GET .../enabled_connections` shows it."""
    return {k: v for k, v in association.items() if k not in VIEW_ONLY}


def organization_body(data: Mapping[str, Any]) -> RawObject:
    """The organization as the API shows it: unset (None) keys omitted, no snapshot-only keys."""
    return {k: v for k, v in data.items() if v is not None and k not in _SNAPSHOT_ONLY}


_SNAPSHOT_ONLY = frozenset(
    {"enabled_connections", "organization_connections", "client_grants", "discovery_domains"}
)


@dataclass(slots=True)
class TenantOrg:
    """One organization and every part of it, changed in place by the writes."""

    body: RawObject
    key: CursorKey
    # Every connection association, Early Access fields included, in the emulator's
    # (not-by-name) order.
    associations: list[RawObject] = field(default_factory=list)
    grant_ids: list[str] = field(default_factory=list)  # associated, in association order
    discovery_domains: list[RawObject] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.key[1]

    @property
    def enabled_connections(self) -> tuple[RawObject, ...]:
        """`GET .../enabled_connections`: the enabled associations, without Early Access fields."""
        return tuple(
            enabled_view(item)
            for item in self.associations
            if item.get("is_enabled", True) is not False
        )

    def association(self, connection_id: str) -> RawObject | None:
        return next((c for c in self.associations if c["connection_id"] == connection_id), None)

    def associate(self, item: RawObject) -> None:
        self.associations = _ordered(self.id, [*self.associations, item])


class TenantState:
    """The tenant's organizations (creation order) with their indexes, its connections and its
    client grants."""

    def __init__(self, state: LiveState) -> None:
        self.connections: dict[str, RawObject] = {}  # id -> {"name", "strategy"}
        self.client_grants: dict[str, RawObject] = {}  # id -> the grant
        orgs: list[TenantOrg] = []
        for index, live in enumerate(state.organizations):
            associations = _associations(live)
            for item in associations:
                conn = item.get("connection")
                if isinstance(conn, dict):
                    self.connections.setdefault(item["connection_id"], dict(conn))
            for grant in live.client_grants or ():
                self.client_grants.setdefault(str(grant["id"]), dict(grant))
            orgs.append(
                TenantOrg(
                    body=organization_body(live.data),
                    key=(_created(index), live.id),
                    associations=_ordered(live.id, associations),
                    grant_ids=[str(g["id"]) for g in live.client_grants or ()],
                    discovery_domains=[dict(d) for d in live.discovery_domains or ()],
                )
            )
        self._replace(orgs)

    # --- reads -------------------------------------------------------------------------------

    def by_id(self, org_id: str) -> TenantOrg | None:
        return self._by_id.get(org_id)

    def by_name(self, name: str) -> TenantOrg | None:
        return self._by_name.get(name)

    def client_grants_of(self, org: TenantOrg) -> tuple[RawObject, ...]:
        """`GET /organizations/{id}/client-grants`: the grants associated, as the tenant has them."""
        return tuple(
            {k: grant[k] for k in GRANT_FIELDS if k in grant}
            for grant in (self.client_grants.get(g) for g in org.grant_ids)
            if grant is not None
        )

    def sorted_by(self, sort: str | None) -> Sequence[TenantOrg]:
        """Organizations in `sort` order (`field:1` or `field:-1`); creation order when None."""
        if sort is None:
            return self.organizations
        field, _, order = sort.partition(":")  # created_at: the key's, never shown in bodies

        def value(org: TenantOrg) -> str:
            return org.key[0] if field == "created_at" else str(org.body.get(field, ""))

        return sorted(self.organizations, key=value, reverse=order == "-1")

    def after(self, key: CursorKey, take: int) -> tuple[Sequence[TenantOrg], bool]:
        """Up to `take` organizations created after `key`, and whether more follow."""
        start = bisect.bisect_right(self.organizations, key, key=lambda org: org.key)
        page = self.organizations[start : start + take]
        return page, start + take < len(self.organizations)

    # --- writes (those that add, remove or rename an organization rebuild the indexes) ------

    def _replace(self, orgs: Sequence[TenantOrg]) -> None:
        self.organizations: tuple[TenantOrg, ...] = tuple(orgs)
        self._by_id = {org.id: org for org in self.organizations}
        self._by_name = {str(org.body.get("name")): org for org in self.organizations}

    def add(self, body: RawObject, associations: Sequence[RawObject]) -> TenantOrg:
        """A new organization, created after every other one."""
        created = _created(len(self.organizations))
        last = self.organizations[-1].key[0] if self.organizations else ""
        if created <= last:  # after deletions: still after the newest
            stamp = datetime.strptime(last, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
            created = (stamp + _STEP).strftime("%Y-%m-%d %H:%M:%S.%f")
        org_id = str(body["id"])
        new = TenantOrg(organization_body(body), (created, org_id), _ordered(org_id, associations))
        self._replace([*self.organizations, new])
        return new

    def set_body(self, org: TenantOrg, body: RawObject) -> None:
        """`org`'s body replaced; a new name moves it in the by-name index."""
        org.body = organization_body(body)
        self._replace(self.organizations)

    def remove(self, org: TenantOrg) -> None:
        self._replace([o for o in self.organizations if o is not org])

    def delete_connection(self, connection_id: str) -> None:
        """The connection gone from the tenant and from every organization that had it."""
        self.connections.pop(connection_id, None)
        for org in self.organizations:
            org.associations = [c for c in org.associations if c["connection_id"] != connection_id]

    def delete_client_grant(self, grant_id: str) -> None:
        """The grant gone from the tenant and from every organization associated with it."""
        self.client_grants.pop(grant_id, None)
        for org in self.organizations:
            org.grant_ids = [g for g in org.grant_ids if g != grant_id]


def _created(index: int) -> str:
    return (_EPOCH + _STEP * index).strftime("%Y-%m-%d %H:%M:%S.%f")


def _ordered(org_id: str, associations: Sequence[RawObject]) -> list[RawObject]:
    """In the emulator's order: a shuffle per organization, not by name."""

    def shuffled(connection: RawObject) -> str:
        seed = f"{org_id}/{connection.get('connection_id', '')}".encode()
        return hashlib.sha256(seed).hexdigest()

    return sorted(associations, key=shuffled)


def _associations(live: LiveOrganization) -> list[RawObject]:
    """The connections of `live` as associations: its Early Access items when saved, each
    enabled connection the view lacks added as the endpoint shows it (enabled, access level
    `none`, as in a 2026 recording)."""
    found = [dict(item) for item in live.connection_view or ()]
    seen = {item.get("connection_id") for item in found}
    for item in live.connections or ():
        if item.get("connection_id") not in seen:
            found.append({**item, "is_enabled": True, "organization_access_level": "none"})
    return [item for item in found if isinstance(item.get("connection_id"), str)]
