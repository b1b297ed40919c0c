"""Benchmark `orgdrift check` at scale against the SDK baseline and the physical bound.

Run from the repository root:

    python tests/benchmarks/bench_check.py [--quick] [--scenario NAME] [--json PATH]

Each live scenario starts the emulator on a loopback socket with the scenario's latency and
buckets, generates a tenant of N organizations (3 enabled connections each) and a matching spec
(with a few drifts), and in the same run times `orgdrift check` (spec load, read, diff, text
report) and `baseline_sdk.run_baseline` (auth0-python, sequential get-by-name + enabled
connections), each against a fresh emulator with full buckets. Offline scenarios time
`orgdrift check --live` against parsing the two files alone. The result is a Markdown table.
`--quick` skips the slow parts: the 100,000-organization memory run and the scaled Enterprise run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from orgdrift import cli, pipeline, reads
from orgdrift import client as client_module
from orgdrift.client import ClientOptions
from orgdrift.emulator import DEFAULT_TOKEN, Bucket, EmulatorConfig, create_app, running_server
from orgdrift.fetch import PAGE, after_probe, read_mode
from orgdrift.models import LiveOrganization, LiveState, RawObject
from orgdrift.reporters import get_reporter
from orgdrift.reporters._common import RenderOptions
from orgdrift.snapshot import dump_snapshot, load_snapshot
from orgdrift.spec import load_specs
from tests.benchmarks.simple_pacer import SimplePacer

CONNECTIONS_PER_ORG = 3
CONCURRENCY = 8
HEAVY_MODULES = ("httpx", "deepdiff", "jsonschema", "yaml", "uvicorn", "auth0")

# --- loopback server ---------------------------------------------------------------------------


# --- scenarios ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    orgs: int
    kind: str = "live"  # live | offline | projection
    latency_ms: float = 0.0
    global_bucket: Bucket | None = None
    buckets: Mapping[str, Bucket] = field(default_factory=dict)
    baseline: bool = True
    max_bound_ratio: float | None = None  # target: wall / bound
    min_speedup: float | None = None  # target: baseline wall / orgdrift wall
    max_parse_ratio: float | None = None  # offline target: check / parse
    count_targets: bool = True  # requests and 429 targets (not for a short scaled run)
    model: bool = False  # the spec declares client grants and discovery domains too (issue 15)

    def config(self) -> EmulatorConfig:
        return EmulatorConfig(
            global_bucket=self.global_bucket, buckets=dict(self.buckets), latency_ms=self.latency_ms
        )


ENTERPRISE = EmulatorConfig.enterprise()

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "rate-limited",
            300,
            latency_ms=30.0,
            global_bucket=Bucket(rate=50.0, burst=50),
            buckets={"enabled_connections": Bucket(rate=30.0, burst=10)},
            max_bound_ratio=1.15,
            min_speedup=2.5,
        ),
        Scenario("latency-bound", 300, latency_ms=60.0, min_speedup=10.0),
        # The whole organization model: each of the 300 declares 2 client grants and 2
        # discovery domains, so 3 reads per organization. Client grants have their documented
        # bucket (Enterprise 100/min burst 10, here scaled like the connections one); discovery
        # domains only the global bucket, paced on the headers like everything else.
        Scenario(
            "full-model",
            300,
            latency_ms=30.0,
            global_bucket=Bucket(rate=50.0, burst=50),
            buckets={
                "enabled_connections": Bucket(rate=30.0, burst=10),
                "organization_client_grants": Bucket(rate=30.0, burst=10),
            },
            baseline=False,
            max_bound_ratio=1.15,
            model=True,
        ),
        Scenario("offline-10k", 10_000, kind="offline", baseline=False, max_parse_ratio=3.0),
        Scenario(
            "enterprise-1k",
            1000,
            kind="projection",
            global_bucket=ENTERPRISE.global_bucket,
            buckets=ENTERPRISE.buckets,
            baseline=False,
        ),
    )
}


# --- generated tenant and spec -----------------------------------------------------------------


def org_name(i: int) -> str:
    return f"org-{i:05d}"


def org_id(i: int) -> str:
    return f"org_{i:016d}"


def _connection(i: int, c: int) -> RawObject:
    item: RawObject = {
        "connection_id": f"con_{i:08d}{c:08d}",
        "assign_membership_on_login": c == 0,
        "show_as_button": True,
        "connection": {
            "name": f"conn-{c}" if c else f"{org_name(i)}-saml",
            "strategy": "samlp" if c else "auth0",
        },
    }
    return item


def make_tenant(count: int) -> LiveState:
    """`count` organizations in creation order, each with 3 enabled connections."""
    return LiveState(
        organizations=tuple(
            LiveOrganization(
                data={
                    "id": org_id(i),
                    "name": org_name(i),
                    "display_name": f"Organization {i}",
                    "metadata": {"tier": "gold" if i % 2 else "silver"},
                },
                connections=tuple(_connection(i, c) for c in range(CONNECTIONS_PER_ORG)),
            )
            for i in range(count)
        ),
        complete=True,
    )


def spec_text(count: int) -> str:
    """A spec declaring all `count` organizations; every 37th display name and every 53rd
    connection set drift from the tenant of `make_tenant`."""
    lines = ["version: 1", "policy:", "  connections: exact", "organizations:"]
    for i in range(count):
        display = f"Organization {i}" + (" (renamed)" if i % 37 == 5 else "")
        lines += [
            f"  - name: {org_name(i)}",
            f'    display_name: "{display}"',
            f"    metadata: {{tier: {'gold' if i % 2 else 'silver'}}}",
            "    connections:",
            f"      - name: {org_name(i)}-saml",
            "        assign_membership_on_login: true",
            "      - name: conn-1",
        ]
        if i % 53 != 7:
            lines.append("      - name: conn-2")
    return "\n".join(lines) + "\n"


def write_inputs(directory: Path, count: int, *, snapshot: bool) -> tuple[str, str | None]:
    spec_path = directory / f"spec-{count}.yaml"
    spec_path.write_text(spec_text(count), encoding="utf-8")
    if not snapshot:
        return str(spec_path), None
    snap_path = directory / f"tenant-{count}.json"
    snap_path.write_text(dump_snapshot(make_tenant(count)), encoding="utf-8")
    return str(spec_path), str(snap_path)


# --- the whole organization model (issue 15) ---------------------------------------------------

GRANTS_PER_ORG = 2
DOMAINS_PER_ORG = 2


def _grant(i: int, g: int) -> RawObject:
    return {
        "id": f"cgr_{i:08d}{g:04d}",
        "client_id": f"cli_{g:04d}",
        "audience": f"https://api-{g}.example/",
        "scope": ["read:data"],
        "organization_usage": "require",
        "allow_any_organization": False,
    }


def _domain(i: int, d: int) -> RawObject:
    name = f"{org_name(i)}-{d}.example"
    return {
        "id": f"dd_{i:08d}{d:04d}",
        "domain": name,
        "status": "verified",
        "use_for_organization_discovery": True,
        "verification_txt": f"auth0-domain-verification={i}",
        "verification_host": f"_auth0-challenge.{name}",
    }


def make_model_tenant(count: int) -> LiveState:
    """`make_tenant` with 2 client grants and 2 discovery domains per organization."""
    return LiveState(
        organizations=tuple(
            LiveOrganization(
                org.data,
                org.connections,
                client_grants=tuple(_grant(i, g) for g in range(GRANTS_PER_ORG)),
                discovery_domains=tuple(_domain(i, d) for d in range(DOMAINS_PER_ORG)),
            )
            for i, org in enumerate(make_tenant(count).organizations)
        ),
        complete=True,
    )


def write_model_spec(directory: Path, count: int) -> str:
    """`spec_text` with the grants and domains of `make_model_tenant` declared; every 41st
    organization declares a scope the grant lacks (drift)."""
    blocks = spec_text(count).split("\n  - name: ")
    out = [blocks[0]]
    for i, block in enumerate(blocks[1:]):
        lines = ["    client_grants:"]
        for g in range(GRANTS_PER_ORG):
            scope = "[read:data, write:data]" if i % 41 == 3 and g == 0 else "[read:data]"
            lines.append(
                f"      - {{client_id: cli_{g:04d}, audience: 'https://api-{g}.example/', "
                f"scope: {scope}}}"
            )
        lines.append("    discovery_domains:")
        lines += [
            f"      - {{domain: {org_name(i)}-{d}.example, status: verified}}"
            for d in range(DOMAINS_PER_ORG)
        ]
        out.append(block.rstrip("\n") + "\n" + "\n".join(lines) + "\n")
    path = directory / f"spec-model-{count}.yaml"
    path.write_text("\n  - name: ".join(out), encoding="utf-8")
    return str(path)


def model_plan(base: MinimalPlan, declared: int, concurrency: int = CONCURRENCY) -> MinimalPlan:
    """`base` plus one client-grants and one discovery-domains request per organization (each
    holds fewer than 100), sent concurrently with the connections."""
    groups = dict(base.requests)
    groups["organization_client_grants"] = declared
    groups["organization_discovery_domains"] = declared
    return MinimalPlan(groups, base.serial_rounds + math.ceil(2 * declared / concurrency))


# --- the minimal plan and the bound ------------------------------------------------------------


@dataclass(frozen=True)
class MinimalPlan:
    requests: Mapping[str, int]  # endpoint group -> requests
    serial_rounds: int  # round trips that cannot overlap at the given concurrency

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def minimal_plan(
    declared: int, tenant_size: int, *, list_all: bool = False, concurrency: int = CONCURRENCY
) -> MinimalPlan:
    """orgdrift's request plan (fetch.read_mode / fetch.after_probe) for `declared` organizations,
    the first `declared` of a tenant of `tenant_size`, with 3 connections each."""
    groups: dict[str, int] = {
        "organizations": 0,
        "organization_by_name": 0,
        "enabled_connections": 0,
    }
    first = read_mode(declared, list_all=list_all)
    if first.how == "list":
        pages = max(1, math.ceil(tenant_size / PAGE))
        groups["organizations"] = pages
        rounds = pages  # checkpoint pagination is sequential
    elif first.how == "lookup":
        groups["organization_by_name"] = declared
        rounds = math.ceil(declared / concurrency)
    else:
        groups["organizations"] = 1
        rounds = 1
        if tenant_size > PAGE:
            second = after_probe(tenant_size, max(0, declared - PAGE))
            key = "organizations" if second.how == "list" else "organization_by_name"
            groups[key] += second.requests
            if tenant_size > 1000 and second.how == "list":
                rounds += second.requests
            else:
                rounds += math.ceil(second.requests / concurrency)
    per_org = max(1, math.ceil(CONNECTIONS_PER_ORG / 100))
    groups["enabled_connections"] = declared * per_org
    rounds += math.ceil(groups["enabled_connections"] / concurrency)
    return MinimalPlan(groups, rounds)


def bucket_seconds(requests: int, bucket: Bucket | None) -> float:
    if bucket is None:
        return 0.0
    return max(0, requests - bucket.burst) / bucket.rate


def bound_seconds(scenario: Scenario, minimal: MinimalPlan) -> float:
    """The least time the buckets and the latency allow for the minimal plan."""
    limits = [bucket_seconds(minimal.total, scenario.global_bucket)]
    limits += [bucket_seconds(minimal.requests.get(g, 0), b) for g, b in scenario.buckets.items()]
    limits.append(minimal.serial_rounds * scenario.latency_ms / 1000)
    return max(limits)


BOUND_FORMULA = (
    "bound = max(over each bucket (global with all requests, each endpoint group with its own): "
    "(requests - burst) / rate; latency x serial round trips at concurrency 8), "
    "for the minimal plan of fetch.read_mode/after_probe: organization pages (or lookups) + "
    "one enabled-connections request per organization"
)


# --- results -----------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    orgs: int
    requests: int
    minimum: int
    rate_limited: int
    seconds: float
    bound: float
    baseline_requests: int | None = None
    baseline_rate_limited: int | None = None
    baseline_seconds: float | None = None
    note: str = ""
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def bound_ratio(self) -> float | None:
        return self.seconds / self.bound if self.bound > 0 else None

    @property
    def speedup(self) -> float | None:
        if self.baseline_seconds is None or self.seconds <= 0:
            return None
        return self.baseline_seconds / self.seconds

    def evaluate(self, scenario: Scenario) -> None:
        if self.minimum and scenario.count_targets:
            self.checks["requests<=1.05xmin"] = self.requests <= 1.05 * self.minimum
            self.checks["429<=5%"] = self.rate_limited <= 0.05 * max(1, self.requests)
        if scenario.max_bound_ratio is not None and self.bound_ratio is not None:
            self.checks[f"xbound<={scenario.max_bound_ratio}"] = (
                self.bound_ratio <= scenario.max_bound_ratio
            )
        if scenario.min_speedup is not None and self.speedup is not None:
            self.checks[f"speedup>={scenario.min_speedup}"] = self.speedup >= scenario.min_speedup
        if scenario.max_parse_ratio is not None and self.bound_ratio is not None:
            self.checks[f"xparse<={scenario.max_parse_ratio}"] = (
                self.bound_ratio <= scenario.max_parse_ratio
            )

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["bound_ratio"] = self.bound_ratio
        data["speedup"] = self.speedup
        return data


def _num(value: float | None, fmt: str = ".2f") -> str:
    return "-" if value is None else format(value, fmt)


def markdown(rows: Sequence[Row]) -> str:
    head = (
        "| scenario | orgs | requests (min) | 429s | wall s | bound s | x bound "
        "| baseline requests (429s) | baseline s | speedup | targets |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    lines = [head]
    for r in rows:
        targets = ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in r.checks.items()) or "-"
        baseline = (
            "-"
            if r.baseline_requests is None
            else f"{r.baseline_requests} ({r.baseline_rate_limited})"
        )
        lines.append(
            f"| {r.scenario} | {r.orgs} | {r.requests} ({r.minimum}) | {r.rate_limited} "
            f"| {r.seconds:.2f} | {r.bound:.2f} | {_num(r.bound_ratio)} | {baseline} "
            f"| {_num(r.baseline_seconds)} | {_num(r.speedup, '.1f')} | {targets} |"
        )
    notes = [f"- {r.scenario}: {r.note}" for r in rows if r.note]
    return "\n".join([*lines, "", f"_{BOUND_FORMULA}._", *notes])


# --- live scenarios ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveRun:
    requests: int
    rate_limited: int
    seconds: float
    client_requests: int
    in_sync: bool
    by_group: Mapping[str, int]
    error: str | None = None  # why the run failed


def run_orgdrift(
    scenario: Scenario, state: LiveState, spec_path: str, pacer: str = "adaptive"
) -> LiveRun:
    """`orgdrift check` in process (spec load, read, diff, text report) over a loopback socket,
    with the client's pacer (`adaptive`) or the simple header-following one (`simple`)."""
    app = create_app(state, scenario.config())
    swap = (
        mock.patch.object(client_module, "Pacer", SimplePacer)
        if pacer == "simple"
        else contextlib.nullcontext()
    )
    with running_server(app) as url, swap:
        tenant = reads.Tenant(
            domain=url,
            env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
            options=ClientOptions(concurrency=CONCURRENCY),
        )
        start = time.perf_counter()
        report = pipeline.run_check(
            pipeline.CheckOptions(specs=(spec_path,), env={}, tenant=tenant)
        )
        if report.failure is not None:  # the run failed (exit 3): say how far it got
            snap = app.stats.snapshot()
            return LiveRun(
                snap.total,
                snap.rate_limited,
                time.perf_counter() - start,
                0,
                False,
                dict(snap.requests),
                error=f"exit {int(report.exit_code)}: {report.failure.message.split(':', 1)[0][:60]}",
            )
        get_reporter("text").render(report, RenderOptions())
        seconds = time.perf_counter() - start
    snap = app.stats.snapshot()
    return LiveRun(
        snap.total,
        snap.rate_limited,
        seconds,
        report.stats.requests,
        report.in_sync,
        dict(snap.requests),
    )


