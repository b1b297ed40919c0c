"""Reading the tenant: where it is (`Tenant`), a client connected to it, and each read run under
the run's time limit, the one place that owns it (`asyncio.timeout`, and the message saying which
requests were cut off). Every error leaving a read is redacted. Never prints."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from typing import TypeVar

import httpx

from orgdrift import __version__
from orgdrift.auth import base_url_for, credentials_from_env
from orgdrift.client import ClientOptions, ManagementClient, RequestEvent
from orgdrift.errors import DeadlineExceeded, LiveStateError, OrgdriftError, UsageError
from orgdrift.fetch import (
    Extras,
    LeftOut,
    Progress,
    extra_scopes,
    extras_scopes,
    fetch_everything,
    fetch_live,
)
from orgdrift.models import Basis, LiveState, OrgDecl, Spec, Stats, now
from orgdrift.since import continuity_problem, read_since, read_with_checkpoint

T = TypeVar("T")


@dataclass(frozen=True)
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

    @cached_property
    def base_url(self) -> str:
        """`domain` normalised once (UsageError when it is not a valid domain or URL)."""
        if not self.domain:
            raise UsageError("no tenant: set AUTH0_DOMAIN or pass --domain")
        return base_url_for(self.domain)

    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[1]


@asynccontextmanager
async def connect(tenant: Tenant, scopes: tuple[str, ...] = ()) -> AsyncIterator[ManagementClient]:
    """A client for `tenant` whose token was checked for the usual scopes and `scopes`."""
    base_url = tenant.base_url
    credentials = credentials_from_env(tenant.env, base_url)
    clock = asyncio.get_running_loop().time  # time.monotonic for the default loop
    async with httpx.AsyncClient(
        transport=tenant.transport,
        timeout=tenant.options.request_timeout,
        follow_redirects=False,
        trust_env=not base_url.startswith("http://"),  # proxies and SSL_CERT_FILE: real tenants
    ) as http:
        client = ManagementClient(
            http,
            base_url,
            credentials,
            tenant.options,
            clock=clock,
            wall_clock=tenant.wall_clock,
            on_event=tenant.on_event,
        )
        await client.check_scopes(scopes)
        yield client


def _run_read(
    tenant: Tenant, work: Callable[[ManagementClient], Awaitable[T]], scopes: tuple[str, ...]
) -> tuple[T, Stats]:
    """Run `work` under the run's time limit (the one place that owns it); when it passes, say
    which requests could not be read. Every error leaving the read is redacted."""

    async def bounded() -> tuple[T, Stats]:
        client: ManagementClient | None = None
        try:
            async with asyncio.timeout(tenant.timeout), connect(tenant, scopes) as client:
                return await work(client), client.stats
        except TimeoutError:
            raise _scoped(DeadlineExceeded(_deadline_message(tenant, client)), client) from None
        except OrgdriftError as exc:
            raise exc if client is None else _scoped(client.redact.scrub(exc), client) from None

    with asyncio.Runner(loop_factory=tenant.loop_factory) as runner:
        return runner.run(bounded())


def _scoped(error: BaseException, client: ManagementClient | None) -> BaseException:
    """`error` carrying the scopes the read needed and was granted, when it is a failed read
    (exit 3) of a connected client: the report's evidence records them."""
    if isinstance(error, LiveStateError) and client is not None:
        stats = client.stats
        error.scopes_required, error.scopes_granted = stats.scopes_required, stats.scopes_granted
    return error


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


def read_declared(
    tenant: Tenant, decls: Sequence[OrgDecl], list_all: bool, progress: Progress | None = None
) -> tuple[LiveState, Stats]:
    """The live state `check` needs for the selected declarations."""

    async def work(client: ManagementClient) -> LiveState:
        state = await fetch_live(
            client, decls, list_all=list_all, tenant=tenant.host, progress=progress
        )
        return replace(state, connection_names=await _connection_names(client, decls, state))

    state, stats = _run_read(tenant, work, extra_scopes(decls))
    return _stamped(state), stats


CONNECTIONS_SCOPE = "read:connections"


async def _connection_names(
    client: ManagementClient, decls: Sequence[OrgDecl], state: LiveState
) -> frozenset[str] | None:
    """Every connection name of the tenant, to say that a declared connection does not exist;
    read only when a connection declared by name is enabled in none of the organizations read
    and the token is known to hold read:connections (no request otherwise). Only a hint: a
    failure to read them leaves it out."""
    enabled = {
        (item.get("connection") or {}).get("name")
        for org in state.organizations
        for item in (*(org.connections or ()), *(org.connection_view or ()))
    }
    declared = {c.name for d in decls for c in d.connections or () if c.name is not None}
    if declared <= enabled:
        return None
    granted = await client.granted_scopes()
    if granted is None or CONNECTIONS_SCOPE not in granted:
        return None
    try:
        return await client.list_connection_names()
    except LiveStateError:
        return None


def read_everything(
    tenant: Tenant,
    names: Sequence[str],
    progress: Progress | None = None,
    extras: Extras | None = None,
) -> tuple[LiveState, Stats, tuple[LeftOut, ...]]:
    """Every organization (or the named ones) with its enabled connections, and what `extras`
    asks for of the rest of the organization model (nothing by default); the parts left out
    and why (`Extras.if_available`)."""
    extras = extras or Extras()
    work = partial(
        fetch_everything, names=names, tenant=tenant.host, progress=progress, extras=extras
    )
    (state, left_out), stats = _run_read(tenant, work, extras_scopes(extras))
    return _stamped(state), stats, left_out


def read_incremental(
    tenant: Tenant,
    spec: Spec,
    decls: Sequence[OrgDecl],
    previous: LiveState,
    *,
    list_all: bool,
    full_fallback: bool,
    progress: Progress | None,
) -> tuple[LiveState, Stats, Basis, str | None]:
    """`check --since`: the logs since the `previous` snapshot's checkpoint, then only what they
    touched (or a full read saying why in the basis); the next snapshot, its basis, and why it
    has no checkpoint (None when it has one)."""
    problem = continuity_problem(
        previous, tool_version=__version__, tenant=tenant.host, unmanaged=list_all
    )
    work = partial(
        read_since,
        previous=previous,
        decls=decls,
        list_all=list_all,
        tenant=tenant.host,
        progress=progress,
        problem=problem,
        full_fallback=full_fallback,
    )
    done, stats = _run_read(tenant, work, extra_scopes(decls))
    return _versioned(done.state, spec), stats, done.basis, done.checkpoint.why_none


def read_with_log_checkpoint(
    tenant: Tenant, spec: Spec, decls: Sequence[OrgDecl], list_all: bool, progress: Progress | None
) -> tuple[LiveState, Stats, str | None]:
    """`read_declared` with the log checkpoint read first and the spec recorded, so that `check
    --since` can start from the state; the third value says why there is no checkpoint."""
    work = partial(
        read_with_checkpoint, decls=decls, list_all=list_all, tenant=tenant.host, progress=progress
    )
    (state, checkpoint), stats = _run_read(tenant, work, extra_scopes(decls))
    return _versioned(state, spec), stats, checkpoint.why_none


def _versioned(state: LiveState, spec: Spec) -> LiveState:
    """`state` as a snapshot `check --since` can start from: stamped, with the spec and tool."""
    hashes = tuple(sorted(f.sha256 for f in spec.files))
    return replace(_stamped(state), spec_sha256=hashes, tool_version=__version__)


def _stamped(state: LiveState) -> LiveState:
    return replace(state, taken_at=now())
