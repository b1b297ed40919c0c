"""Shared plumbing for the emulator tests: tenants, a fake clock, in-process requests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from orgdrift.emulator import DEFAULT_TOKEN, EmulatorApp, InProcessTransport
from orgdrift.models import LiveOrganization, LiveState
from orgdrift.snapshot import load_snapshot

BASE_URL = "https://tenant.test"
AUDIENCE = f"{BASE_URL}/api/v2/"
EXAMPLE_TENANT = Path(__file__).resolve().parents[2] / "examples" / "tenant.json"


class FakeClock:
    """An injectable clock: time moves only when a test says so."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def org_id(index: int) -> str:
    return f"org_{index:016d}"


def connection(index: int, name: str, strategy: str = "samlp") -> dict[str, Any]:
    item: dict[str, Any] = {
        "connection_id": f"con_{index:016d}",
        "assign_membership_on_login": index % 2 == 0,
        "show_as_button": True,
        "connection": {"name": name, "strategy": strategy},
    }
    if strategy == "auth0":
        item["is_signup_enabled"] = False
    return item


def make_state(count: int, connections_per_org: int = 2) -> LiveState:
    orgs = tuple(
        LiveOrganization(
            data={
                "id": org_id(i),
                "name": f"org-{i:05d}",
                "display_name": f"Organization {i}",
                "metadata": {"index": str(i)} if i % 3 == 0 else None,
            },
            connections=tuple(connection(c, f"conn-{c}") for c in range(connections_per_org)),
        )
        for i in range(count)
    )
    return LiveState(organizations=orgs, complete=True)


def example_state() -> LiveState:
    return load_snapshot(str(EXAMPLE_TENANT))


def auth(token: str = DEFAULT_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _send_all(
    app: EmulatorApp, calls: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[httpx.Response]:
    transport = InProcessTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        return [await client.request(method, url, **kwargs) for method, url, kwargs in calls]


def send_all(
    app: EmulatorApp, calls: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[httpx.Response]:
    """Send requests one after another in process."""
    return asyncio.run(_send_all(app, calls))


def get(app: EmulatorApp, url: str, token: str | None = DEFAULT_TOKEN) -> httpx.Response:
    headers = auth(token) if token is not None else {}
    return send_all(app, [("GET", url, {"headers": headers})])[0]


def get_many(app: EmulatorApp, urls: Sequence[str]) -> list[httpx.Response]:
    return send_all(app, [("GET", url, {"headers": auth()}) for url in urls])


def post_token(app: EmulatorApp, **kwargs: Any) -> httpx.Response:
    return send_all(app, [("POST", "/oauth/token", kwargs)])[0]
