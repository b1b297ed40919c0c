"""The pipeline of each command: one frozen options value in, one result out in every outcome (an
invalid input or an incomplete read is the result's `Failure`, not an exception, so the CLI
renders every requested format whatever happened; a `Report` for validate, check and demo).
Only a bug or an interrupt raises. Never prints.

    spec -> declarations selected once -> live state -> matched once -> findings -> Report
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from orgdrift import __version__
from orgdrift.accept import apply_exceptions, baseline_fingerprints, mark_known, with_fingerprints
from orgdrift.auth import canonical_host
from orgdrift.changes import changed_scope
from orgdrift.check import checks_unmanaged, evaluate, select
from orgdrift.errors import InputError, LiveStateError, Problem, UsageError
from orgdrift.evidence import live_state_sha256, with_commits
from orgdrift.export import export_spec
from orgdrift.fetch import Extras, LeftOut, Progress
from orgdrift.inputs import read_input
from orgdrift.models import (
    Basis,
    Evidence,
    Failure,
    LiveFrom,
    LiveState,
    OrgDecl,
    OrgResult,
    Report,
    Scope,
    SnapshotFile,
    Spec,
    SpecFile,
    Stats,
    now,
)
from orgdrift.plan import Plan, build_plan
from orgdrift.reporters.json_report import read_report
from orgdrift.snapshot import load_snapshot_file
from orgdrift.spec import load_spec_bytes, load_spec_groups, load_specs
from orgdrift.yamlload import MAX_BYTES

if TYPE_CHECKING:  # the read modules (and httpx) only when a command reads: not for validate
    from orgdrift.client import RequestEvent
    from orgdrift.reads import Tenant


@dataclass(frozen=True, slots=True)
class ValidateOptions:
    """`orgdrift validate`: the spec files; with `per_directory`, each directory is one spec."""

    specs: tuple[str, ...]
    env: Mapping[str, str]
    per_directory: bool = False


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """`orgdrift demo`: the example spec against the example tenant, emulated in process."""

    orgs: tuple[str, ...] = ()
    on_event: Callable[[RequestEvent], None] | None = None


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """`orgdrift check` (and `plan`): what to compare with what."""

    specs: tuple[str, ...]
    env: Mapping[str, str]
    orgs: tuple[str, ...] = ()  # --org
    snapshot: str | None = None  # --live FILE: compare with a saved snapshot, no network
    tenant: Tenant | None = None  # the live tenant, when there is no snapshot
    progress: Progress | None = None
    changed_from: str | None = None  # --changed-from GIT_REF: only declarations changed since
    baseline: str | None = None  # --baseline REPORT.json: its findings are known, not failing
    # Incremental audits: --since SNAPSHOT reads the logs since its checkpoint; --write-snapshot
    # hands the new snapshot (and why it has no checkpoint, if so) to `on_snapshot`;
    # --no-full-fallback makes a needed full read exit 3.
    since: str | None = None
    full_fallback: bool = True
    on_snapshot: Callable[[LiveState, str | None], None] | None = None
    ci_run_url: str | None = None  # the CI run, for the evidence (the CLI reads it)


@dataclass(frozen=True, slots=True)
class SnapshotOptions:
    """`orgdrift snapshot`: what to read."""

    tenant: Tenant
    specs: tuple[str, ...] = ()  # read what these declare (none: every organization)
    orgs: tuple[str, ...] = ()
    progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """The live state read (empty when the read failed), and why it has no log checkpoint."""

    state: LiveState
    stats: Stats
    no_checkpoint: str | None = None  # why there is no log checkpoint (None: there is one)
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """`orgdrift export`: what to read, and the parts of the organization model to write."""

    tenant: Tenant
    orgs: tuple[str, ...] = ()
    progress: Progress | None = None
    extras: Extras = field(default_factory=lambda: Extras(True, True, True, if_available=True))
    token_quota: bool = True


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The spec written (empty when the read failed), how many organizations it declares, and
    the parts of the organization model left out because the token or the tenant forbids them."""

    text: str
    organizations: int
    left_out: tuple[LeftOut, ...] = ()
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """`orgdrift report`: earlier JSON reports of one tenant and one spec, in any order."""

    reports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PageResult:
    """The HTML page (empty when a report could not be read)."""

    page: str
    failure: Failure | None = None


