"""The pipeline of each command, one function per command, each returning a value:

    spec -> declarations selected once -> live state -> matched once -> findings -> Report

`run_check` and `run_validate` return a `Report` in every outcome (in sync, drift, invalid input,
incomplete read), so the CLI renders every requested format whatever happened. Never prints.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from orgdrift import __version__
from orgdrift.accept import (
    RuleWarning,
    apply_exceptions,
    baseline_fingerprints,
    mark_known,
    with_fingerprints,
)
from orgdrift.auth import base_url_for, canonical_host, credentials_from_env
from orgdrift.changes import changed_scope
from orgdrift.check import build_report, checks_unmanaged, evaluate, select
from orgdrift.client import ClientOptions, ManagementClient, RequestEvent
from orgdrift.errors import (
    DeadlineExceeded,
    LiveStateError,
    OrgdriftError,
    Problem,
    SpecError,
    UsageError,
)
from orgdrift.export import export_spec
from orgdrift.fetch import (
    Extras,
    Progress,
    extra_scopes,
    extras_scopes,
    fetch_everything,
    fetch_live,
)
from orgdrift.models import (
    Basis,
    Failure,
    LiveState,
    OrgDecl,
    Report,
    Scope,
    Source,
    Spec,
    SpecFile,
    Stats,
)
from orgdrift.since import Checkpoint, continuity_problem, read_since, read_with_checkpoint
from orgdrift.snapshot import load_snapshot
from orgdrift.spec import load_spec_bytes, load_spec_groups, load_specs


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

    @functools.cached_property
    def base_url(self) -> str:
        """`domain` normalised once (UsageError when it is not a valid domain or URL)."""
        if not self.domain:
            raise UsageError("no tenant: set AUTH0_DOMAIN or pass --domain")
        return base_url_for(self.domain)

    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[1]


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """`orgdrift check` (and `demo`): what to compare with what."""

    specs: tuple[str, ...]
    env: Mapping[str, str]
    orgs: tuple[str, ...] = ()  # --org
    snapshot: str | None = None  # --live FILE: compare with a saved snapshot, no network
    tenant: Tenant | None = None  # the live tenant, when there is no snapshot
    progress: Progress | None = None
    changed_from: str | None = None  # --changed-from GIT_REF: only declarations changed since
    baseline: str | None = None  # --baseline REPORT.json: its findings are known, not failing
    today: date | None = None  # when exceptions expire against (default: today, UTC)
    # Incremental audits (design.md section 11): --since SNAPSHOT reads the logs since its
    # checkpoint; --write-snapshot hands the new snapshot (and why it has no checkpoint, if so)
    # to `on_snapshot`; --no-full-fallback makes a needed full read exit 3.
    since: str | None = None
    full_fallback: bool = True
    on_snapshot: Callable[[LiveState, str | None], None] | None = None


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """`orgdrift snapshot` and `export`: what to read."""

    tenant: Tenant
    specs: tuple[str, ...] = ()  # snapshot: read what these declare (none: everything)
    orgs: tuple[str, ...] = ()
    progress: Progress | None = None
    # export: the parts of the organization model to read and write (all by default)
    extras: Extras = field(default_factory=lambda: Extras(True, True, True))
    token_quota: bool = True


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the commands --------------------------------------------------------------------------


def run_validate(
    specs: Sequence[str], env: Mapping[str, str], *, per_directory: bool = False
) -> Report:
    """`validate`: the spec checked, no network. An invalid spec is a report, not an error.
    With `per_directory`, the files of each directory are one spec (one tenant each)."""
    try:
        groups = load_spec_groups(specs, env, per_directory=per_directory)
    except UsageError as exc:
        return _failed(exc, specs, source="spec")
    files = tuple(f for spec in groups for f in spec.files)
    scope = Scope(declared=sum(len(spec.organizations) for spec in groups))
    return _report(files, stats=Stats(), source="spec", scope=scope, tenant=None)


def run_check(options: CheckOptions) -> Report:
    """`check`: the report in every outcome; only a bug or an interrupt raises."""
    started = time.monotonic()
    scope = Scope(options.orgs, changed_from=options.changed_from, baseline=options.baseline)
    tenant: str | None = None
    try:
        spec = load_specs(options.specs, options.env)
        decls = select(spec, options.orgs)
        changes = None
        if options.changed_from is not None:
            changes = changed_scope(options.changed_from, options.specs, spec, options.env)
            decls = tuple(d for d in decls if changes.selects(d))
        scope = replace(
            scope,
            declared=len(decls),
            unmanaged=checks_unmanaged(spec, options.orgs),
            changes=changes.reason if changes else None,
        )
        basis = None
        if options.snapshot is not None:
            snapshot = load_snapshot(options.snapshot)
            verify_spec_tenant(spec, snapshot.tenant)
            known = _baseline(options.baseline, snapshot.tenant)
            live, stats = snapshot, Stats()
        elif options.since is not None or options.on_snapshot is not None:
            assert options.tenant is not None, "an incremental check reads a tenant"
            tenant = options.tenant.host
            verify_spec_tenant(spec, tenant)
            known = _baseline(options.baseline, tenant)  # refused before any request
            live, stats, basis = read_incremental(options, options.tenant, spec, decls, scope)
        else:
            assert options.tenant is not None, "a check reads a snapshot or a tenant"
            tenant = options.tenant.host
            verify_spec_tenant(spec, tenant)
            known = _baseline(options.baseline, tenant)  # refused before any request
            if not decls and not scope.unmanaged:  # nothing in scope: no request at all
                live, stats = LiveState((), tenant=tenant, taken_at=now()), Stats()
            else:
                live, stats = read_declared(options.tenant, decls, scope.unmanaged, options.progress)
        report = compare(
            spec,
            decls,
            live,
            stats,
            scope,
            from_snapshot=options.snapshot is not None,
            known=known,
            today=options.today,
        )
        return report if basis is None else replace(report, basis=basis)
    except (UsageError, LiveStateError) as exc:
        seconds = time.monotonic() - started
        return _failed(exc, options.specs, scope=scope, tenant=tenant, seconds=seconds)


def _baseline(path: str | None, tenant: str | None) -> frozenset[str] | None:
    """The fingerprints of the baseline report's findings (exit 2 when it cannot serve)."""
    if path is None:
        return None
    try:
        document = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise UsageError(f"--baseline {path}: cannot read file: {exc.strerror}") from None
    except (ValueError, RecursionError):
        raise UsageError(f"--baseline {path}: not a JSON document") from None
    return baseline_fingerprints(document, tenant, path)


