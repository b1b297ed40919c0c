"""Orchestration of the commands that read a tenant: connect, read, compare, report.

Returns values; never prints. The CLI decides what to show and how to exit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import yaml

from orgdrift.auth import base_url_for, canonical_host, credentials_from_env
from orgdrift.check import build_report, checks_unmanaged, evaluate, select
from orgdrift.client import ClientOptions, ManagementClient, RequestEvent
from orgdrift.errors import DeadlineExceeded, ExitCode, OrgdriftError, UsageError
from orgdrift.fetch import Progress, fetch_everything, fetch_live
from orgdrift.models import CONNECTION_FLAGS, LiveOrganization, LiveState, Report, Spec, Stats


@dataclass(frozen=True, slots=True)
class Tenant:
    """Where and how to reach the Management API."""

    domain: str  # as given: a host, https:// URL, or a loopback http:// URL
    env: Mapping[str, str]
    options: ClientOptions = field(default_factory=ClientOptions)
    timeout: float | None = None  # bound on the whole read
    transport: httpx.AsyncBaseTransport | None = None  # in-process emulator, tests
    on_event: Callable[[RequestEvent], None] | None = None
    # Tests run the read in virtual time: an event loop whose clock jumps over waits, and a
    # matching wall clock. Every wait and deadline follows the running loop's clock.
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    wall_clock: Callable[[], float] = time.time

    @property
    def host(self) -> str:
        return canonical_host(self.domain)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_selection(spec: Spec, names: Sequence[str]) -> None:
    """Refuse an --org the spec does not declare (exit 2) before any request."""
    select(spec, names)


def verify_spec_tenant(spec: Spec, tenant: Tenant) -> None:
    """Refuse (exit 2) before any request when the spec names another tenant."""
    if spec.tenant_domain is None:
        return
    if canonical_host(spec.tenant_domain) != tenant.host:
        raise UsageError(
            f"the spec is for tenant {spec.tenant_domain!r} but the credentials are for "
            f"{tenant.host!r}; refusing to send credentials (set AUTH0_DOMAIN or --domain)"
        )


@asynccontextmanager
async def connect(tenant: Tenant) -> AsyncIterator[ManagementClient]:
    base_url = base_url_for(tenant.domain)
    credentials = credentials_from_env(tenant.env, base_url)
    options = tenant.options
    clock = asyncio.get_running_loop().time  # time.monotonic for the default loop
    loopback = base_url.startswith("http://")
    async with httpx.AsyncClient(
        transport=tenant.transport,
        timeout=options.request_timeout,
        follow_redirects=False,
        trust_env=not loopback,  # proxies and SSL_CERT_FILE for real tenants only
    ) as http:
        client = ManagementClient(
            http,
            base_url,
            credentials,
            options,
            clock=clock,
            wall_clock=tenant.wall_clock,
            on_event=tenant.on_event,
        )
        await client.check_scopes()
        yield client


def _run_read(tenant: Tenant, work: Callable[[ManagementClient], Any]) -> tuple[Any, Stats]:
    with asyncio.Runner(loop_factory=tenant.loop_factory) as runner:
        return runner.run(_bounded(tenant, work))


async def _bounded(tenant: Tenant, work: Callable[[ManagementClient], Any]) -> tuple[Any, Stats]:
    """Run `work` under the run's time limit (the one place that owns it); when it passes, say
    which requests could not be read. Every error leaving the read is redacted."""
    client: ManagementClient | None = None
    try:
        async with asyncio.timeout(tenant.timeout), connect(tenant) as client:
            result = await work(client)
            return result, client.stats
    except TimeoutError:
        raise DeadlineExceeded(_deadline_message(tenant, client)) from None
    except OrgdriftError as exc:
        raise exc if client is None else client.redact.scrub(exc) from None


def _deadline_message(tenant: Tenant, client: ManagementClient | None) -> str:
    unfinished = client.unfinished() if client is not None else []
    what = unfinished[0] if unfinished else "connecting (token request and scope check)"
    message = (
        f"the read did not finish within --timeout {tenant.timeout:g} s, so there is no verdict: "
        f"{what} was cut off"
    )
    more = len(unfinished) - 1
    if more > 0:
        message += f"; {more} more request{'s' if more != 1 else ''} unfinished"
    if client is not None:
        stats = client.stats
        sent = f"{stats.requests} request{'s' if stats.requests != 1 else ''} sent"
        message += f" ({sent}, {stats.rate_limited} answered 429). Raise --timeout to allow more"
    return message


def read_for_spec(
    tenant: Tenant, spec: Spec, names: Sequence[str], progress: Progress | None = None
) -> tuple[LiveState, Stats]:
    """The live state `check` needs for the selected declarations."""
    decls = select(spec, names)
    list_all = checks_unmanaged(spec, names)

    async def work(client: ManagementClient) -> LiveState:
        return await fetch_live(client, decls, list_all=list_all, tenant=tenant.host, progress=progress)

    state, stats = _run_read(tenant, work)
    return _stamped(state), stats


def read_everything(
    tenant: Tenant, names: Sequence[str], progress: Progress | None = None
) -> tuple[LiveState, Stats]:
    """Every organization (or the named ones) with its enabled connections."""

    async def work(client: ManagementClient) -> LiveState:
        return await fetch_everything(client, names, tenant=tenant.host, progress=progress)

    state, stats = _run_read(tenant, work)
    return _stamped(state), stats


def _stamped(state: LiveState) -> LiveState:
    return replace(state, taken_at=now())


def check(
    spec: Spec,
    names: Sequence[str],
    live: LiveState,
    stats: Stats,
    *,
    from_snapshot: bool = False,
) -> Report:
    decls = select(spec, names)
    results = evaluate(spec, decls, live, check_unmanaged=checks_unmanaged(spec, names))
    return build_report(
        spec, results, tenant=live.tenant, checked_at=now(), stats=stats, from_snapshot=from_snapshot
    )


def verdict(report: Report) -> ExitCode:
    return ExitCode.IN_SYNC if report.in_sync else ExitCode.DRIFT


# --- export --------------------------------------------------------------------------------


def export_spec(live: LiveState) -> str:
    """A spec declaring every organization of `live` as it is, which `check` finds in sync."""
    orgs = [_export_org(o) for o in sorted(live.organizations, key=lambda o: o.name)]
    document: dict[str, Any] = {"version": 1}
    if live.tenant:
        document["tenant"] = {"domain": live.tenant}
    document["organizations"] = orgs
    header = (
        "# yaml-language-server: $schema=https://raw.githubusercontent.com/orgdrift/orgdrift/"
        "main/schemas/orgdrift.schema.json\n"
        f"# Exported by orgdrift from {live.tenant or 'the tenant'} at {live.taken_at or now()}.\n"
    )
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def _export_org(org: LiveOrganization) -> dict[str, Any]:
    data = org.data
    out: dict[str, Any] = {"name": org.name, "id": org.id}
    if data.get("display_name"):
        out["display_name"] = data["display_name"]
    out["branding"] = data.get("branding") or {}
    out["metadata"] = data.get("metadata") or {}
    connections = []
    for item in sorted(org.connections or (), key=lambda c: str((c.get("connection") or {}).get("name"))):
        name = (item.get("connection") or {}).get("name")
        entry: dict[str, Any] = {"name": name} if name else {"connection_id": item["connection_id"]}
        entry.update({f: item[f] for f in CONNECTION_FLAGS if isinstance(item.get(f), bool)})
        connections.append(entry)
    out["connections"] = connections
    return out
