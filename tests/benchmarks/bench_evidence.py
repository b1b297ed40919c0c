"""What the evidence costs a check: the live state's digest (RFC 8785 canonical JSON, sha256)
beside writing the same state as a snapshot, for tenants of the benchmark's shape (3 enabled
connections per organization). Median of `--repeat` runs each.

    python tests/benchmarks/bench_evidence.py                 # 1,000 and 10,000 organizations
    python tests/benchmarks/bench_evidence.py --orgs 100000 --repeat 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from orgdrift.evidence import live_state_sha256
from orgdrift.snapshot import dump_snapshot
from tests.benchmarks.bench_check import make_tenant


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, action="append", help="tenant sizes (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| organizations | snapshot MB | digest s | dump_snapshot s | digest / dump |")
    print("|---:|---:|---:|---:|---:|")
    for count in args.orgs or [1_000, 10_000]:
        state = make_tenant(count)
        size = len(dump_snapshot(state).encode("utf-8")) / 1e6
        digest = median_seconds(lambda: live_state_sha256(state), args.repeat)  # noqa: B023
        dump = median_seconds(lambda: dump_snapshot(state), args.repeat)  # noqa: B023
        print(f"| {count:,} | {size:.1f} | {digest:.2f} | {dump:.2f} | {digest / dump:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