def run_sdk_baseline(scenario: Scenario, state: LiveState, names: Sequence[str]) -> LiveRun:
    from tests.benchmarks.baseline_sdk import run_baseline

    app = create_app(state, scenario.config())
    with running_server(app) as url:
        result = run_baseline(url, DEFAULT_TOKEN, names)
    snap = app.stats.snapshot()
    if result.organizations != len(names):
        raise RuntimeError(f"baseline found {result.organizations} of {len(names)} organizations")
    return LiveRun(
        snap.total, snap.rate_limited, result.seconds, snap.total, True, dict(snap.requests)
    )


def live_row(scenario: Scenario, workdir: Path) -> Row:
    if scenario.model:
        state = make_model_tenant(scenario.orgs)
        spec_path = write_model_spec(workdir, scenario.orgs)
        minimal = model_plan(minimal_plan(scenario.orgs, scenario.orgs), scenario.orgs)
    else:
        state = make_tenant(scenario.orgs)
        spec_path, _ = write_inputs(workdir, scenario.orgs, snapshot=False)
        minimal = minimal_plan(scenario.orgs, scenario.orgs)
    ours = run_orgdrift(scenario, state, spec_path)
    if ours.error is not None:
        raise RuntimeError(f"{scenario.name}: orgdrift failed: {ours.error}")
    if ours.in_sync:
        raise RuntimeError(f"{scenario.name}: the generated drifts were not found")
    row = Row(
        scenario.name,
        scenario.orgs,
        ours.requests,
        minimal.total,
        ours.rate_limited,
        ours.seconds,
        bound_seconds(scenario, minimal),
    )
    if scenario.baseline:
        base = run_sdk_baseline(scenario, state, [org_name(i) for i in range(scenario.orgs)])
        row.baseline_requests = base.requests
        row.baseline_rate_limited = base.rate_limited
        row.baseline_seconds = base.seconds
    row.evaluate(scenario)
    return row