# --- the commands --------------------------------------------------------------------------


def run_validate(options: ValidateOptions) -> Report:
    """`validate`: the spec checked, no network. An invalid spec is a report, not an error."""
    try:
        groups = load_spec_groups(options.specs, options.env, per_directory=options.per_directory)
    except UsageError as exc:
        return _failed(exc, options.specs, live_from="spec")
    files = tuple(f for spec in groups for f in spec.files)
    scope = Scope(declared=sum(len(spec.organizations) for spec in groups))
    return _report(files, stats=Stats(), live_from="spec", scope=scope, tenant=None)


def run_check(options: CheckOptions) -> Report:
    """`check`: the report in every outcome, with its evidence; only a bug or an interrupt
    raises."""
    return _check(options)[0]


Compared = tuple[Report, tuple[OrgDecl, ...], LiveState | None]
"""A check's report, and the declarations and the live state it compared (none: a failure)."""


def _check(options: CheckOptions) -> Compared:
    started_at, started = now(), time.monotonic()
    read: list[SnapshotFile] = []  # the snapshot files read (--live, --since), by their bytes
    scope = Scope(options.orgs, changed_from=options.changed_from, baseline=options.baseline)
    tenant: str | None = None
    try:
        spec = load_specs(options.specs, options.env)
        decls, scope = _selected(options, spec, scope)
        snapshot = _snapshot_file(options.snapshot, "read", read)
        live = options.tenant if snapshot is None else snapshot
        if live is None:
            raise UsageError("check compares with a tenant or a snapshot (--live): none given")
        since = _snapshot_file(options.since, "since", read) if snapshot is None else None
        where = live.tenant if isinstance(live, LiveState) else live.host
        tenant = None if isinstance(live, LiveState) else where
        verify_spec_tenant(spec, where)
        known = None  # the baseline's findings; both refuse before any request
        if options.baseline is not None:
            baseline = read_report(options.baseline).report
            known = baseline_fingerprints(baseline, where, options.baseline)
        if isinstance(live, LiveState):
            state, stats, basis = live, Stats(), None
        else:
            state, stats, basis = _read_for_check(options, live, spec, decls, scope, since)
        compared: tuple[tuple[OrgDecl, ...], LiveState | None] = (decls, state)
        live_from: LiveFrom = "api" if snapshot is None else "snapshot"
        report = assess(spec, decls, state, stats, scope, live_from=live_from, known=known)
        report = replace(report, basis=basis)
    except (UsageError, LiveStateError) as exc:
        seconds = time.monotonic() - started
        report = _failed(exc, options.specs, scope=scope, tenant=tenant, seconds=seconds)
        compared = ((), None)
    evidence = Evidence(
        started_at=started_at,
        finished_at=now(),
        live_sha256=report.evidence.live_sha256,
        snapshots=tuple(read),
        ci_run_url=options.ci_run_url,
    )
    report = replace(report, spec_files=with_commits(report.spec_files), evidence=evidence)
    return report, *compared


def _selected(options: CheckOptions, spec: Spec, scope: Scope) -> tuple[tuple[OrgDecl, ...], Scope]:
    """The declarations `--org` and `--changed-from` select, and the scope they make."""
    decls = select(spec, options.orgs)
    changes = None
    if options.changed_from is not None:
        changes = changed_scope(options.changed_from, options.specs, spec, options.env)
        decls = tuple(d for d in decls if changes.selects(d))
    return decls, replace(
        scope,
        declared=len(decls),
        unmanaged=checks_unmanaged(spec, options.orgs),
        changes=changes.reason if changes else None,
    )


