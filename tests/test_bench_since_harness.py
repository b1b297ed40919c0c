"""Smoke test of tests/benchmarks/bench_since.py: a small whole-model tenant through the real
machinery (loopback socket, 20 writes of 20 kinds, the tenant log, `check --since`), checked
against a full check of the same tenant, so the benchmark cannot silently rot."""

from __future__ import annotations

import pytest

from tests.benchmarks import bench_since

pytestmark = pytest.mark.loopback


def test_since_benchmark_on_a_small_tenant_equals_the_full_check() -> None:
    result = bench_since.run(300, 150, enterprise=False, verify=True)
    assert result.verified is True
    assert result.full_read_because is None
    assert (result.writes, result.log_entries) == (20, 20 + 150)
    assert result.looked_up == 1  # the deleted organization: proven missing
    groups = result.since_requests_by_group
    # The checkpoint lookup and the log pages; 7 organizations written re-read, 1 lookup;
    # every part of those still declared and every part the other writes touched (the shared
    # grant: its 10 organizations' client grants).
    assert (groups["log_by_id"], groups["logs"], groups["organization_by_id"]) == (1, 3, 8)
    assert groups["organization_client_grants"] >= 10
    assert result.since_requests == sum(groups.values()) < result.full_requests / 10
    assert result.full_requests == 3 + 3 * 300