def projection_rows(
    scenario: Scenario, workdir: Path, *, quick: bool, scaled: int = 100
) -> list[Row]:
    """The bound for the full scenario (a projection) and, unless quick, a scaled run that checks
    the pacing reaches that bound on the same buckets."""
    minimal = minimal_plan(scenario.orgs, scenario.orgs)
    bound = bound_seconds(scenario, minimal)
    rows = [
        Row(
            f"{scenario.name} (projection)",
            scenario.orgs,
            minimal.total,
            minimal.total,
            0,
            bound,
            bound,
            note="projected from the buckets, not run",
        )
    ]
    if quick:
        return rows
    label = "full run" if scaled == scenario.orgs else f"scaled run, {scaled} orgs"
    # Learning a hidden per-endpoint limit costs a roughly fixed number of 429s (the requests in
    # flight when the burst runs out, then the probe); the request and 429 targets are for the
    # whole scenario, so a scaled run is held to the pace target only.
    full = scaled == scenario.orgs
    small = Scenario(
        f"{scenario.name} ({label})",
        scaled,
        global_bucket=scenario.global_bucket,
        buckets=scenario.buckets,
        baseline=False,
        max_bound_ratio=1.15,
        count_targets=full,
    )
    row = live_row(small, workdir)
    if row.bound_ratio is not None:
        row.note = (
            f"projection at this pace: {bound * row.bound_ratio:.0f} s "
            f"for {scenario.orgs} organizations"
        )
    if not full:
        row.note += (
            f"; {row.rate_limited} 429s of {row.requests} requests, mostly the fixed cost"
            " of finding the hidden limit: the request and 429 targets are checked on"
            " the full run (--enterprise-orgs 1000)"
        )
    rows.append(row)
    return rows


