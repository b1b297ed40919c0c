"""Benchmark `orgdrift check --since` (an incremental audit from the tenant logs) against the full check and the bound.

Run from the repository root:

    python tests/benchmarks/bench_since.py [--orgs 10000] [--changed 20] [--noise 1000]
                                           [--verify] [--json PATH]

A tenant of N organizations (3 enabled connections each, the tenant of bench_check.py) is served
on a loopback socket with Enterprise's published limits. Its snapshot (what `orgdrift snapshot
SPEC` writes: the declared organizations with their connections, the tenant's newest log id, the
spec's sha256 and the tool version) is made from the served state, because reading it at
Enterprise rates is the 100-minute full read this feature avoids. Then `--changed` organizations
are changed through the emulator's write endpoints (display names, connection flags, connections
disabled, a rename, a deletion, a creation), `--noise` logins are interleaved in the tenant log,
and `orgdrift check SPEC --since SNAPSHOT --write-snapshot NEW` runs for real, in process, over
the socket. The full check is projected from its request plan and the buckets (bench_check's
`minimal_plan` and `bound_seconds`), not run. `--verify` also runs the full check against an
unlimited copy of the tenant given the same writes, and compares verdicts and findings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from orgdrift import __version__, pipeline, reads
from orgdrift.client import ClientOptions
from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app, running_server
from orgdrift.emulator.app import EmulatorApp
from orgdrift.emulator.config import ALL_SCOPES
from orgdrift.emulator.tenantlog import other_entry
from orgdrift.models import LiveState, Report
from orgdrift.snapshot import dump_snapshot, load_snapshot
from orgdrift.spec import load_specs
from tests.benchmarks.bench_check import (
    CONCURRENCY,
    ENTERPRISE,
    Scenario,
    bound_seconds,
    bucket_seconds,
    make_tenant,
    minimal_plan,
    org_id,
    spec_text,
)


@dataclass
class Result:
    orgs: int
    changed: int
    log_entries: int
    since_requests: int
    since_rate_limited: int
    since_seconds: float
    since_bound_seconds: float
    since_requests_by_group: dict[str, int]
    since_minimal_requests: int
    local_seconds: float  # of the wall time: loading the spec and the snapshot alone
    reread: int
    looked_up: int
    full_read_because: str | None
    full_requests: int
    full_bound_seconds: float
    verdict: str
    findings: int
    verified: bool | None = None  # --verify: the full check's verdict and findings are equal


def writes(changed: int, orgs: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    """`changed` writes, each to a different organization, spread over the tenant."""
    step = max(1, orgs // max(changed, 1))
    picks = [org_id(i * step + 3) for i in range(changed)]
    out: list[tuple[str, str, dict[str, Any] | None]] = []
    for n, org in enumerate(picks):
        index = int(org.removeprefix("org_"))
        saml = f"con_{index:08d}{0:08d}"
        conn2 = f"con_{index:08d}{2:08d}"
        if n == 0:
            out.append(("PATCH", f"/organizations/{org}", {"name": f"renamed-{index}"}))
        elif n == 1:
            out.append(("DELETE", f"/organizations/{org}", None))
        elif n == 2:
            out.append(("POST", "/organizations", {"name": "created-since"}))
        elif n % 4 == 0:
            out.append(
                (
                    "PATCH",
                    f"/organizations/{org}/enabled_connections/{saml}",
                    {"assign_membership_on_login": False},
                )
            )
        elif n % 5 == 0:
            out.append(("DELETE", f"/organizations/{org}/enabled_connections/{conn2}", None))
        else:
            out.append(("PATCH", f"/organizations/{org}", {"display_name": f"Changed {index}"}))
    return out


async def apply(
    app: EmulatorApp, calls: list[tuple[str, str, dict[str, Any] | None]], noise: int
) -> None:
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {DEFAULT_TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1/api/v2", headers=headers
    ) as client:
        per_write = noise // max(len(calls), 1)
        for method, path, body in calls:
            for _ in range(per_write):
                app.log.append(other_entry("s", "Success Login"))
            response = await client.request(method, path, json=body)
            if response.status_code >= 300:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        for _ in range(noise - per_write * len(calls)):
            app.log.append(other_entry("s", "Success Login"))


def config(enterprise: bool) -> EmulatorConfig:
    base = ENTERPRISE if enterprise else EmulatorConfig()
    return replace(base, tokens={DEFAULT_TOKEN: ALL_SCOPES})


def since_minimal(entries: int, reread: int, deleted: int, looked_up: int) -> dict[str, int]:
    """The fewest requests an incremental check can make: the checkpoint lookup, the log pages
    until an empty one, each re-read organization and its connections (none once deleted), the
    lookups proving declared organizations missing."""
    return {
        "log_by_id": 1,
        "logs": math.ceil(entries / 100) + 1,
        "organization_by_id": reread,
        "enabled_connections": reread - deleted,
        "organization_by_name": looked_up,
    }


def since_bound(minimal: dict[str, int], enterprise: bool) -> float:
    """The least time Enterprise's buckets allow for those requests."""
    if not enterprise:
        return 0.0
    total = sum(minimal.values())
    limits = [bucket_seconds(total, ENTERPRISE.global_bucket)]
    limits += [bucket_seconds(minimal.get(g, 0), b) for g, b in ENTERPRISE.buckets.items()]
    return max(limits)


