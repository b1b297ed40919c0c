"""Smoke test of the benchmark harness (tests/benchmarks/bench_check.py): a tiny live scenario
through the real machinery, so the harness cannot silently rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgdrift.emulator import Bucket
from tests.benchmarks import bench_check as bench

pytestmark = pytest.mark.loopback


def test_minimal_plan_follows_the_fetch_plan() -> None:
    # 300 declared of 300: a probe page, then 3 more pages (the last, empty, shows the end:
    # `total` never ends a listing) beat 200 lookups.
    assert bench.minimal_plan(300, 300).requests == {
        "organizations": 4,
        "organization_by_name": 0,
        "enabled_connections": 300,
    }
    # 2 declared: two lookups, no listing.
    assert bench.minimal_plan(2, 2).total == 2 + 2
    # 1,000 with unmanaged organizations checked: 10 checkpoint pages.
    assert bench.minimal_plan(1000, 1000, list_all=True).requests["organizations"] == 10


def test_bound_counts_bursts_and_latency() -> None:
    scenario = bench.SCENARIOS["rate-limited"]
    minimal = bench.minimal_plan(300, 300)
    assert bench.bound_seconds(scenario, minimal) == pytest.approx((300 - 10) / 30)
    enterprise = bench.SCENARIOS["enterprise-1k"]
    assert bench.bound_seconds(enterprise, bench.minimal_plan(1000, 1000)) == pytest.approx(594)
    latency = bench.Scenario("l", 16, latency_ms=100.0)
    # probe page, then 16 connection requests in 2 rounds of 8
    assert bench.bound_seconds(latency, bench.minimal_plan(16, 16)) == pytest.approx(0.3)
    assert bench.bucket_seconds(5, Bucket(rate=1.0, burst=10)) == 0.0


def test_tiny_live_scenario_makes_the_minimal_requests(tmp_path: Path) -> None:
    scenario = bench.Scenario("tiny", 10, min_speedup=0.0)
    row = bench.live_row(scenario, tmp_path)
    minimal = bench.minimal_plan(10, 10)
    assert row.minimum == minimal.total == 1 + 10  # one probe page holds all 10
    assert row.requests == minimal.total
    assert row.rate_limited == 0
    assert row.baseline_requests is not None and row.baseline_requests >= 2 * 10
    assert row.checks and all(row.checks.values())
    table = bench.markdown([row]).splitlines()
    assert table[0].startswith("| scenario | orgs | requests (min) | 429s |")
    assert table[2].startswith("| tiny | 10 | 11 (11) | 0 |")
    assert len([line for line in table if line.startswith("| tiny ")]) == 1


def test_pacer_comparison_runs_both_pacers(tmp_path: Path) -> None:
    rows = bench.pacer_rows(tmp_path, 1, scenarios=[bench.Scenario("tiny", 10)])
    assert [row.pacer for row in rows] == ["adaptive", "simple"]
    for row in rows:
        assert [(run.requests, run.rate_limited, run.error) for run in row.runs] == [(11, 0, None)]
    table = bench.pacer_markdown(rows).splitlines()
    assert table[2].startswith("| tiny | adaptive | 11 | 0 | ")
    assert table[3].endswith("| 1/1 complete |")


def test_tiny_model_scenario_reads_grants_and_domains_once_per_organization(tmp_path: Path) -> None:
    """Issue 15: a spec declaring client grants and discovery domains costs one more request of
    each per organization, no more, and its generated drift (a scope) is found."""
    scenario = bench.Scenario("tiny-model", 10, baseline=False, model=True)
    row = bench.live_row(scenario, tmp_path)
    minimal = bench.model_plan(bench.minimal_plan(10, 10), 10)
    assert minimal.requests["organization_client_grants"] == 10
    assert minimal.requests["organization_discovery_domains"] == 10
    assert row.minimum == minimal.total == 1 + 10 + 10 + 10
    assert row.requests == minimal.total
    assert row.rate_limited == 0