def _snapshot_file(
    path: str | None, role: Literal["read", "since"], read: list[SnapshotFile]
) -> LiveState | None:
    """The snapshot file at `path` (None: no such option), its digest added to `read`."""
    if path is None:
        return None
    state, digest = load_snapshot_file(path)
    read.append(SnapshotFile(path, digest, role))
    return state


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """`orgdrift plan` (and the plan in check's and demo's Markdown and HTML reports): the check
    or demo whose findings to plan for, and whether deletes are planned."""

    check: CheckOptions | DemoOptions
    allow_delete: bool = False


def run_plan(options: PlanOptions) -> Plan:
    """`plan`: the check's findings, and the requests that would fix them (none are sent)."""
    check = options.check
    report, decls, live = _demo(check) if isinstance(check, DemoOptions) else _check(check)
    return build_plan(report, decls, live, allow_delete=options.allow_delete)


def run_demo(options: DemoOptions) -> Report:
    """`demo`: the example spec against the example tenant, emulated in process; a report in
    every outcome (an --org that matches nothing is an invalid one)."""
    return _demo(options)[0]


def _demo(options: DemoOptions) -> Compared:
    from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, InProcessTransport, create_app
    from orgdrift.reads import Tenant, read_declared
    from orgdrift.resources import demo_bytes
    from orgdrift.snapshot import parse_snapshot

    spec = load_spec_bytes("examples/orgs.yaml", demo_bytes("orgs.yaml"), {})
    state = parse_snapshot("examples/tenant.json", demo_bytes("tenant.json"))
    tenant = Tenant(
        domain="http://127.0.0.1",
        env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
        transport=InProcessTransport(app=create_app(state, EmulatorConfig.enterprise())),
        on_event=options.on_event,
    )
    scope = Scope(options.orgs)
    try:
        decls = select(spec, options.orgs)
        scope = Scope(options.orgs, len(decls), checks_unmanaged(spec, options.orgs))
        live, stats = read_declared(tenant, decls, scope.unmanaged)
    except (UsageError, LiveStateError) as exc:
        return replace(_failed(exc, (), scope=scope), spec_files=spec.files), (), None
    return assess(spec, decls, live, stats, scope), decls, live


def run_snapshot(options: SnapshotOptions) -> SnapshotResult:
    """`snapshot`: the live state the specs need (every organization without specs), with the
    log checkpoint read first and the spec files' sha256 and the tool version recorded, so that
    `check --since` can start from it."""
    from orgdrift.reads import read_everything, read_with_log_checkpoint

    try:
        if not options.specs:
            state, stats, _ = read_everything(options.tenant, options.orgs, options.progress)
            return SnapshotResult(
                replace(state, tool_version=__version__),
                stats,
                "a snapshot of every organization (no spec) has no log checkpoint",
            )
        spec = load_specs(options.specs, options.tenant.env)
        verify_spec_tenant(spec, options.tenant.host)
        decls = select(spec, options.orgs)
        unmanaged = checks_unmanaged(spec, options.orgs)
        state, stats, why = read_with_log_checkpoint(
            options.tenant, spec, decls, unmanaged, options.progress
        )
        return SnapshotResult(state, stats, why)
    except (UsageError, LiveStateError) as exc:
        return SnapshotResult(LiveState(()), Stats(), failure=failure_of(exc))


def run_export(options: ExportOptions) -> ExportResult:
    """`export`: a spec declaring the tenant's organizations as they are; the parts of the
    organization model left out because the token or the tenant does not allow them, and why."""
    from orgdrift.reads import read_everything

    try:
        live, _, left_out = read_everything(
            options.tenant, options.orgs, options.progress, options.extras
        )
    except (UsageError, LiveStateError) as exc:
        return ExportResult("", 0, failure=failure_of(exc))
    text = export_spec(live, token_quota=options.token_quota, left_out=left_out)
    return ExportResult(text, len(live.organizations), left_out)


