"""The pipeline of each command, one function per command, each returning a value:

    spec -> declarations selected once -> live state -> matched once -> findings -> Report

`run_check` and `run_validate` return a `Report` in every outcome (in sync, drift, invalid input,
incomplete read), so the CLI renders every requested format whatever happened. Never prints.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from orgdrift import __version__
from orgdrift.accept import (
    apply_exceptions,
    baseline_fingerprints,
    mark_known,
    with_fingerprints,
)
from orgdrift.auth import canonical_host
from orgdrift.changes import changed_scope
from orgdrift.check import build_report, checks_unmanaged, evaluate, select
from orgdrift.client import RequestEvent
from orgdrift.errors import InputError, LiveStateError, Problem, UsageError
from orgdrift.export import export_spec
from orgdrift.fetch import Extras, LeftOut, Progress
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
from orgdrift.plan import Plan, build_plan
from orgdrift.reads import (
    Tenant,
    now,
    read_declared,
    read_everything,
    read_incremental,
    read_with_log_checkpoint,
)
from orgdrift.snapshot import load_snapshot
from orgdrift.spec import load_spec_bytes, load_spec_groups, load_specs


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
    # Incremental audits: --since SNAPSHOT reads the logs since its
    # checkpoint; --write-snapshot hands the new snapshot (and why it has no checkpoint, if so)
    # to `on_snapshot`; --no-full-fallback makes a needed full read exit 3.
    since: str | None = None
    full_fallback: bool = True
    on_snapshot: Callable[[LiveState, str | None], None] | None = None
    # `plan` (and the reports that show one): the declarations compared and the live state
    # read (or the snapshot), handed over before the comparison.
    on_live: Callable[[tuple[OrgDecl, ...], LiveState], None] | None = None


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """`orgdrift snapshot` and `export`: what to read."""

    tenant: Tenant
    specs: tuple[str, ...] = ()  # snapshot: read what these declare (none: everything)
    orgs: tuple[str, ...] = ()
    progress: Progress | None = None
    # export: the parts of the organization model to read and write (all by default)
    extras: Extras = field(default_factory=lambda: Extras(True, True, True, if_available=True))
    token_quota: bool = True


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
        snapshot = load_snapshot(options.snapshot) if options.snapshot is not None else None
        if snapshot is None:
            assert options.tenant is not None, "a check reads a snapshot or a tenant"
            tenant = options.tenant.host
        where = snapshot.tenant if snapshot is not None else tenant
        verify_spec_tenant(spec, where)
        known = _baseline(options.baseline, where)  # both refuse before any request
        if snapshot is not None:
            live, stats, basis = snapshot, Stats(), None
        else:
            assert options.tenant is not None
            live, stats, basis = _read_for_check(options, options.tenant, spec, decls, scope)
        if options.on_live is not None:
            options.on_live(tuple(decls), live)
        report = compare(
            spec,
            decls,
            live,
            stats,
            scope,
            from_snapshot=snapshot is not None,
            known=known,
            today=options.today,
        )
        return replace(report, basis=basis)
    except (UsageError, LiveStateError) as exc:
        seconds = time.monotonic() - started
        return _failed(exc, options.specs, scope=scope, tenant=tenant, seconds=seconds)


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """`orgdrift plan`: the check whose findings to plan for, and whether deletes are planned."""

    check: CheckOptions
    allow_delete: bool = False


def run_plan(options: PlanOptions) -> Plan:
    """`plan`: the check's findings, and the requests that would fix them (none are sent)."""
    seen: list[tuple[tuple[OrgDecl, ...], LiveState]] = []
    report = run_check(
        replace(options.check, on_live=lambda decls, live: seen.append((decls, live)))
    )
    decls, live = seen[-1] if seen else ((), None)
    return build_plan(report, decls, live, allow_delete=options.allow_delete)


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
        state, stats, _ = read_everything(options.tenant, options.orgs, options.progress)
        return (
            replace(state, tool_version=__version__),
            stats,
            "a snapshot of every organization (no spec) has no log checkpoint",
        )
    spec = load_specs(options.specs, options.tenant.env)
    verify_spec_tenant(spec, options.tenant.host)
    decls = select(spec, options.orgs)
    unmanaged = checks_unmanaged(spec, options.orgs)
    return read_with_log_checkpoint(options.tenant, spec, decls, unmanaged, options.progress)


def run_export(options: ReadOptions) -> tuple[str, LiveState, tuple[LeftOut, ...]]:
    """`export`: a spec declaring the tenant's organizations as they are; the parts of the
    organization model left out because the token or the tenant does not allow them, and why."""
    live, _, left_out = read_everything(
        options.tenant, options.orgs, options.progress, options.extras
    )
    return export_spec(live, token_quota=options.token_quota, left_out=left_out), live, left_out


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


def _read_for_check(
    options: CheckOptions, tenant: Tenant, spec: Spec, decls: Sequence[OrgDecl], scope: Scope
) -> tuple[LiveState, Stats, Basis | None]:
    """What `check` reads of the tenant: the logs since the `--since` snapshot and then only
    what they touched (or a full read saying why); a full read after the log checkpoint for
    `--write-snapshot`; else the selected declarations (nothing at all when none is in scope).
    A new snapshot goes to `options.on_snapshot`."""
    basis, why_none = None, None
    if options.since is not None:
        state, stats, basis, why_none = read_incremental(
            tenant,
            spec,
            decls,
            load_snapshot(options.since),
            list_all=scope.unmanaged,
            full_fallback=options.full_fallback,
            progress=options.progress,
        )
    elif options.on_snapshot is not None:
        state, stats, why_none = read_with_log_checkpoint(
            tenant, spec, decls, scope.unmanaged, options.progress
        )
    elif not decls and not scope.unmanaged:
        return LiveState((), tenant=tenant.host, taken_at=now()), Stats(), None
    else:
        state, stats = read_declared(tenant, decls, scope.unmanaged, options.progress)
    if options.on_snapshot is not None:
        options.on_snapshot(state, why_none)
    return state, stats, basis


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
    results = with_fingerprints(
        evaluate(spec, decls, live, check_unmanaged=scope.unmanaged), live.tenant
    )
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
    return replace(report, warnings=warnings)


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
    if isinstance(exc, InputError):
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
