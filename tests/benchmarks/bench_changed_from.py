"""Benchmark a pull-request check (`check --changed-from`) on a 10,000-organization tenant with
Enterprise buckets, against the full check and the bound.

Run from the repository root:

    python tests/benchmarks/bench_changed_from.py [--orgs 10000] [--changed 3]

It commits a generated spec declaring every organization to a git repository in a temporary
directory, edits `--changed` of the declarations (as a pull request would), starts the emulator
with Enterprise's buckets on a loopback socket and runs `orgdrift check SPEC --changed-from main`
in process: requests (counted by the emulator) and wall time, spec loads included. The full check
is not run (at Enterprise's 100 requests a minute for enabled connections it takes 100 minutes):
its requests are orgdrift's plan for the whole spec (`fetch.read_mode`), and its time is the bound
those requests allow, which orgdrift's full check reaches within a few percent
(`bench_check.py`, scenario enterprise-1k).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from orgdrift import pipeline, reads
from orgdrift.client import ClientOptions
from orgdrift.emulator import DEFAULT_TOKEN, create_app, running_server
from tests.benchmarks.bench_check import (
    CONCURRENCY,
    ENTERPRISE,
    Scenario,
    bound_seconds,
    make_tenant,
    minimal_plan,
    org_name,
    spec_text,
)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def run(orgs: int, changed: int, workdir: Path) -> str:
    repo = workdir / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "bench@example.com")
    _git(repo, "config", "user.name", "bench")
    spec = repo / "orgs.yaml"
    text = spec_text(orgs)
    spec.write_text(text, encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "spec")
    step = max(1, orgs // changed)
    touched = [org_name(i) for i in range(3, orgs, step)][:changed]
    for name in touched:  # a pull request edits these declarations' display names
        marker = f'  - name: {name}\n    display_name: "'
        assert marker in text, name
        text = text.replace(marker, marker + "PR ", 1)
    spec.write_text(text, encoding="utf-8")

    app = create_app(make_tenant(orgs), ENTERPRISE)
    with running_server(app) as url:
        tenant = reads.Tenant(
            domain=url,
            env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
            options=ClientOptions(concurrency=CONCURRENCY),
        )
        options = pipeline.CheckOptions(
            specs=(str(spec),), env={}, tenant=tenant, changed_from="main"
        )
        start = time.perf_counter()
        report = pipeline.run_check(options)
        seconds = time.perf_counter() - start
    requests = app.stats.snapshot().total
    assert report.failure is None, report.failure
    assert [o.name for o in report.organizations] == touched, report.organizations
    enterprise = Scenario(
        "enterprise", orgs, global_bucket=ENTERPRISE.global_bucket, buckets=ENTERPRISE.buckets
    )
    full = minimal_plan(orgs, orgs)
    pr = minimal_plan(changed, orgs)
    full_bound = bound_seconds(enterprise, full)
    pr_bound = bound_seconds(enterprise, pr)
    rows = [
        "| check | organizations read | requests | wall s | bound s |",
        "|---|---:|---:|---:|---:|",
        (
            f"| `--changed-from main` ({changed} changed) | {len(report.organizations)} | {requests} "
            f"| {seconds:.2f} | {pr_bound:.2f} |"
        ),
        (
            f"| full check (planned, not run) | {orgs} | {full.total} | ~{full_bound:.0f} (bound) "
            f"| {full_bound:.0f} |"
        ),
    ]
    ratio = full_bound / seconds if seconds else float("inf")
    return "\n".join(rows) + (
        f"\n\n{orgs} organizations, Enterprise buckets; the pull-request check took {seconds:.2f} s"
        f" ({requests} requests), {ratio:.0f}x less than the full check's bound of "
        f"{full_bound / 60:.0f} minutes.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        print(run(args.orgs, args.changed, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