# --- the adaptive pacer against the simple one ---------------------------------------------------


@dataclass(frozen=True)
class PacerRow:
    scenario: str
    pacer: str
    bound: float
    runs: tuple[LiveRun, ...]

    def median(self, value: Callable[[LiveRun], float]) -> float:
        return statistics.median(value(run) for run in self.runs)

    @property
    def outcome(self) -> str:
        failed = [run.error for run in self.runs if run.error is not None]
        done = f"{len(self.runs) - len(failed)}/{len(self.runs)} complete"
        return done if not failed else f"{done}; {', '.join(sorted(set(failed)))}"


PACER_SCENARIOS: tuple[Scenario, ...] = (
    SCENARIOS["rate-limited"],
    SCENARIOS["latency-bound"],
    Scenario(
        "enterprise (100 orgs)",
        100,
        global_bucket=ENTERPRISE.global_bucket,
        buckets=ENTERPRISE.buckets,
        baseline=False,
    ),
)


def pacer_rows(
    workdir: Path,
    repeat: int,
    pacers: Sequence[str] = ("adaptive", "simple"),
    scenarios: Sequence[Scenario] = PACER_SCENARIOS,
) -> list[PacerRow]:
    """Each live scenario with each pacer, `repeat` times, the pacers taking turns (so that
    drift in the machine's load hits both alike), each run on a fresh emulator."""
    rows = []
    for scenario in scenarios:
        state = make_tenant(scenario.orgs)
        spec_path, _ = write_inputs(workdir, scenario.orgs, snapshot=False)
        runs: dict[str, list[LiveRun]] = {pacer: [] for pacer in pacers}
        for _ in range(repeat):
            for pacer in pacers:
                print(f"{scenario.name}, {pacer} pacer ...", file=sys.stderr, flush=True)
                runs[pacer].append(run_orgdrift(scenario, state, spec_path, pacer))
                print(f"  {runs[pacer][-1]}", file=sys.stderr, flush=True)
        bound = bound_seconds(scenario, minimal_plan(scenario.orgs, scenario.orgs))
        rows += [PacerRow(scenario.name, pacer, bound, tuple(runs[pacer])) for pacer in pacers]
    return rows


