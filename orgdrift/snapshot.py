"""The live-state JSON format, shared by `snapshot`, `check --live` and
`emulator --state`:

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

import json
from typing import Any

from orgdrift.errors import InputError, Problem
from orgdrift.inputs import read_input
from orgdrift.models import LiveOrganization, LiveState, RawObject
from orgdrift.sansio import MAX_DEPTH, depth_within

SNAPSHOT_VERSION = 1
MAX_BYTES = 512 * 1024 * 1024
_CONNECTIONS = "enabled_connections"
MODEL_KEYS: tuple[str, ...] = ("organization_connections", "client_grants", "discovery_domains")
"""Snapshot-only keys of an organization for the rest of the organization model."""
SNAPSHOT_ONLY_KEYS: frozenset[str] = frozenset({_CONNECTIONS, *MODEL_KEYS})


def load_snapshot(path: str) -> LiveState:
    """Read and check a live-state file; every problem is reported (exit 2)."""
    try:
        raw = read_input(path, MAX_BYTES)
    except OSError as exc:
        raise InputError([Problem(path, 0, 0, "", f"cannot read file: {exc.strerror}")]) from None
    return parse_snapshot(path, raw)


def parse_snapshot(path: str, raw: bytes) -> LiveState:
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(path, 0, 0, "", f"not valid UTF-8 at byte {exc.start}")]
        ) from None
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc.msg}"
        raise InputError([Problem(path, exc.lineno, exc.colno, "", msg)]) from None
    except RecursionError:
        raise InputError([Problem(path, 0, 0, "", "JSON nested too deeply")]) from None
    if not depth_within(document, MAX_DEPTH + 3):  # the document, its list, an organization
        message = f"JSON nested deeper than an organization may be ({MAX_DEPTH} levels)"
        raise InputError([Problem(path, 0, 0, "", message)])
    problems = list(_problems(path, document))
    if problems:
        raise InputError(problems[:50])
    return _state(document)


def _problems(path: str, document: Any) -> list[Problem]:
    def problem(where: str, message: str) -> Problem:
        return Problem(path, 0, 0, where, message)

    if not isinstance(document, dict):
        return [problem("$", "expected a JSON object with an `organizations` list")]
    found: list[Problem] = []
    version = document.get("snapshot_version", SNAPSHOT_VERSION)
    if version != SNAPSHOT_VERSION:
        found.append(problem("$.snapshot_version", f"unsupported version {version!r}"))
    for key in ("tenant", "taken_at"):
        if document.get(key) is not None and not isinstance(document[key], str):
            found.append(problem(f"$.{key}", "must be a string"))
    if not isinstance(document.get("complete", False), bool):
        found.append(problem("$.complete", "must be true or false"))
    for key in ("log_checkpoint", "tool_version"):
        if document.get(key) is not None and not isinstance(document[key], str):
            found.append(problem(f"$.{key}", "must be a string"))
    hashes = document.get("spec_sha256")
    if hashes is not None and not (
        isinstance(hashes, list) and all(isinstance(h, str) for h in hashes)
    ):
        found.append(problem("$.spec_sha256", "must be a list of strings"))
    orgs = document.get("organizations")
    if not isinstance(orgs, list):
        return [*found, problem("$.organizations", "must be a list of organizations")]
    seen: set[str] = set()
    for i, org in enumerate(orgs):
        found.extend(problem(f"$.organizations[{i}]{w}", m) for w, m in _org_problems(org, seen))
    return found


def _org_problems(org: Any, seen: set[str]) -> list[tuple[str, str]]:
    if not isinstance(org, dict):
        return [("", "must be an object")]
    found: list[tuple[str, str]] = []
    for key in ("id", "name"):
        if not isinstance(org.get(key), str) or not org[key]:
            found.append((f".{key}", "must be a non-empty string"))
    if isinstance(org.get("id"), str):
        if org["id"] in seen:
            found.append((".id", f"organization {org['id']} appears twice"))
        seen.add(org["id"])
    for key in ("branding", "metadata"):
        if org.get(key) is not None and not isinstance(org[key], dict):
            found.append((f".{key}", "must be an object"))
    found.extend(_model_problems(org))
    if _CONNECTIONS in org:
        items = org[_CONNECTIONS]
        if not isinstance(items, list):
            found.append((f".{_CONNECTIONS}", "must be a list"))
        else:
            found.extend(
                (f".{_CONNECTIONS}[{j}]", msg)
                for j, item in enumerate(items)
                for msg in _connection_problems(item)
            )
    return found


def _connection_problems(item: Any) -> list[str]:
    if not isinstance(item, dict):
        return ["must be an object"]
    found = []
    if not isinstance(item.get("connection_id"), str):
        found.append("connection_id must be a string")
    conn = item.get("connection")
    if conn is not None and not (isinstance(conn, dict) and isinstance(conn.get("name", ""), str)):
        found.append("connection must be an object with a string name")
    for flag in ("assign_membership_on_login", "show_as_button", "is_signup_enabled"):
        if item.get(flag) is not None and not isinstance(item[flag], bool):
            found.append(f"{flag} must be true or false")
    return found


def _state(document: dict[str, Any]) -> LiveState:
    hashes = document.get("spec_sha256")
    orgs = []
    for org in document["organizations"]:
        data = {k: v for k, v in org.items() if k not in SNAPSHOT_ONLY_KEYS}
        conns = org.get(_CONNECTIONS)
        view, grants, domains = (
            None if org.get(key) is None else tuple(org[key]) for key in MODEL_KEYS
        )
        orgs.append(
            LiveOrganization(
                data,
                None if conns is None else tuple(conns),
                connection_view=view,
                client_grants=grants,
                discovery_domains=domains,
            )
        )
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
    """The live state as a deterministic JSON document (organizations sorted by name, id)."""
    orgs: list[RawObject] = []
    for org in sorted(state.organizations, key=lambda o: (o.name, o.id)):
        item = dict(org.data)
        if org.connections is not None:
            item[_CONNECTIONS] = sorted(org.connections, key=_connection_key)
        if org.connection_view is not None:
            item["organization_connections"] = sorted(org.connection_view, key=_connection_key)
        if org.client_grants is not None:
            item["client_grants"] = sorted(
                org.client_grants, key=lambda g: (str(g.get("client_id")), str(g.get("audience")))
            )
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
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _connection_key(item: RawObject) -> tuple[str, str]:
    conn = item.get("connection") or {}
    return (str(conn.get("name", "")), str(item.get("connection_id", "")))


def _model_problems(org: dict[str, Any]) -> list[tuple[str, str]]:
    """The optional lists of the organization model: lists of objects with their keys."""
    required = {
        "organization_connections": (),  # _connection_problems checks its items
        "client_grants": ("id", "client_id", "audience"),
        "discovery_domains": ("id", "domain"),
    }
    found: list[tuple[str, str]] = []
    for key, strings in required.items():
        if key not in org:
            continue
        items = org[key]
        if not isinstance(items, list):
            found.append((f".{key}", "must be a list"))
            continue
        for j, item in enumerate(items):
            if not isinstance(item, dict):
                found.append((f".{key}[{j}]", "must be an object"))
                continue
            found.extend(
                (f".{key}[{j}]", f"{name} must be a string")
                for name in strings
                if not isinstance(item.get(name), str)
            )
            if key == "organization_connections":
                found.extend((f".{key}[{j}]", m) for m in _connection_problems(item))
    return found