def run_demo(orgs: Sequence[str], on_event: Callable[[RequestEvent], None] | None) -> Report:
    """`demo`: the example spec against the example tenant, emulated in process."""
    from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app
    from orgdrift.resources import demo_bytes
    from orgdrift.snapshot import parse_snapshot

    spec = load_spec_bytes("examples/orgs.yaml", demo_bytes("orgs.yaml"), {})
    state = parse_snapshot("examples/tenant.json", demo_bytes("tenant.json"))
    tenant = Tenant(
        domain="http://127.0.0.1",
        env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
        transport=httpx.ASGITransport(app=create_app(state, EmulatorConfig.enterprise())),
        on_event=on_event,
    )
    decls = select(spec, orgs)
    scope = Scope(tuple(orgs), len(decls), checks_unmanaged(spec, orgs))
    live, stats = read_declared(tenant, decls, scope.unmanaged)
    return compare(spec, decls, live, stats, scope)


def run_snapshot(options: ReadOptions) -> tuple[LiveState, Stats, str | None]:
    """`snapshot`: the live state the specs need (every organization without specs), with the
    log checkpoint read first and the spec files' sha256 and the tool version recorded, so that
    `check --since` can start from it. The third value says why there is no checkpoint (None
    when there is one)."""
    if not options.specs:
        state, stats = read_everything(options.tenant, options.orgs, options.progress)
        return replace(state, tool_version=__version__), stats, "a snapshot of every organization (no spec) has no log checkpoint"
    spec = load_specs(options.specs, options.tenant.env)
    verify_spec_tenant(spec, options.tenant.host)
    decls = select(spec, options.orgs)
    unmanaged = checks_unmanaged(spec, options.orgs)
    host = options.tenant.host

    async def work(client: ManagementClient) -> tuple[LiveState, Checkpoint]:
        return await read_with_checkpoint(
            client, decls, list_all=unmanaged, tenant=host, progress=options.progress
        )

    (state, checkpoint), stats = _run_read(options.tenant, work)
    hashes = tuple(sorted(f.sha256 for f in spec.files))
    state = replace(_stamped(state), spec_sha256=hashes, tool_version=__version__)
    return state, stats, checkpoint.why_none


