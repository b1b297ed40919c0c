"""The emulated tenant's data: organizations in creation order, lookups, cursors, connections.

Built from the state, then changed only by the write endpoints (`add`, `update`, `remove`,
`set_connections`). Organizations are in the state's order, which stands for their creation order; each gets a synthetic `created_at` (never shown in bodies, as in Auth0) from
which checkpoint cursors are made the way Auth0 makes them: unpadded base64 of
`"<created_at>UTC,<org_id>"`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orgdrift.models import LiveOrganization, LiveState, RawObject

_EPOCH = datetime(2023, 3, 14, 11, 17, 19, 466000, tzinfo=UTC)
_STEP = timedelta(seconds=37, microseconds=1234)
_CURSOR_RE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6})UTC,(\S{0,60})$")
START_KEY: tuple[str, str] = ("0000-00-00 00:00:00.000000", "")

CursorKey = tuple[str, str]  # (created_at, id)


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


def organization_body(data: Mapping[str, Any]) -> RawObject:
    """The organization as the API shows it: unset (None) keys omitted, no snapshot-only keys."""
    return {k: v for k, v in data.items() if v is not None and k not in _SNAPSHOT_ONLY}


_SNAPSHOT_ONLY = frozenset(
    {"enabled_connections", "organization_connections", "client_grants", "discovery_domains"}
)
_VIEW_ONLY = ("is_enabled", "organization_access_level", "organization_connection_name")


def _shuffle_key(org_id: str, connection: Mapping[str, Any]) -> str:
    seed = f"{org_id}/{connection.get('connection_id', '')}".encode()
    return hashlib.sha256(seed).hexdigest()


@dataclass(frozen=True, slots=True)
class IndexedOrg:
    body: RawObject
    key: CursorKey
    connections: tuple[RawObject, ...]  # in the emulator's (not-by-name) order
    # The rest of the organization model, in the order served:
    connection_view: tuple[RawObject, ...] = ()  # GET .../connections (Early Access)
    client_grants: tuple[RawObject, ...] = ()
    discovery_domains: tuple[RawObject, ...] = ()


class OrgIndex:
    """Indexes of a `LiveState`, built once per app."""

    def __init__(self, state: LiveState) -> None:
        orgs: list[IndexedOrg] = []
        for index, live in enumerate(state.organizations):
            created = (_EPOCH + _STEP * index).strftime("%Y-%m-%d %H:%M:%S.%f")
            body = organization_body(live.data)
            view = _connection_view(live)
            enabled = live.connections
            if enabled is None and live.connection_view is not None:
                enabled = tuple(
                    {k: v for k, v in item.items() if k not in _VIEW_ONLY}
                    for item in live.connection_view
                    if item.get("is_enabled", True) is not False
                )
            connections = tuple(sorted(enabled or (), key=lambda c: _shuffle_key(live.id, c)))
            orgs.append(
                IndexedOrg(
                    body=body,
                    key=(created, live.id),
                    connections=connections,
                    connection_view=tuple(sorted(view, key=lambda c: _shuffle_key(live.id, c))),
                    client_grants=tuple(live.client_grants or ()),
                    discovery_domains=tuple(live.discovery_domains or ()),
                )
            )
        self.organizations: tuple[IndexedOrg, ...] = tuple(orgs)
        self._keys = [org.key for org in self.organizations]
        self._by_id = {org.key[1]: org for org in self.organizations}
        self._by_name = {str(org.body.get("name")): org for org in self.organizations}

    def by_id(self, org_id: str) -> IndexedOrg | None:
        return self._by_id.get(org_id)

    def by_name(self, name: str) -> IndexedOrg | None:
        return self._by_name.get(name)

    def sorted_by(self, sort: str | None) -> Sequence[IndexedOrg]:
        """Organizations in `sort` order (`field:1` or `field:-1`); creation order when None."""
        if sort is None:
            return self.organizations
        field, _, order = sort.partition(":")
        reverse = order == "-1"
        if field == "created_at":
            return tuple(reversed(self.organizations)) if reverse else self.organizations
        return sorted(
            self.organizations, key=lambda org: str(org.body.get(field, "")), reverse=reverse
        )

    def after(self, key: CursorKey, take: int) -> tuple[Sequence[IndexedOrg], bool]:
        """Up to `take` organizations created after `key`, and whether more follow."""
        start = bisect.bisect_right(self._keys, key)
        page = self.organizations[start : start + take]
        return page, start + take < len(self.organizations)

    # --- writes (the write endpoints; each replaces the indexes) ---------------------------

    def _replace(self, orgs: Sequence[IndexedOrg]) -> None:
        self.organizations = tuple(orgs)
        self._keys = [org.key for org in self.organizations]
        self._by_id = {org.key[1]: org for org in self.organizations}
        self._by_name = {str(org.body.get("name")): org for org in self.organizations}

    def add(self, body: RawObject, connections: Sequence[RawObject]) -> IndexedOrg:
        """A new organization, created after every other one."""
        index = len(self.organizations)
        last = self.organizations[-1].key[0] if self.organizations else ""
        created = (_EPOCH + _STEP * index).strftime("%Y-%m-%d %H:%M:%S.%f")
        if created <= last:  # after deletions: still after the newest
            stamp = datetime.strptime(last, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
            created = (stamp + _STEP).strftime("%Y-%m-%d %H:%M:%S.%f")
        org_id = str(body["id"])
        ordered = tuple(sorted(connections, key=lambda c: _shuffle_key(org_id, c)))
        new = IndexedOrg(body=organization_body(body), key=(created, org_id), connections=ordered)
        self._replace([*self.organizations, new])
        return new

    def update(self, org_id: str, body: RawObject) -> IndexedOrg:
        old = self._by_id[org_id]
        new = IndexedOrg(body=organization_body(body), key=old.key, connections=old.connections)
        self._replace([new if org is old else org for org in self.organizations])
        return new

    def remove(self, org_id: str) -> None:
        self._replace([org for org in self.organizations if org.key[1] != org_id])

    def set_connections(self, org_id: str, connections: Sequence[RawObject]) -> None:
        old = self._by_id[org_id]
        ordered = tuple(sorted(connections, key=lambda c: _shuffle_key(org_id, c)))
        new = IndexedOrg(body=old.body, key=old.key, connections=ordered)
        self._replace([new if org is old else org for org in self.organizations])


def _connection_view(live: LiveOrganization) -> tuple[RawObject, ...]:
    """The Early Access connections of `live`: as saved, or else its enabled connections as the
    endpoint shows them (enabled, access level `none`, as in a 2026 recording)."""
    if live.connection_view is not None:
        return live.connection_view
    return tuple(
        {**item, "is_enabled": True, "organization_access_level": "none"}
        for item in live.connections or ()
    )
