"""The live-state JSON format, shared by `snapshot`, `check --live`, `check --since` and
`emulator --state` (its schema: schemas/snapshot.schema.json):

    {"snapshot_version": 1, "tenant": ..., "taken_at": ..., "complete": true,
     "organizations": [<organization as the API returns it,
                        plus "enabled_connections": [<items as the API returns them>]>]}

Only `organizations` is required. An organization without `enabled_connections` had its
connections not read (the emulator serves it with none). Three more per-organization keys are
optional, present when the spec that took the snapshot declared them:
`organization_connections` (items of the Early Access `GET .../connections`), `client_grants`
and `discovery_domains` (items as the API returns them). `complete` says the list holds every
organization of the tenant, which unmanaged-organization checks need. Optional keys for
incremental audits: `log_checkpoint` (the newest tenant log id when the read began),
`spec_sha256` (the sorted sha256 of the spec files it was read for) and `tool_version`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from orgdrift import jsonfile
from orgdrift.errors import InputError, Problem
from orgdrift.models import LiveOrganization, LiveState, RawObject, grant_key
from orgdrift.resources import SNAPSHOT_SCHEMA
from orgdrift.sansio import MAX_RESPONSE_DEPTH

SNAPSHOT_VERSION = 1
SNAPSHOT_NESTING = MAX_RESPONSE_DEPTH + 3
"""A snapshot nests an organization (as a response may) in its list, in the document."""
_CONNECTIONS = "enabled_connections"
_PARTS = (_CONNECTIONS, "organization_connections", "client_grants", "discovery_domains")
"""An organization's snapshot-only keys, in the order of LiveOrganization's fields."""


def load_snapshot(path: str) -> LiveState:
    """Read and check a live-state file; every problem is reported (exit 2)."""
    return load_snapshot_file(path)[0]


def load_snapshot_file(path: str) -> tuple[LiveState, str]:
    """`load_snapshot`, and the sha256 of the file's bytes as read."""
    raw = jsonfile.read_bytes(path)
    return parse_snapshot(path, raw), hashlib.sha256(raw).hexdigest()


def parse_snapshot(path: str, raw: bytes) -> LiveState:
    """A live-state document, checked against schemas/snapshot.schema.json; an organization
    listed twice is a problem too."""
    document = jsonfile.parse(path, raw, SNAPSHOT_NESTING)
    problems = jsonfile.schema_problems(path, document, SNAPSHOT_SCHEMA) or _twice(path, document)
    if problems:
        raise InputError(problems[:50])
    return _state(document)


def _twice(path: str, document: dict[str, Any]) -> list[Problem]:
    seen: set[str] = set()
    found = []
    for i, org in enumerate(document["organizations"]):
        if org["id"] in seen:
            message = f"organization {org['id']} appears twice"
            found.append(jsonfile.problem(path, f"$.organizations[{i}].id", message))
        seen.add(org["id"])
    return found


def _state(document: dict[str, Any]) -> LiveState:
    hashes = document.get("spec_sha256")
    orgs = []
    for org in document["organizations"]:
        data = {k: v for k, v in org.items() if k not in _PARTS}
        parts = (None if org.get(key) is None else tuple(org[key]) for key in _PARTS)
        orgs.append(LiveOrganization(data, *parts))
    return LiveState(
        organizations=tuple(orgs),
        tenant=document.get("tenant"),
        taken_at=document.get("taken_at"),
        complete=bool(document.get("complete", False)),
        log_checkpoint=document.get("log_checkpoint"),
        spec_sha256=None if hashes is None else tuple(hashes),
        tool_version=document.get("tool_version"),
    )


def dump_snapshot(state: LiveState) -> str:
    """The live state as a deterministic JSON text (organizations sorted by name, id)."""
    return json.dumps(snapshot_document(state), indent=2, ensure_ascii=False) + "\n"


def snapshot_document(state: LiveState) -> dict[str, Any]:
    """The live state as the snapshot's JSON document; reading the text of `dump_snapshot` back
    gives a state with the same document."""
    orgs: list[RawObject] = []
    for org in sorted(state.organizations, key=lambda o: (o.name, o.id)):
        item = dict(org.data)
        if org.connections is not None:
            item[_CONNECTIONS] = sorted(org.connections, key=_connection_key)
        if org.connection_view is not None:
            item["organization_connections"] = sorted(org.connection_view, key=_connection_key)
        if org.client_grants is not None:
            item["client_grants"] = sorted(org.client_grants, key=grant_key)
        if org.discovery_domains is not None:
            item["discovery_domains"] = sorted(
                org.discovery_domains, key=lambda d: str(d.get("domain"))
            )
        orgs.append(item)
    document: dict[str, Any] = {
        "snapshot_version": SNAPSHOT_VERSION,
        "tenant": state.tenant,
        "taken_at": state.taken_at,
        "complete": state.complete,
    }
    # Incremental audits: optional, written only when known.
    if state.log_checkpoint is not None:
        document["log_checkpoint"] = state.log_checkpoint
    if state.spec_sha256 is not None:
        document["spec_sha256"] = list(state.spec_sha256)
    if state.tool_version is not None:
        document["tool_version"] = state.tool_version
    document["organizations"] = orgs
    return document


def _connection_key(item: RawObject) -> tuple[str, str]:
    conn = item.get("connection") or {}
    return (str(conn.get("name", "")), str(item.get("connection_id", "")))