def run_export(options: ReadOptions) -> tuple[str, LiveState]:
    """`export`: a spec declaring the tenant's organizations as they are."""
    live, _ = read_everything(options.tenant, options.orgs, options.progress, options.extras)
    return export_spec(live, token_quota=options.token_quota), live


# --- the stages ----------------------------------------------------------------------------


def verify_spec_tenant(spec: Spec, host: str | None) -> None:
    """Refuse (exit 2) before any request when the spec names another tenant than `host`."""
    if spec.tenant_domain is None or host is None:
        return
    if canonical_host(spec.tenant_domain) != canonical_host(host):
        raise UsageError(
            f"the spec is for tenant {spec.tenant_domain!r} but the credentials are for "
            f"{host!r}; refusing to send credentials (set AUTH0_DOMAIN or --domain)"
        )


@asynccontextmanager
async def connect(tenant: Tenant, scopes: tuple[str, ...] = ()) -> AsyncIterator[ManagementClient]:
    """A client for `tenant` whose token was checked for the usual scopes and `scopes`."""
    base_url = tenant.base_url
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
        await client.check_scopes(scopes)
        yield client


def _run_read(
    tenant: Tenant, work: Callable[[ManagementClient], Any], scopes: tuple[str, ...] = ()
) -> tuple[Any, Stats]:
    with asyncio.Runner(loop_factory=tenant.loop_factory) as runner:
        return runner.run(_bounded(tenant, work, scopes))


async def _bounded(
    tenant: Tenant, work: Callable[[ManagementClient], Any], scopes: tuple[str, ...] = ()
) -> tuple[Any, Stats]:
    """Run `work` under the run's time limit (the one place that owns it); when it passes, say
    which requests could not be read. Every error leaving the read is redacted."""
    client: ManagementClient | None = None
    try:
        async with asyncio.timeout(tenant.timeout), connect(tenant, scopes) as client:
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


def read_declared(
    tenant: Tenant, decls: Sequence[OrgDecl], list_all: bool, progress: Progress | None = None
) -> tuple[LiveState, Stats]:
    """The live state `check` needs for the selected declarations."""

    async def work(client: ManagementClient) -> LiveState:
        return await fetch_live(client, decls, list_all=list_all, tenant=tenant.host, progress=progress)

    state, stats = _run_read(tenant, work, extra_scopes(decls))
    return _stamped(state), stats


def read_everything(
    tenant: Tenant,
    names: Sequence[str],
    progress: Progress | None = None,
    extras: Extras | None = None,
) -> tuple[LiveState, Stats]:
    """Every organization (or the named ones) with its enabled connections, and what `extras`
    asks for of the rest of the organization model (nothing by default)."""
    extras = extras or Extras()

    async def work(client: ManagementClient) -> LiveState:
        return await fetch_everything(
            client, names, tenant=tenant.host, progress=progress, extras=extras
        )

    state, stats = _run_read(tenant, work, extras_scopes(extras))
    return _stamped(state), stats


