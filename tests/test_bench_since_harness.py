"""Smoke test of tests/benchmarks/bench_since.py: a small tenant through the real machinery
(loopback socket, the write endpoints, the tenant log, `check --since`), checked against a full
check of the same tenant, so the benchmark cannot silently rot."""

from __future__ import annotations

import pytest

from tests.benchmarks import bench_since

pytestmark = pytest.mark.loopback


def test_since_benchmark_on_a_small_tenant_equals_the_full_check() -> None:
    result = bench_since.run(200, 12, 150, enterprise=False, verify=True)
    assert result.verified is True
    assert result.full_read_because is None
    assert result.log_entries == 12 + 150
    assert result.reread == 12 and result.looked_up == 2  # renamed and deleted: proven missing
    # the checkpoint lookup, 2 full log pages and an empty one, 12 organizations (one deleted:
    # no connections to read) and their connections, 2 lookups
    assert result.since_requests == 1 + 3 + 12 + 11 + 2
    assert result.full_requests == bench_since.minimal_plan(200, 200).total
