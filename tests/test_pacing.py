"""The Pacer in virtual time: concurrency, the exact --max-rps cap, the global reserve and the
per-endpoint rates it learns from 429s. No test waits in real time."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from orgdrift.pacing import (
    MEASURE_WINDOW,
    MIN_GROWTH,
    PROBE_FLOOR,
    TOKEN_GROUP,
    GlobalBudget,
    GroupRate,
    Pacer,
    Permit,
)
from orgdrift.sansio import RateLimitInfo

from .virtual_time import run_virtual

T = TypeVar("T")
EPOCH = 1_700_000_000.0


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def _wall() -> float:
    return EPOCH + _loop_time()


def virtual_pacer(**kwargs: Any) -> Pacer:
    return Pacer(clock=_loop_time, wall_clock=_wall, **kwargs)


# --- GroupRate ---------------------------------------------------------------------------------


def test_group_rate_is_unlimited_until_a_429() -> None:
    rate = GroupRate()
    for i in range(50):
        rate.on_success(i * 0.01)
    assert rate.rate_at(1.0) is None
    assert rate.earliest(1.0) == 1.0


def test_group_rate_probes_then_measures() -> None:
    rate = GroupRate(margin=0.9)
    for i in range(10):
        rate.on_success(0.0 + i * 0.001)
    rate.on_limited(0.01, now=0.04)  # first 429: probe from the 10 successes of the last second
    assert rate.rate_at(0.04) == pytest.approx(10.0)
    assert rate.rate_at(0.24) == pytest.approx(10.0)  # held for two requests (0.2 s)
    assert rate.rate_at(0.74) == pytest.approx(20.0)  # then doubles every 0.5 s
    rate.on_limited(0.02, now=0.05)  # sent before the decision: stale, ignored
    assert rate.rate_at(0.24) == pytest.approx(10.0)  # the same pace, held as before
    assert rate.rate_at(0.74) == pytest.approx(20.0)
    for i in range(30):  # 30 successes over the next second
        rate.on_success(0.05 + i / 30)
    rate.on_limited(1.01, now=1.04)
    assert rate.measured == pytest.approx(29 / 1.0)  # the 30th was sent after the 429
    assert rate.rate_at(1.04) == pytest.approx(0.9 * 29)
    # The probe began below the true rate, so this measurement may be low: climb gently
    # (doubling every second) until a second measurement agrees within 10 %.
    assert rate.rate_at(2.04) == pytest.approx(0.9 * 29 * 2)
    for i in range(15):
        rate.on_success(1.05 + i / 30)
    rate.on_limited(1.55, now=1.58)
    assert rate.measured == pytest.approx(16 / 0.54)  # with the one sent at 1.0167
    assert rate.rate_at(1.58) == pytest.approx(0.9 * 16 / 0.54)
    assert rate.rate_at(11.58) == pytest.approx(0.9 * 16 / 0.54 * 1.1)  # steady: +1 %/s
    for i in range(30):
        rate.on_success(1.6 + i / 30)
    rate.on_limited(2.61, now=2.64)
    assert rate.measured == pytest.approx(30 / 1.06)
    # Each measurement that confirms a steady pace halves its growth: +0.5 %/s now.
    assert rate.rate_at(12.64) == pytest.approx(0.9 * 30 / 1.06 * 1.05)


def test_steady_growth_never_drops_below_the_floor() -> None:
    rate = GroupRate(margin=1.0)
    rate.on_limited(0.0, now=0.0)
    t = 0.0
    for _ in range(20):  # twenty measurements of exactly 10/s
        for i in range(10):
            rate.on_success(t + (i + 1) / 10)
        t += 1.0
        rate.on_limited(t + 1e-9, now=t + 0.01)
    assert rate.measured == pytest.approx(10.0, rel=1e-6)
    assert rate.rate_at(t + 100.0) == pytest.approx(10.0 * (1 + MIN_GROWTH * 100), rel=1e-3)


def test_group_rate_slows_down_when_429s_come_too_fast_to_measure() -> None:
    rate = GroupRate()
    rate.on_limited(0.0, now=0.03)
    assert rate.rate_at(0.03) == PROBE_FLOOR
    rate.on_limited(0.1, now=0.13)  # no success since the anchor, 0.1 s later
    assert rate.measured is None
    slowed = rate.rate_at(0.13)
    assert slowed is not None
    assert slowed <= PROBE_FLOOR * 2 ** (0.1 / 0.25) / 2
    for i in range(3):
        rate.on_success(0.2 + i * 0.2)
    rate.on_limited(MEASURE_WINDOW + 0.5, now=1.1)  # window kept from the first 429
    assert rate.measured == pytest.approx(3 / (MEASURE_WINDOW + 0.5))


# --- the user cap and concurrency ----------------------------------------------------------------


async def _fire(pacer: Pacer, count: int, group: str, hold: float) -> tuple[list[float], int]:
    in_flight = 0
    peak = 0

    async def one() -> None:
        nonlocal in_flight, peak
        async with pacer.slot(group) as permit:
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(hold)
            pacer.record(permit, 200, {})
            in_flight -= 1

    await asyncio.gather(*(one() for _ in range(count)))
    return pacer.starts, peak


@pytest.mark.parametrize("max_rps", [5.0, 2.5, 0.5])
def test_max_rps_is_exact(max_rps: float) -> None:
    starts, _ = run_virtual(_fire(virtual_pacer(concurrency=8, max_rps=max_rps), 30, "x", 0.01))
    assert len(starts) == 30
    for first in starts:  # any half-open one-second window
        window = [s for s in starts if first <= s < first + 1.0]
        assert len(window) <= max(1, int(-(-max_rps // 1)))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1.0 / max_rps - 1e-9
    assert starts[-1] - starts[0] == pytest.approx(29 / max_rps, rel=0.01)


def test_concurrency_is_bounded() -> None:
    starts, peak = run_virtual(_fire(virtual_pacer(concurrency=3), 20, "x", 0.05))
    assert peak == 3
    assert len(starts) == 20


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        Pacer(concurrency=0)
    with pytest.raises(ValueError, match="max_rps"):
        Pacer(max_rps=0)
    with pytest.raises(ValueError, match="reserve_fraction"):
        GlobalBudget(1.5)


# --- the global reserve ------------------------------------------------------------------------


def _headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(reset)),
    }


def test_global_budget_model() -> None:
    budget = GlobalBudget(0.2)
    permit = Permit("x", started=0.0, seq=1)
    budget.observe(RateLimitInfo(50, 40, EPOCH + 3), permit, now=0.0, wall_now=EPOCH)
    assert budget.reserve() == 10
    assert budget.earliest(0.0, seq=1, last_start=0.0) == 0.0  # 30 above the reserve
    assert budget.earliest(0.0, seq=30, last_start=0.0) == 0.0  # 29 started since: 11 left
    assert budget.earliest(0.0, seq=31, last_start=0.0) > 0.0  # the next would eat the reserve


def test_requests_stop_at_the_reserve_until_reset() -> None:
    async def scenario() -> tuple[list[float], float]:
        pacer = virtual_pacer(concurrency=4)
        async with pacer.slot("x") as permit:
            pass
        # 10 left of 50, a reserve of 10: nothing more may start before the reset (2 s away),
        # except a slow trickle that lets the pacer measure the refill.
        pacer.record(permit, 200, _headers(50, 10, _wall() + 2))
        await _fire(pacer, 3, "x", 0.0)
        return pacer.starts, _loop_time()

    starts, _ = run_virtual(scenario())
    assert len(starts) == 4
    assert all(b - a >= 0.25 - 1e-9 for a, b in itertools.pairwise(starts))


def test_reserve_ignores_the_token_endpoint_and_endpoint_429s() -> None:
    async def scenario() -> list[float]:
        pacer = virtual_pacer()
        async with pacer.slot("x") as first:
            pass
        pacer.record(first, 200, _headers(50, 45, _wall() + 1))
        async with pacer.slot(TOKEN_GROUP) as token:
            pass
        pacer.record(token, 200, _headers(30, 0, _wall() + 1))  # Authentication API's bucket
        async with pacer.slot("x") as limited:
            pass
        pacer.record(limited, 429, _headers(10, 0, _wall() + 1))  # an endpoint bucket's view
        await _fire(pacer, 5, "y", 0.0)
        return pacer.starts

    starts = run_virtual(scenario())
    assert starts[-1] == pytest.approx(starts[0])  # nothing waited


# --- adaptive pacing against a simulated tenant ---------------------------------------------------


@dataclass
class SimBucket:
    rate: float
    burst: float
    tokens: float
    updated: float = 0.0

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


async def _simulated_run(
    orgs: int, latency: float, hidden_rate: float = 30.0, hidden_burst: float = 10.0
) -> tuple[float, int, int]:
    """Global bucket 50/s burst 50 (in the headers) and a hidden bucket (30/s burst 10)."""
    pacer = virtual_pacer(concurrency=8)
    global_bucket = SimBucket(50.0, 50.0, 50.0)
    hidden = SimBucket(hidden_rate, hidden_burst, hidden_burst)
    sent = 0
    limited = 0

    async def request() -> None:
        nonlocal sent, limited
        while True:
            async with pacer.slot("enabled_connections") as permit:
                sent += 1
                await asyncio.sleep(latency / 2)
                now = _loop_time()
                ok = global_bucket.tokens >= 1.0 and hidden.take(now) and global_bucket.take(now)
                headers = _headers(50, int(global_bucket.tokens), _wall() + 1)
                await asyncio.sleep(latency / 2)
                pacer.record(permit, 200 if ok else 429, headers)
            if ok:
                return
            limited += 1
            await asyncio.sleep(1.0)  # what retry_delay gives for a 1 s reset

    start = _loop_time()
    await asyncio.gather(*(request() for _ in range(orgs)))
    return _loop_time() - start, sent, limited


@pytest.mark.parametrize("latency", [0.005, 0.03, 0.1])
def test_learns_a_hidden_endpoint_limit(latency: float) -> None:
    elapsed, sent, limited = run_virtual(_simulated_run(300, latency))
    bound = 300 / 30.0
    assert elapsed <= 1.15 * bound
    assert limited <= 0.05 * sent


def test_learns_enterprise_enabled_connections_limit_over_a_long_run() -> None:
    """Enterprise's 100/min burst 10 over 1,000 organizations (ten virtual minutes): the fixed
    cost of finding the limit and the occasional upward probe stay under 5 %."""
    elapsed, sent, limited = run_virtual(_simulated_run(1000, 0.03, 100 / 60, 10))
    bound = (1000 - 10) / (100 / 60)
    assert elapsed <= 1.05 * bound
    assert sent <= 1.05 * 1000
    assert limited <= 0.05 * sent