def read_incremental(
    options: CheckOptions, tenant: Tenant, spec: Spec, decls: Sequence[OrgDecl], scope: Scope
) -> tuple[LiveState, Stats, Basis | None]:
    """`check --since` (the logs since the snapshot, then only what they touched; or a full
    read saying why) and `check --write-snapshot` (a full read, the log checkpoint first).
    The new snapshot goes to `options.on_snapshot`."""
    hashes = tuple(sorted(f.sha256 for f in spec.files))
    previous = load_snapshot(options.since) if options.since is not None else None

    async def work(client: ManagementClient) -> tuple[LiveState, Checkpoint, Basis | None]:
        if previous is None:
            state, checkpoint = await read_with_checkpoint(
                client, decls, list_all=scope.unmanaged, tenant=tenant.host,
                progress=options.progress,
            )
            return state, checkpoint, None
        problem = continuity_problem(
            previous, spec_sha256=hashes, tool_version=__version__, tenant=tenant.host,
            unmanaged=scope.unmanaged,
        )
        done = await read_since(
            client, previous, decls, list_all=scope.unmanaged, tenant=tenant.host,
            progress=options.progress, problem=problem, full_fallback=options.full_fallback,
        )
        return done.state, done.checkpoint, done.basis

    (state, checkpoint, basis), stats = _run_read(tenant, work)
    state = replace(_stamped(state), spec_sha256=hashes, tool_version=__version__)
    if options.on_snapshot is not None:
        options.on_snapshot(state, checkpoint.why_none)
    return state, stats, basis


def _stamped(state: LiveState) -> LiveState:
    return replace(state, taken_at=now())


def compare(
    spec: Spec,
    decls: Sequence[OrgDecl],
    live: LiveState,
    stats: Stats,
    scope: Scope,
    *,
    from_snapshot: bool = False,
    known: frozenset[str] | None = None,
    today: date | None = None,
) -> Report:
    """The declarations matched once with the live state, the findings with their fingerprints,
    the spec's exceptions and the baseline applied, the report."""
    results = with_fingerprints(evaluate(spec, decls, live, check_unmanaged=scope.unmanaged), live.tenant)
    results, warnings = apply_exceptions(
        results, spec.exceptions, today or datetime.now(UTC).date(), partial=scope.partial
    )
    if known is not None:
        results = mark_known(results, known)
    report = build_report(
        spec,
        results,
        tenant=live.tenant,
        checked_at=now(),
        stats=stats,
        from_snapshot=from_snapshot,
        scope=scope,
    )
    return replace(report, warnings=tuple(_warning(w) for w in warnings))


def _warning(warning: RuleWarning) -> Problem:
    where = warning.location
    return Problem(where.file, where.line, where.column, "", warning.message)


# --- reports without a verdict -------------------------------------------------------------


def _failed(
    exc: UsageError | LiveStateError,
    specs: Sequence[str],
    *,
    source: Source = "api",
    scope: Scope | None = None,
    tenant: str | None = None,
    seconds: float = 0.0,
) -> Report:
    """An invalid input (exit 2) or an incomplete read (exit 3), as a report with no verdict."""
    if isinstance(exc, SpecError):
        problems = exc.problems
        message = exc.message.splitlines()[0].rstrip(":")
    else:
        problems = (Problem("", 0, 0, "", exc.message),) if isinstance(exc, UsageError) else ()
        message = exc.message
    failure = Failure(exc.exit_code, message, problems)
    return _report(
        _spec_files(specs),
        stats=Stats(seconds=seconds),
        source=source,
        scope=scope or Scope(),
        tenant=tenant,
        failure=failure,
    )


def _report(
    files: tuple[SpecFile, ...],
    *,
    stats: Stats,
    source: Source,
    scope: Scope,
    tenant: str | None,
    failure: Failure | None = None,
) -> Report:
    return Report(
        tool_version=__version__,
        tenant=tenant,
        checked_at=now(),
        spec_files=files,
        organizations=(),
        stats=stats,
        source=source,
        scope=scope,
        failure=failure,
    )


def _spec_files(paths: Sequence[str]) -> tuple[SpecFile, ...]:
    """The spec files that could be read, with their sha256 (the spec itself may be invalid)."""
    files = []
    for path in paths:
        try:
            files.append(SpecFile(path, hashlib.sha256(Path(path).read_bytes()).hexdigest()))
        except OSError:
            continue
    return tuple(files)
