"""`orgdrift export`: a spec declaring a tenant's organizations as they are, which `check` finds
in sync. Pure: the live state in, YAML text out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import yaml

from orgdrift.auth import is_loopback
from orgdrift.models import CONNECTION_FLAGS, LiveOrganization, LiveState, RawObject, grant_key

SCHEMA_URL = "https://raw.githubusercontent.com/orgdrift/orgdrift/main/schemas/orgdrift.schema.json"


def export_spec(
    live: LiveState, *, token_quota: bool = True, left_out: Sequence[object] = ()
) -> str:
    """A spec declaring every organization of `live`. Client grants, discovery domains and the
    Early Access connection fields are written when they were read; `token_quota` when set and
    not left out. `left_out` (the parts not read, and why) is said in the header."""
    document: dict[str, Any] = {"version": 1}
    loopback = bool(live.tenant) and is_loopback(urlsplit(f"//{live.tenant}").hostname or "")
    if live.tenant and not loopback:  # an emulator's port changes with each start: not pinned
        document["tenant"] = {"domain": live.tenant}
    document["organizations"] = [
        _organization(org, token_quota=token_quota)
        for org in sorted(live.organizations, key=lambda o: o.name)
    ]
    when = f" at {live.taken_at}" if live.taken_at else ""
    header = (
        f"# yaml-language-server: $schema={SCHEMA_URL}\n"
        f"# Exported by orgdrift from {live.tenant or 'the tenant'}{when}.\n"
    ) + "".join(f"# Not exported: {why}.\n" for why in left_out)
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def _organization(org: LiveOrganization, *, token_quota: bool) -> dict[str, Any]:
    data = org.data
    out: dict[str, Any] = {"name": org.name, "id": org.id}
    if data.get("display_name"):
        out["display_name"] = data["display_name"]
    out["branding"] = data.get("branding") or {}
    out["metadata"] = data.get("metadata") or {}
    if org.connection_view is not None:  # the Early Access view, with its own fields
        out["connections"] = _connections(org.connection_view, early_access=True)
    else:
        out["connections"] = _connections(org.connections or (), early_access=False)
    if token_quota and isinstance(data.get("token_quota"), dict):
        out["token_quota"] = data["token_quota"]
    if org.client_grants is not None:
        out["client_grants"] = [
            {
                "client_id": g["client_id"],
                "audience": g["audience"],
                "scope": sorted(g.get("scope") or []),
            }
            for g in sorted(org.client_grants, key=grant_key)
        ]
    if org.discovery_domains is not None:
        out["discovery_domains"] = [
            {
                "domain": d["domain"],
                "status": d["status"],
                "use_for_organization_discovery": d.get("use_for_organization_discovery", True),
            }
            for d in sorted(org.discovery_domains, key=lambda d: str(d["domain"]))
        ]
    return out


def _connections(items: Iterable[RawObject], *, early_access: bool) -> list[dict[str, Any]]:
    """Connections by name (their id when the API gave no name), with their flags."""
    connections = []
    for item in sorted(items, key=lambda c: str((c.get("connection") or {}).get("name"))):
        name = (item.get("connection") or {}).get("name")
        entry: dict[str, Any] = {"name": name} if name else {"connection_id": item["connection_id"]}
        entry.update({f: item[f] for f in CONNECTION_FLAGS if isinstance(item.get(f), bool)})
        if early_access:
            entry["is_enabled"] = item.get("is_enabled", True) is not False
            for key in ("organization_access_level", "organization_connection_name"):
                if isinstance(item.get(key), str):
                    entry[key] = item[key]
        connections.append(entry)
    return connections
