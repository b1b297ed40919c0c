"""The baseline: what a user would write with the official auth0-python SDK (6.x).

For each declared organization, sequentially: get it by name, then list its enabled connections
with the SDK's own pager. 429s are handled by the SDK's own retries (its defaults). The SDK is
pointed at plain-http loopback through its public `base_url` seam, as in
`tests/emulator/test_sdk_fidelity.py` (`ManagementClient(domain=...)` always builds https URLs).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class BaselineResult:
    organizations: int  # found by name
    connections: int  # enabled connections read, all organizations together
    seconds: float


def run_baseline(url: str, token: str, names: Sequence[str]) -> BaselineResult:
    """Read `names` and their enabled connections from the Management API at `url` (no /api/v2)."""
    from auth0.management import Auth0  # the SDK is a benchmark dependency only

    start = time.perf_counter()
    found = 0
    connections = 0
    with httpx.Client(timeout=30) as http:
        client: Any = Auth0(base_url=f"{url}/api/v2", token=token, httpx_client=http)
        for name in names:
            organization = client.organizations.get_by_name(name)
            found += 1
            connections += sum(
                1 for _ in client.organizations.enabled_connections.list(organization.id)
            )
    return BaselineResult(found, connections, time.perf_counter() - start)
