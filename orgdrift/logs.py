"""Tenant log entries (`GET /api/v2/logs`) -> what they may have changed.

An incremental audit re-reads only what the logs since its snapshot touched, so this module must
never under-report: an entry that could change an organization but names none is *unattributable*,
and one unattributable entry turns the audit into a full read. Entries that cannot change what
orgdrift compares (logins, user writes, organization members) touch nothing.

Pure: entries in, a `Touched` value out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})

# Sub-resources of an organization whose writes cannot change what orgdrift compares.
_UNCOMPARED_SUBRESOURCES = frozenset({"members", "invitations"})

# Non-`sapi` log types that change an organization or its connections outside the Management
# API: the My Organization API (Early Access) and self-service SSO.
_OTHER_WRITE_TYPES = frozenset(
    {
        "my_organization_api_idp_succeeded",
        "my_organization_api_org_details_succeeded",
        "ss_sso_success",
    }
)

_ORG = re.compile(r"^/organizations/(?P<id>[^/]+)(?:/(?P<sub>[^/]+)(?:/.*)?)?$")
_CONNECTION = re.compile(r"^/connections/(?P<id>[^/]+)(?:/(?P<sub>[^/]+))?(?:/.*)?$")
_CLIENT_GRANT = re.compile(r"^/client-grants/(?P<id>[^/]+)$")


@dataclass(frozen=True, slots=True)
class Touched:
    """What a run of log entries may have changed."""

    organizations: frozenset[str] = frozenset()  # ids to re-read (created, changed or deleted)
    connections: frozenset[str] = frozenset()  # connection ids changed or deleted tenant-wide
    client_grants: frozenset[str] = frozenset()  # client grant ids changed or deleted
    unattributable: tuple[str, ...] = ()  # entries that may touch organizations, naming none
    entries: int = 0  # entries read
    last_log_id: str | None = None  # the newest entry read: the next checkpoint

    @property
    def attributable(self) -> bool:
        return not self.unattributable


@dataclass(slots=True)
class _Collector:
    organizations: set[str] = field(default_factory=set)
    connections: set[str] = field(default_factory=set)
    client_grants: set[str] = field(default_factory=set)
    unattributable: list[str] = field(default_factory=list)


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
        frozenset(found.connections),
        frozenset(found.client_grants),
        tuple(found.unattributable),
        count,
        last,
    )


def _one(entry: Mapping[str, Any], found: _Collector) -> None:
    kind = entry.get("type")
    if kind in _OTHER_WRITE_TYPES:
        org = entry.get("organization_id")
        if isinstance(org, str) and org:
            found.organizations.add(org)
        else:
            found.unattributable.append(_unattributable(entry, f"{kind} names no organization"))
        return
    if kind != "sapi":
        return  # logins, failures, exchanges...: reads and other subjects
    request = _get(entry, "details", "request")
    method = request.get("method")
    raw_path = request.get("path")
    if not isinstance(method, str) or not isinstance(raw_path, str):
        found.unattributable.append(_unattributable(entry, "a write with no method or path"))
        return
    if method.lower() not in WRITE_METHODS:
        return
    path = _api_path(raw_path)
    if path is None:
        what = f"a write to an unknown path {raw_path!r}"
        found.unattributable.append(_unattributable(entry, what))
        return
    _write(entry, method.lower(), path, found)


def _write(entry: Mapping[str, Any], method: str, path: str, found: _Collector) -> None:
    if path == "/organizations":
        if method != "post":
            found.unattributable.append(_unattributable(entry, f"{method.upper()} {path}"))
            return
        created = _get(entry, "details", "response", "body").get("id")
        if isinstance(created, str) and created:
            found.organizations.add(created)
        else:
            found.unattributable.append(
                _unattributable(entry, "an organization created with no id logged")
            )
        return
    org = _ORG.match(path)
    if org is not None:
        if org["sub"] not in _UNCOMPARED_SUBRESOURCES:
            found.organizations.add(org["id"])
        return
    connection = _CONNECTION.match(path)
    if connection is not None:
        if connection["sub"] is None:  # its users, keys, status...: no organization sees them
            found.connections.add(connection["id"])
        return
    grant = _CLIENT_GRANT.match(path)
    if grant is not None:
        found.client_grants.add(grant["id"])
        return
    if "organization" in path:
        found.unattributable.append(_unattributable(entry, f"{method.upper()} {path}"))
    # any other write (users, clients, roles, a new connection...) changes no organization


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


def _unattributable(entry: Mapping[str, Any], what: str) -> str:
    """A log entry no organization could be named for, for the report: its id, date and `what`."""
    log_id = entry.get("log_id")
    where = f"log {log_id}" if isinstance(log_id, str) else "a log entry"
    return f"{where} ({entry.get('date', 'no date')}): {what}"
