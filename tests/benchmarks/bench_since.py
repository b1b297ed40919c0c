"""Benchmark `orgdrift check --since` (an incremental audit from the tenant logs) on a tenant
whose spec declares the whole organization model, against a full read of the same tenant.

Run from the repository root:

    python tests/benchmarks/bench_since.py [--orgs 10000] [--noise 1000] [--verify]
                                           [--json PATH]

A tenant of N organizations is served on a loopback socket with Enterprise's published limits:
each organization has 3 connections (read through the Early Access view, which the spec's
access levels need), 2 client grants (one of them shared by 10 organizations), 2 discovery
domains and a token quota; the spec is what `export` writes for it (in sync). Its snapshot (what
`orgdrift snapshot SPEC` writes: every declared part, the tenant's newest log id, the spec's
sha256 and the tool version) is made from the served state, because reading it at Enterprise
rates is the full read this feature avoids. Then 20 writes of 20 kinds go through the emulator
(organization fields, rename, delete, create, token quota; enabled connections and the Early
Access view added, changed, removed; client grant associations added and removed; discovery
domains created, changed, deleted; a shared client grant changed; a connection deleted
tenant-wide; a My Organization API and a self-service SSO write), `--noise` logins are
interleaved in the log, and `orgdrift check SPEC --since SNAPSHOT --write-snapshot NEW` runs for
real, in process, over the socket. The full read is projected from its request plan (the
organization listing, then each organization's 3 parts: `fetch.full_read_requests`), not run:
at Enterprise rates it takes hours. `--verify` also runs the full check against an unlimited
copy of the tenant given the same writes, and compares exit codes and findings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from orgdrift import __version__, models, pipeline, reads
from orgdrift.check import select
from orgdrift.client import ClientOptions
from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app, running_server
from orgdrift.emulator.app import ADMIN_WRITES, EmulatorApp
from orgdrift.emulator.config import ALL_SCOPES
from orgdrift.emulator.tenantlog import other_entry
from orgdrift.export import export_spec
from orgdrift.fetch import PAGE, full_read_requests
from orgdrift.models import LiveOrganization, LiveState, Report
from orgdrift.snapshot import dump_snapshot, load_snapshot
from orgdrift.spec import load_specs
from tests.benchmarks.bench_check import (
    CONCURRENCY,
    ENTERPRISE,
    bucket_seconds,
    make_model_tenant,
    org_id,
)

SHARED_GRANT = "cgr_shared0000001"
SHARED_BY = 10


@dataclass
class Result:
    orgs: int
    writes: int  # each of another kind
    log_entries: int
    since_requests: int
    since_rate_limited: int
    since_seconds: float
    since_requests_by_group: dict[str, int]
    local_seconds: float  # of the wall time: loading the spec and the snapshot alone
    since_bound_seconds: float  # the least time Enterprise's buckets allow for those requests
    reread: int
    looked_up: int
    full_read_because: str | None
    full_requests: int  # the full read's plan
    full_bound_seconds: float  # the least time Enterprise's buckets allow for it
    exit_code: int
    findings: int
    verified: bool | None = None  # --verify: the full check's exit code and findings are equal


def whole_model_tenant(count: int) -> LiveState:
    """`bench_check`'s model tenant with its connections in the Early Access view, a token
    quota on every organization, and one grant shared by the first `SHARED_BY`."""
    orgs = []
    for i, org in enumerate(make_model_tenant(count).organizations):
        view = tuple(
            {**item, "is_enabled": True, "organization_access_level": "readonly"}
            for item in org.connections or ()
        )
        grants = tuple(org.client_grants or ())
        if i < SHARED_BY:
            shared = {**grants[0], "id": SHARED_GRANT, "client_id": "cli_shared"}
            grants = (*grants, shared)
        data = {**org.data, "token_quota": {"client_credentials": {"per_day": 1000 + i}}}
        orgs.append(
            LiveOrganization(
                data,
                None,
                connection_view=view,
                client_grants=grants,
                discovery_domains=org.discovery_domains,
            )
        )
    return LiveState(tuple(orgs), complete=True)


Write = tuple[str, str, Any]  # method, path (under /api/v2, or the emulator's admin route), body


def writes(count: int) -> list[Write]:
    """20 writes of 20 kinds, each to a different organization, spread over the tenant."""
    step = max(1, count // 24)

    def org(n: int) -> str:
        return org_id(n * step + 11)

    def conn(n: int, c: int) -> str:
        return f"con_{n * step + 11:08d}{c:08d}"

    def dd(n: int, d: int) -> str:
        return f"dd_{n * step + 11:08d}{d:04d}"

    def grant(n: int, g: int) -> str:
        return f"cgr_{n * step + 11:08d}{g:04d}"

    other = conn(0, 1)  # the connection of organization 0 that organization 9 and 10 get
    return [
        ("PATCH", f"/organizations/{org(0)}", {"display_name": "Changed 0"}),
        ("PATCH", f"/organizations/{org(1)}", {"name": "renamed-1"}),
        ("DELETE", f"/organizations/{org(2)}", None),
        ("POST", "/organizations", {"name": "created-since"}),
        ("PATCH", f"/organizations/{org(3)}", {"token_quota": None}),
        ("PATCH", f"/organizations/{org(4)}", {"metadata": {"tier": "platinum"}}),
        (
            "PATCH",
            f"/organizations/{org(5)}/enabled_connections/{conn(5, 0)}",
            {"show_as_button": False},
        ),
        ("DELETE", f"/organizations/{org(6)}/enabled_connections/{conn(6, 2)}", None),
        (
            "PATCH",
            f"/organizations/{org(7)}/connections/{conn(7, 1)}",
            {"organization_access_level": "full"},
        ),
        ("DELETE", f"/organizations/{org(8)}/connections/{conn(8, 1)}", None),
        ("POST", f"/organizations/{org(9)}/enabled_connections", {"connection_id": other}),
        (
            "POST",
            f"/organizations/{org(10)}/connections",
            {"connection_id": other, "is_enabled": False},
        ),
        ("POST", f"/organizations/{org(11)}/client-grants", {"grant_id": grant(12, 0)}),
        ("DELETE", f"/organizations/{org(12)}/client-grants/{grant(12, 1)}", None),
        ("POST", f"/organizations/{org(13)}/discovery-domains", {"domain": "new-13.example"}),
        ("PATCH", f"/organizations/{org(14)}/discovery-domains/{dd(14, 0)}", {"status": "pending"}),
        ("DELETE", f"/organizations/{org(15)}/discovery-domains/{dd(15, 1)}", None),
        ("PATCH", f"/client-grants/{SHARED_GRANT}", {"scope": ["read:data", "write:data"]}),
        ("DELETE", f"/connections/{conn(16, 0)}", None),
        (
            "POST",
            ADMIN_WRITES,
            {
                "type": "my_organization_api_org_details_succeeded",
                "organization_id": org(17),
                "method": "PATCH",
                "path": f"/organizations/{org(17)}",
                "body": {"display_name": "Self-served 17"},
            },
        ),
    ]


async def apply(app: EmulatorApp, calls: Sequence[Write], noise: int) -> None:
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {DEFAULT_TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers=headers
    ) as client:
        per_write = noise // max(len(calls), 1)
        for method, path, body in calls:
            for _ in range(per_write):
                app.log.append(other_entry("s", "Success Login"))
            url = path if path.startswith("/_") else f"/api/v2{path}"
            response = await client.request(method, url, json=body)
            if response.status_code >= 300:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        for _ in range(noise - per_write * len(calls)):
            app.log.append(other_entry("s", "Success Login"))


def config(enterprise: bool) -> EmulatorConfig:
    base = ENTERPRISE if enterprise else EmulatorConfig()
    return replace(base, tokens={DEFAULT_TOKEN: ALL_SCOPES})


def full_plan(orgs: int) -> dict[str, int]:
    """The full read's requests by endpoint group: the listing, then each organization's Early
    Access connections, client grants and discovery domains (fewer than 100 of each)."""
    return {
        "organizations": math.ceil(orgs / PAGE),
        "organization_connections": orgs,
        "organization_client_grants": orgs,
        "organization_discovery_domains": orgs,
    }


def bound(groups: dict[str, int], refused: int = 0) -> float:
    """The least time Enterprise's buckets allow for `groups` (less the `refused` 429s, which
    cost no token of the bucket that refused them)."""
    total = sum(groups.values()) - refused
    limits = [bucket_seconds(total, ENTERPRISE.global_bucket)]
    limits += [bucket_seconds(groups.get(g, 0), b) for g, b in ENTERPRISE.buckets.items()]
    return max(limits)


def key(report: Report) -> tuple[Any, ...]:
    findings = sorted((f.kind.value, f.organization, f.path, f.message) for f in report.findings)
    return report.exit_code, tuple(findings)


def run(orgs: int, noise: int, *, enterprise: bool = True, verify: bool = False) -> Result:
    state = whole_model_tenant(orgs)
    calls = writes(orgs)
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.yaml"
        spec_path.write_text(export_spec(state), encoding="utf-8")
        spec = load_specs([str(spec_path)], {})
        app = create_app(state, config(enterprise))
        # The snapshot `orgdrift snapshot SPEC` would write, checkpoint first.
        snapshot = replace(
            state,
            taken_at=models.now(),
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
            options = pipeline.CheckOptions(
                specs=(str(spec_path),),
                env={},
                tenant=tenant,
                since=str(snapshot_path),
                on_snapshot=lambda _state, _why: None,
            )
            start = time.perf_counter()
            report = pipeline.run_check(options)
            seconds = time.perf_counter() - start
        if report.failure is not None or report.basis is None:
            raise RuntimeError(f"check --since failed: {report.failure}")
        stats = app.stats.snapshot()
        decls = select(spec, ())
        result = Result(
            orgs=orgs,
            writes=len(calls),
            log_entries=report.basis.entries,
            since_requests=stats.total,
            since_rate_limited=stats.rate_limited,
            since_seconds=round(seconds, 2),
            since_requests_by_group=dict(sorted(stats.requests.items())),
            local_seconds=round(local_seconds, 2),
            since_bound_seconds=round(bound(dict(stats.requests), stats.rate_limited), 1),
            reread=len(report.basis.reread),
            looked_up=report.basis.looked_up,
            full_read_because=report.basis.full_read_because,
            full_requests=full_read_requests(decls, state, list_all=False),
            full_bound_seconds=round(bound(full_plan(orgs)), 1),
            exit_code=int(report.exit_code),
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
    return "\n".join(
        [
            (
                "| check | orgs | writes | log entries | requests | 429s | wall s | of which local s "
                "| bound s |"
            ),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            (
                f"| --since (run) | {r.orgs} | {r.writes} | {r.log_entries} | "
                f"{r.since_requests} | {r.since_rate_limited} | {r.since_seconds:.2f} | "
                f"{r.local_seconds:.2f} | {r.since_bound_seconds:.1f} |"
            ),
            (
                f"| full read (plan) | {r.orgs} | - | - | {r.full_requests} | - | - | - | "
                f"{r.full_bound_seconds:.0f} ({r.full_bound_seconds / 60:.0f} min) |"
            ),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--noise", type=int, default=1000, help="login entries interleaved")
    parser.add_argument("--unlimited", action="store_true", help="no rate limits")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="also run the full check on an unlimited copy and compare",
    )
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    result = run(args.orgs, args.noise, enterprise=not args.unlimited, verify=args.verify)
    print(markdown(result))
    print(json.dumps(asdict(result), indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    ok = result.full_read_because is None and result.verified is not False
    ok = ok and result.since_requests < result.full_requests / 10
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