def pacer_markdown(rows: Sequence[PacerRow]) -> str:
    lines = [
        "| scenario | pacer | requests | 429s | wall s (min-max) | bound s | x bound | runs |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        wall = r.median(lambda run: run.seconds)
        low, high = min(run.seconds for run in r.runs), max(run.seconds for run in r.runs)
        lines.append(
            f"| {r.scenario} | {r.pacer} | {r.median(lambda run: run.requests):.0f} "
            f"| {r.median(lambda run: run.rate_limited):.0f} | {wall:.2f} ({low:.2f}-{high:.2f}) "
            f"| {r.bound:.2f} | {_num(wall / r.bound if r.bound else None)} | {r.outcome} |"
        )
    return "\n".join([*lines, "", "_Medians of the runs; a failed run counts up to its failure._"])


# --- offline scenarios -------------------------------------------------------------------------


def _median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def offline_check(spec_path: str, snap_path: str) -> int:
    argv = [
        "check",
        spec_path,
        "--live",
        snap_path,
        "--format",
        "text",
        "--color",
        "never",
        "--no-progress",
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        return cli.main(argv)


def offline_row(scenario: Scenario, workdir: Path, repeat: int = 3) -> Row:
    spec_path, snap_path = write_inputs(workdir, scenario.orgs, snapshot=True)
    assert snap_path is not None

    def parse() -> None:
        load_specs([spec_path], {})
        load_snapshot(snap_path)

    code = offline_check(spec_path, snap_path)
    if code != 1:
        raise RuntimeError(f"offline check exited {code}, expected 1 (drift)")
    parse_times: list[float] = []
    check_times: list[float] = []
    for _ in range(repeat):  # interleaved, so that drift in machine load hits both alike
        parse_times.append(_median_seconds(parse, 1))
        check_times.append(_median_seconds(lambda: offline_check(spec_path, snap_path), 1))
    parse_s, check_s = statistics.median(parse_times), statistics.median(check_times)
    row = Row(
        scenario.name,
        scenario.orgs,
        0,
        0,
        0,
        check_s,
        parse_s,
        note=f"bound = parse time of the two files ({parse_s:.2f} s); x bound = check / parse",
    )
    row.evaluate(scenario)
    return row


MEMORY_PROBE = """
import contextlib, io, re, sys, time
sys.path.insert(0, {root!r})
def hwm():  # peak RSS of this process in KiB (ru_maxrss would include the parent's, from fork)
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))
from orgdrift import cli
before = hwm()
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    code = cli.main(["check", {spec!r}, "--live", {snap!r}, "--format", "text", "--no-progress"])
seconds = time.perf_counter() - start
print(code, before, hwm(), seconds)
"""


@dataclass(frozen=True)
class MemoryRow:
    orgs: int
    peak_mib: float
    startup_mib: float
    seconds: float
    spec_mib: float
    snapshot_mib: float


def memory_row(count: int, workdir: Path) -> MemoryRow:
    """Peak RSS (VmHWM) of `orgdrift check --live` in a fresh interpreter."""
    spec_path, snap_path = write_inputs(workdir, count, snapshot=True)
    assert snap_path is not None
    code = MEMORY_PROBE.format(root=str(ROOT), spec=spec_path, snap=snap_path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    exit_code, before, peak, seconds = out.stdout.split()
    if exit_code != "1":
        raise RuntimeError(f"offline check of {count} exited {exit_code}")
    mib = 1024 * 1024
    return MemoryRow(
        count,
        int(peak) / 1024,
        int(before) / 1024,
        float(seconds),
        Path(spec_path).stat().st_size / mib,
        Path(snap_path).stat().st_size / mib,
    )


def memory_markdown(rows: Sequence[MemoryRow]) -> str:
    lines = [
        "| offline check | peak RSS MiB | RSS after start-up MiB | wall s | spec MiB | snapshot MiB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.orgs} orgs | {r.peak_mib:.0f} | {r.startup_mib:.0f} | {r.seconds:.1f} "
        f"| {r.spec_mib:.1f} | {r.snapshot_mib:.1f} |"
        for r in rows
    ]
    return "\n".join(lines)


# --- imports -----------------------------------------------------------------------------------


def import_chains(argv: Sequence[str]) -> dict[str, list[str]]:
    """For each heavy module `python -X importtime -m orgdrift ARGV` imports, the chain of
    imports that pulled it in (outermost first)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "orgdrift", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    entries: list[tuple[int, str]] = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        raw = line.rsplit("|", 1)[1]
        name = raw.strip()
        entries.append(((len(raw) - len(raw.lstrip()) - 1) // 2, name))
    chains: dict[str, list[str]] = {}
    for index, (level, name) in enumerate(entries):
        top = name.split(".")[0]
        if top not in HEAVY_MODULES or top in chains:
            continue
        chain = [name]
        want = level - 1
        for later_level, later_name in entries[index + 1 :]:  # parents are printed after children
            if want < 0:
                break
            if later_level == want:
                chain.append(later_name)
                want -= 1
        outer = list(reversed(chain))
        first = next(i for i, m in enumerate(outer) if m.split(".")[0] == top)
        chains[top] = outer[: first + 1]
    return chains


def imports_markdown(results: Mapping[str, Mapping[str, list[str]]]) -> str:
    lines = ["| command | heavy modules imported | chain |", "|---|---|---|"]
    for command, chains in results.items():
        if not chains:
            lines.append(f"| `{command}` | none | - |")
        for module, chain in chains.items():
            lines.append(f"| `{command}` | {module} | {' -> '.join(chain)} |")
    return "\n".join(lines)


# --- driver ------------------------------------------------------------------------------------


def run(
    names: Sequence[str], *, quick: bool, workdir: Path, enterprise_orgs: int = 100
) -> dict[str, Any]:
    rows: list[Row] = []
    for name in names:
        scenario = SCENARIOS[name]
        print(f"running {name} ...", file=sys.stderr, flush=True)
        if scenario.kind == "live":
            rows.append(live_row(scenario, workdir))
        elif scenario.kind == "offline":
            rows.append(offline_row(scenario, workdir))
        else:
            rows.extend(projection_rows(scenario, workdir, quick=quick, scaled=enterprise_orgs))
    result: dict[str, Any] = {"rows": rows}
    if not names or "offline-10k" in names:
        print("measuring memory ...", file=sys.stderr, flush=True)
        counts = [10_000] if quick else [10_000, 100_000]
        result["memory"] = [memory_row(c, workdir) for c in counts]
        spec_path, _ = write_inputs(workdir, 10, snapshot=False)
        result["imports"] = {
            "orgdrift --version": import_chains(["--version"]),
            "orgdrift validate": import_chains(["validate", spec_path]),
        }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="skip the slow parts")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), default=[])
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--enterprise-orgs",
        type=int,
        default=100,
        metavar="N",
        help="organizations of the Enterprise run (1000: the full ~10 minutes)",
    )
    parser.add_argument(
        "--compare-pacers",
        type=int,
        default=0,
        metavar="N",
        help="only run the live scenarios N times with each pacer: the adaptive "
        "one and the simple header-following one (simple_pacer.py)",
    )
    args = parser.parse_args(argv)
    if args.compare_pacers:
        with tempfile.TemporaryDirectory(prefix="orgdrift-bench-") as tmp:
            print(pacer_markdown(pacer_rows(Path(tmp), args.compare_pacers)))
        return 0
    names = args.scenario or list(SCENARIOS)
    with tempfile.TemporaryDirectory(prefix="orgdrift-bench-") as tmp:
        result = run(
            names, quick=args.quick, workdir=Path(tmp), enterprise_orgs=args.enterprise_orgs
        )
    rows: list[Row] = result["rows"]
    print(markdown(rows))
    if "memory" in result:
        print()
        print(memory_markdown(result["memory"]))
        print()
        print(imports_markdown(result["imports"]))
    if args.json:
        data = {
            "rows": [r.as_json() for r in rows],
            "memory": [asdict(m) for m in result.get("memory", [])],
            "imports": result.get("imports", {}),
        }
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    missed = [r.scenario for r in rows if not all(r.checks.values())]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
