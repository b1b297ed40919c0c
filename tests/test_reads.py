"""reads: the tenant normalised once, each read under the run's time limit (the one place that
owns it), what a cut-off read says, and the snapshot a checkpointed read records. In process, on
virtual time where the limit matters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from orgdrift import __version__, reads
from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app
from orgdrift.emulator.config import ALL_SCOPES
from orgdrift.emulator.transport import InProcessTransport
from orgdrift.errors import DeadlineExceeded, UsageError
from orgdrift.models import LiveOrganization, LiveState
from orgdrift.spec import load_specs

from .virtual_time import VirtualTimeLoop

SPEC = "version: 1\norganizations:\n  - name: acme\n    connections: [{name: db}]\n"
ACME = {"id": "org_aaaaaaaaaaaaaaaa", "name": "acme"}
DB = {
    "connection_id": "con_0000000000000001",
    "assign_membership_on_login": False,
    "connection": {"name": "db", "strategy": "auth0"},
}


def test_the_base_url_is_normalised_once() -> None:
    tenant = reads.Tenant(domain="Tenant.EU.auth0.com:443", env={})
    assert tenant.base_url == "https://tenant.eu.auth0.com"
    assert tenant.host == "tenant.eu.auth0.com"
    assert tenant.base_url is tenant.base_url  # computed once, then kept


@pytest.mark.parametrize(
    "domain", ["", "http://tenant.example.com", "https://tenant.example.com/api"]
)
def test_a_domain_that_cannot_be_used_is_a_usage_error_before_any_request(domain: str) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"request sent: {request.url}")

    tenant = reads.Tenant(
        domain=domain, env={"AUTH0_API_TOKEN": DEFAULT_TOKEN}, transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(UsageError):
        reads.read_declared(tenant, (), list_all=True)


def _hanging_tenant(timeout: float) -> tuple[reads.Tenant, list[str]]:
    """A tenant that answers the organization lookup and then never answers a connections page."""
    sent: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        if request.url.path.endswith("/enabled_connections"):
            await asyncio.sleep(3600)  # virtual time: the clock jumps, nothing blocks
        return httpx.Response(200, json=ACME)

    tenant = reads.Tenant(
        domain="http://127.0.0.1",
        env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
        timeout=timeout,
        transport=httpx.MockTransport(handler),
        loop_factory=VirtualTimeLoop,
    )
    return tenant, sent


def test_the_time_limit_cuts_the_read_and_names_what_was_not_read(tmp_path: Path) -> None:
    (tmp_path / "orgs.yaml").write_text(SPEC, encoding="utf-8")
    spec = load_specs([str(tmp_path / "orgs.yaml")], {})
    tenant, sent = _hanging_tenant(timeout=5.0)
    with pytest.raises(DeadlineExceeded) as caught:
        reads.read_declared(tenant, spec.organizations, list_all=False)
    assert sent == [
        "/api/v2/organizations/name/acme",
        "/api/v2/organizations/org_aaaaaaaaaaaaaaaa/enabled_connections",
    ]
    assert caught.value.message == (
        "the read did not finish within --timeout 5 s, so there is no verdict: GET "
        "/api/v2/organizations/org_aaaaaaaaaaaaaaaa/enabled_connections?page=0&per_page=100"
        "&include_totals=true (attempt 1, no answer yet) was cut off (2 requests sent, 0 answered "
        "429). Raise --timeout to allow more"
    )


def test_without_a_time_limit_a_slow_answer_is_awaited(tmp_path: Path) -> None:
    """`--timeout` unset: only the per-attempt request timeout applies (30 s by default), so an
    answer after 20 s is read; the client retries what takes longer."""

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(20)
        if request.url.path.endswith("/enabled_connections"):
            return httpx.Response(
                200, json={"enabled_connections": [DB], "start": 0, "limit": 100, "total": 1}
            )
        return httpx.Response(200, json=ACME)

    (tmp_path / "orgs.yaml").write_text(SPEC, encoding="utf-8")
    spec = load_specs([str(tmp_path / "orgs.yaml")], {})
    tenant = reads.Tenant(
        domain="http://127.0.0.1",
        env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
        transport=httpx.MockTransport(handler),
        loop_factory=VirtualTimeLoop,
    )
    state, stats = reads.read_declared(tenant, spec.organizations, list_all=False)
    assert [
        (o.name, [c["connection_id"] for c in o.connections or ()]) for o in state.organizations
    ] == [("acme", ["con_0000000000000001"])]
    assert stats.requests == 2 and state.taken_at


def test_a_checkpointed_read_records_what_check_since_needs(tmp_path: Path) -> None:
    (tmp_path / "orgs.yaml").write_text(SPEC, encoding="utf-8")
    spec = load_specs([str(tmp_path / "orgs.yaml")], {})
    live = LiveState((LiveOrganization(ACME, (DB,)),))
    tenant = reads.Tenant(
        domain="http://127.0.0.1",
        env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
        transport=InProcessTransport(
            app=create_app(live, EmulatorConfig(tokens={DEFAULT_TOKEN: ALL_SCOPES}))
        ),
    )
    state, _, why_none = reads.read_with_log_checkpoint(
        tenant, spec, spec.organizations, False, None
    )
    assert why_none is None and state.log_checkpoint is not None
    assert state.spec_sha256 == tuple(f.sha256 for f in spec.files)
    assert state.tool_version == __version__ and state.tenant == "127.0.0.1"
    assert [o.name for o in state.organizations] == ["acme"]