def run_report(options: ReportOptions) -> PageResult:
    """`report`: the audit page of the latest JSON report with the history of all of them."""
    from orgdrift.reporters.history import render_history

    try:
        return PageResult(render_history(options.reports))
    except UsageError as exc:
        return PageResult("", failure_of(exc))


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
    options: CheckOptions,
    tenant: Tenant,
    spec: Spec,
    decls: Sequence[OrgDecl],
    scope: Scope,
    since: LiveState | None,
) -> tuple[LiveState, Stats, Basis | None]:
    """What `check` reads of the tenant: the logs since the `--since` snapshot and then only
    what they touched (or a full read saying why); a full read after the log checkpoint for
    `--write-snapshot`; else the selected declarations (nothing at all when none is in scope).
    A new snapshot goes to `options.on_snapshot`."""
    from orgdrift.reads import read_declared, read_incremental, read_with_log_checkpoint

    basis, why_none = None, None
    if since is not None:
        state, stats, basis, why_none = read_incremental(
            tenant,
            spec,
            decls,
            since,
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


def assess(
    spec: Spec,
    decls: Sequence[OrgDecl],
    live: LiveState,
    stats: Stats,
    scope: Scope,
    *,
    live_from: LiveFrom = "api",
    known: frozenset[str] | None = None,
) -> Report:
    """The declarations matched once with the live state, the findings with their fingerprints,
    the spec's exceptions and the baseline applied, the report."""
    results = with_fingerprints(
        evaluate(spec, decls, live, check_unmanaged=scope.unmanaged), live.tenant
    )
    results, warnings = apply_exceptions(
        results, spec.exceptions, datetime.now(UTC).date(), partial=scope.partial
    )
    if known is not None:
        results = mark_known(results, known)
    report = _report(
        spec.files, results, tenant=live.tenant, stats=stats, live_from=live_from, scope=scope
    )
    return replace(
        report, warnings=warnings, evidence=Evidence(live_sha256=live_state_sha256(live))
    )


# --- reports without a verdict -------------------------------------------------------------


def _failed(
    exc: UsageError | LiveStateError,
    specs: Sequence[str],
    *,
    live_from: LiveFrom = "api",
    scope: Scope | None = None,
    tenant: str | None = None,
    seconds: float = 0.0,
) -> Report:
    """An invalid input (exit 2) or an incomplete read (exit 3), as a report with no verdict."""
    failure = failure_of(exc)
    stats = Stats(seconds=seconds)
    if isinstance(exc, LiveStateError):  # the scopes, when the read got far enough to know them
        stats = replace(
            stats, scopes_required=exc.scopes_required, scopes_granted=exc.scopes_granted
        )
    return _report(
        _spec_files(specs),
        stats=stats,
        live_from=live_from,
        scope=scope or Scope(),
        tenant=tenant,
        failure=failure,
    )


def failure_of(exc: UsageError | LiveStateError) -> Failure:
    """Why a command stopped: the problems of an invalid input (exit 2), a usage error as one
    problem without a file, or what could not be read (exit 3)."""
    if isinstance(exc, InputError):
        return Failure(exc.exit_code, exc.message.splitlines()[0].rstrip(":"), exc.problems)
    problems = (Problem("", 0, 0, "", exc.message),) if isinstance(exc, UsageError) else ()
    return Failure(exc.exit_code, exc.message, problems)


def _report(
    files: tuple[SpecFile, ...],
    organizations: tuple[OrgResult, ...] = (),
    *,
    stats: Stats,
    live_from: LiveFrom,
    scope: Scope,
    tenant: str | None,
    failure: Failure | None = None,
) -> Report:
    """This run's report, checked now."""
    return Report(
        tool_version=__version__,
        tenant=tenant,
        checked_at=now(),
        spec_files=files,
        organizations=organizations,
        stats=stats,
        live_from=live_from,
        scope=scope,
        failure=failure,
    )


def _spec_files(paths: Sequence[str]) -> tuple[SpecFile, ...]:
    """The spec files that could be read, with their sha256 (the spec itself may be invalid)."""
    files = []
    for path in paths:
        try:
            raw = read_input(path, MAX_BYTES, confined=True)
            files.append(SpecFile(path, hashlib.sha256(raw).hexdigest()))
        except OSError:
            continue
    return tuple(files)