def key(report: Report) -> tuple[Any, ...]:
    findings = sorted((f.kind.value, f.organization, f.path, f.message) for f in report.findings)
    return report.exit_code, tuple(findings)


def run(
    orgs: int, changed: int, noise: int, *, enterprise: bool = True, verify: bool = False
) -> Result:
    state = make_tenant(orgs)
    calls = writes(changed, orgs)
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.yaml"
        spec_path.write_text(spec_text(orgs), encoding="utf-8")
        spec = load_specs([str(spec_path)], {})
        app = create_app(state, config(enterprise))
        # The snapshot `orgdrift snapshot SPEC` would write, checkpoint first.
        snapshot = replace(
            state,
            complete=False,
            taken_at=reads.now(),
            log_checkpoint=str(app.log.visible()[-1]["log_id"]),
            spec_sha256=tuple(sorted(f.sha256 for f in spec.files)),
            tool_version=__version__,
        )
        snapshot_path = Path(tmp) / "snapshot.json"
        snapshot_path.write_text(dump_snapshot(snapshot), encoding="utf-8")
        asyncio.run(apply(app, calls, noise))
        app.stats.reset()
        start = time.perf_counter()
        load_specs([str(spec_path)], {})
        load_snapshot(str(snapshot_path))
        local_seconds = time.perf_counter() - start
        with running_server(app) as url:
            tenant = reads.Tenant(
                domain=url,
                env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
                options=ClientOptions(concurrency=CONCURRENCY),
            )
            written: list[LiveState] = []
            options = pipeline.CheckOptions(
                specs=(str(spec_path),),
                env={},
                tenant=tenant,
                since=str(snapshot_path),
                on_snapshot=lambda s, _why: written.append(s),
            )
            start = time.perf_counter()
            report = pipeline.run_check(options)
            seconds = time.perf_counter() - start
            if written:
                (Path(tmp) / "next.json").write_text(dump_snapshot(written[0]), encoding="utf-8")
        if report.failure is not None or report.basis is None:
            raise RuntimeError(f"check --since failed: {report.failure}")
        stats = app.stats.snapshot()
        groups = dict(stats.requests)
        deleted = sum(
            1
            for m, p, _ in calls
            if m == "DELETE" and p.count("/") == 2 and p.startswith("/organizations/")
        )
        least = since_minimal(
            report.basis.entries, len(report.basis.reread), deleted, report.basis.looked_up
        )
        minimal = minimal_plan(orgs, orgs)
        scenario = Scenario(
            "enterprise-full",
            orgs,
            kind="projection",
            global_bucket=ENTERPRISE.global_bucket,
            buckets=ENTERPRISE.buckets,
        )
        result = Result(
            orgs=orgs,
            changed=changed,
            log_entries=report.basis.entries,
            since_requests=stats.total,
            since_rate_limited=stats.rate_limited,
            since_seconds=round(seconds, 2),
            since_bound_seconds=round(since_bound(least, enterprise), 2),
            since_requests_by_group=groups,
            since_minimal_requests=sum(least.values()),
            local_seconds=round(local_seconds, 2),
            reread=len(report.basis.reread),
            looked_up=report.basis.looked_up,
            full_read_because=report.basis.full_read_because,
            full_requests=minimal.total,
            full_bound_seconds=round(bound_seconds(scenario, minimal), 1),
            verdict=report.status.value,
            findings=len(report.findings),
        )
        if verify:
            copy = create_app(state, config(False))
            asyncio.run(apply(copy, calls, noise))
            full_tenant = reads.Tenant(
                domain="http://127.0.0.1",
                env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
                transport=httpx.ASGITransport(app=copy),
            )
            full = pipeline.run_check(
                pipeline.CheckOptions(specs=(str(spec_path),), env={}, tenant=full_tenant)
            )
            result.verified = key(full) == key(report)
        return result


def markdown(r: Result) -> str:
    full_minutes = r.full_bound_seconds / 60
    return "\n".join(
        [
            (
                "| check | orgs | changed | log entries | requests (min) | 429s | wall s | "
                "of which local s | bound s |"
            ),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            (
                f"| --since (run) | {r.orgs} | {r.changed} | {r.log_entries} | {r.since_requests} "
                f"({r.since_minimal_requests}) | {r.since_rate_limited} | {r.since_seconds:.2f} | "
                f"{r.local_seconds:.2f} | {r.since_bound_seconds:.2f} |"
            ),
            (
                f"| full (projection) | {r.orgs} | - | - | {r.full_requests} ({r.full_requests}) | - | "
                f"{r.full_bound_seconds:.0f} ({full_minutes:.0f} min) | - | {r.full_bound_seconds:.0f} |"
            ),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=20)
    parser.add_argument("--noise", type=int, default=1000, help="login entries interleaved")
    parser.add_argument("--unlimited", action="store_true", help="no rate limits (harness test)")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="also run the full check on an unlimited copy and compare",
    )
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    result = run(
        args.orgs, args.changed, args.noise, enterprise=not args.unlimited, verify=args.verify
    )
    print(markdown(result))
    print(json.dumps(asdict(result), indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    ok = result.full_read_because is None and result.verified is not False
    ok = ok and result.since_requests < result.full_requests / 10
    if math.isfinite(result.since_bound_seconds) and result.since_bound_seconds > 0:
        budget = result.since_bound_seconds * 1.5 + result.local_seconds * 2 + 5
        ok = ok and result.since_seconds <= budget
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
