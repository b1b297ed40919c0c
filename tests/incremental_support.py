"""A generated tenant and its in-sync spec for incremental-audit tests (tests/test_since*.py)."""

from __future__ import annotations

from typing import Any

from orgdrift.export import export_spec
from orgdrift.models import LiveOrganization, LiveState

CONNECTIONS = 6


def connection_id(index: int) -> str:
    return f"con_{index:016d}"


def connection_item(index: int, assign: bool) -> dict[str, Any]:
    return {
        "connection_id": connection_id(index),
        "assign_membership_on_login": assign,
        "show_as_button": True,
        "connection": {"name": f"conn-{index}", "strategy": "samlp" if index else "auth0"},
    }


def generated_org_id(index: int) -> str:
    return f"org_{index:016d}"


def generated_state(count: int) -> LiveState:
    """`count` organizations, each with two or three of six connections."""
    orgs = []
    for i in range(count):
        chosen = sorted({i % CONNECTIONS, (i * 7 + 1) % CONNECTIONS, (i * 3 + 2) % CONNECTIONS})
        orgs.append(
            LiveOrganization(
                {
                    "id": generated_org_id(i),
                    "name": f"org-{i:05d}",
                    "display_name": f"Organization {i}",
                    "metadata": {"tier": ("gold", "silver", "bronze")[i % 3]},
                },
                tuple(connection_item(c, (i + c) % 2 == 0) for c in chosen),
            )
        )
    return LiveState(tuple(orgs), complete=True)


def generated_spec(state: LiveState, *, unmanaged: str = "report", by_id_every: int = 4) -> str:
    """The spec `export` writes for `state` (in sync), with an unmanaged policy and some
    organizations declared by name only."""
    text = export_spec(state)
    lines = []
    index = 0
    for line in text.splitlines():
        if line.startswith("  id: "):
            index += 1
            if index % by_id_every:
                continue  # declared by name
        lines.append(line)
    body = "\n".join(lines) + "\n"
    return body.replace(
        "version: 1\n",
        f"version: 1\npolicy:\n  unmanaged_organizations: {unmanaged}\n",
        1,
    )
