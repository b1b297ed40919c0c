"""Tenant log entries (`GET /api/v2/logs`) -> what they may have changed, part by part.

An incremental audit re-reads only what the logs since its snapshot touched, so this module must
never under-report: an entry that could change an organization but names none is *unattributable*,
and an unattributable entry that could touch a declared part turns the audit into a full read.
Entries that cannot change what orgdrift compares (logins, user writes, organization members)
touch nothing.

What a write touches (https://auth0.com/docs/api/management/v2):
* `POST /organizations`, `PATCH|DELETE /organizations/{id}`, any other write under it orgdrift
  does not know: the organization, every part.
* `/organizations/{id}/enabled_connections[/{cid}]`, `/organizations/{id}/connections[/{cid}]`:
  its connections (both views). `.../client-grants[/{gid}]`: its client grants.
  `.../discovery-domains[/{did}]`: its discovery domains.
* `PATCH|DELETE /connections/{cid}`: the connections of every organization that had it.
* `PATCH|DELETE /client-grants/{gid}`: the client grants of every organization associated with it;
  `DELETE /clients/{id}` deletes the application's grants: the client grants of every organization
  with one of them.
* Writes by an organization's own admins (My Organization API, `my_organization_api_*`) and by
  self-service SSO (`ss_sso_*`), logged with their own types
  (https://auth0.com/docs/manage-users/organizations/my-organization-api): the organization the
  entry names, every part.

Pure: entries in, a `Touched` value out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})

Part = Literal["connections", "client_grants", "discovery_domains"]

# Sub-resources of an organization: the part a write to each touches; None: nothing compared.
_SUBRESOURCES: Mapping[str, Part | None] = {
    "enabled_connections": "connections",
    "connections": "connections",
    "client-grants": "client_grants",
    "discovery-domains": "discovery_domains",
    "members": None,
    "invitations": None,
}

# Log types of writes made outside the Management API (prefixes), and the outcomes that are not.
_OTHER_WRITE_PREFIXES = ("my_organization_api_", "ss_sso_")
_FAILED_SUFFIXES = ("_failed", "_failure", "_error")

_ORG = re.compile(r"^/organizations/(?P<id>[^/]+)(?:/(?P<sub>[^/]+)(?:/.*)?)?$")
_CONNECTION = re.compile(r"^/connections/(?P<id>[^/]+)(?:/(?P<sub>[^/]+))?(?:/.*)?$")
_CLIENT_GRANT = re.compile(r"^/client-grants/(?P<id>[^/]+)$")
_CLIENT = re.compile(r"^/clients/(?P<id>[^/]+)$")


@dataclass(frozen=True, slots=True)
class Unattributable:
    """A log entry that may have changed organizations it does not name: the entry (id, date,
    what) and the part it could touch (None: any)."""

    what: str
    part: Part | None = None

    def __str__(self) -> str:
        return self.what


@dataclass(frozen=True, slots=True)
class Touched:
    """What a run of log entries may have changed."""

    organizations: frozenset[str] = frozenset()  # created, changed or deleted: every part
    parts: Mapping[str, frozenset[Part]] = field(default_factory=dict)  # org id -> parts written
    connections: frozenset[str] = frozenset()  # connection ids changed or deleted tenant-wide
    client_grants: frozenset[str] = frozenset()  # client grant ids changed or deleted
    clients: frozenset[str] = frozenset()  # applications deleted (with their grants)
    unattributable: tuple[Unattributable, ...] = ()
    entries: int = 0  # entries read
    last_log_id: str | None = None  # the newest entry read: the next checkpoint


@dataclass(slots=True)
class _Collector:
    organizations: set[str] = field(default_factory=set)
    parts: dict[str, set[Part]] = field(default_factory=dict)
    connections: set[str] = field(default_factory=set)
    client_grants: set[str] = field(default_factory=set)
    clients: set[str] = field(default_factory=set)
    unattributable: list[Unattributable] = field(default_factory=list)

    def unknown(self, entry: Mapping[str, Any], what: str, part: Part | None = None) -> None:
        """A log entry no organization could be named for, said with its id and date."""
        log_id = entry.get("log_id")
        where = f"log {log_id}" if isinstance(log_id, str) else "a log entry"
        self.unattributable.append(
            Unattributable(f"{where} ({entry.get('date', 'no date')}): {what}", part)
        )


def classify(entries: Iterable[Mapping[str, Any]]) -> Touched:
    """Classify log entries in the order read (checkpoint order)."""
    found = _Collector()
    count = 0
    last: str | None = None
    for entry in entries:
        count += 1
        log_id = entry.get("log_id")
        if isinstance(log_id, str):
            last = log_id
        _one(entry, found)
    return Touched(
        frozenset(found.organizations),
        {org: frozenset(parts) for org, parts in found.parts.items()},
        frozenset(found.connections),
        frozenset(found.client_grants),
        frozenset(found.clients),
        tuple(found.unattributable),
        count,
        last,
    )


def _one(entry: Mapping[str, Any], found: _Collector) -> None:
    kind = entry.get("type")
    if (
        isinstance(kind, str)
        and kind.startswith(_OTHER_WRITE_PREFIXES)
        and not kind.endswith(_FAILED_SUFFIXES)
    ):
        org = entry.get("organization_id")
        if isinstance(org, str) and org:
            found.organizations.add(org)
        else:
            found.unknown(entry, f"{kind} names no organization")
        return
    if kind != "sapi":
        return  # logins, failures, exchanges...: reads and other subjects
    request = _get(entry, "details", "request")
    method = request.get("method")
    raw_path = request.get("path")
    if not isinstance(method, str) or not isinstance(raw_path, str):
        found.unknown(entry, "a write with no method or path")
        return
    if method.lower() not in WRITE_METHODS:
        return
    path = _api_path(raw_path)
    if path is None:
        found.unknown(entry, f"a write to an unknown path {raw_path!r}")
        return
    _write(entry, method.lower(), path, found)


def _write(entry: Mapping[str, Any], method: str, path: str, found: _Collector) -> None:
    if path == "/organizations":
        _created(entry, method, path, found)
        return
    org = _ORG.match(path)
    if org is not None:
        sub = org["sub"]
        if sub is None or sub not in _SUBRESOURCES:
            found.organizations.add(org["id"])  # the organization, or a part unknown to orgdrift
        elif (part := _SUBRESOURCES[sub]) is not None:
            found.parts.setdefault(org["id"], set()).add(part)
        return
    for pattern, into in ((_CONNECTION, found.connections), (_CLIENT_GRANT, found.client_grants)):
        match = pattern.match(path)
        if match is not None:
            if match.groupdict().get("sub") is None:  # a connection's users, keys...: no org
                into.add(match["id"])
            return
    client = _CLIENT.match(path)
    if client is not None:
        if method == "delete":
            found.clients.add(client["id"])
        return
    if path.startswith("/resource-servers/") and method == "delete":
        found.unknown(entry, f"DELETE {path} deletes its client grants", "client_grants")
    elif "organization" in path:
        found.unknown(entry, f"{method.upper()} {path}")
    # any other write (users, roles, a new connection or grant...) changes no organization


def _created(entry: Mapping[str, Any], method: str, path: str, found: _Collector) -> None:
    if method != "post":
        found.unknown(entry, f"{method.upper()} {path}")
        return
    created = _get(entry, "details", "response", "body").get("id")
    if isinstance(created, str) and created:
        found.organizations.add(created)
    else:
        found.unknown(entry, "an organization created with no id logged")


def _api_path(raw: str) -> str | None:
    """`/api/v2/organizations/org_1?x=1` -> `/organizations/org_1`; None when not the API."""
    path = unquote(urlsplit(raw).path)
    if not path.startswith("/api/v2/"):
        return None
    return "/" + path.removeprefix("/api/v2/").strip("/")


def _get(entry: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    value: Any = entry
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else {}
