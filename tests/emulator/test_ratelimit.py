"""Token buckets with an injected clock: no real waiting anywhere."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orgdrift.emulator.ratelimit import (
    UNLIMITED_LIMIT,
    Bucket,
    BucketState,
    RateLimiter,
    full,
    quota,
    refill,
    take,
)

from .support import FakeClock


def test_full_bucket_allows_exactly_the_burst_then_refuses() -> None:
    bucket = Bucket(rate=2.0, burst=3)
    state = full(bucket, 100.0)
    outcomes = []
    for _ in range(5):
        allowed, state = take(bucket, state, 100.0)
        outcomes.append(allowed)
    assert outcomes == [True, True, True, False, False]


def test_refused_request_spends_nothing_and_refill_is_continuous() -> None:
    bucket = Bucket(rate=4.0, burst=2)
    state = BucketState(tokens=0.0, updated=10.0)
    allowed, state = take(bucket, state, 10.2)  # 0.8 tokens: refused
    assert not allowed
    assert state.tokens == pytest.approx(0.8)
    allowed, state = take(bucket, state, 10.25)  # 1.0 token exactly
    assert allowed
    assert state.tokens == pytest.approx(0.0)


def test_refill_caps_at_burst_and_ignores_a_clock_going_back() -> None:
    bucket = Bucket(rate=1.0, burst=5)
    assert refill(bucket, BucketState(1.0, 0.0), 1000.0).tokens == 5.0
    back = refill(bucket, BucketState(2.0, 50.0), 40.0)
    assert back.tokens == 2.0
    assert back.updated == 50.0


def test_quota_reports_remaining_reset_and_retry_after() -> None:
    bucket = Bucket(rate=0.5, burst=10)  # one token every 2 s
    empty = BucketState(tokens=0.25, updated=1000.0)
    q = quota(bucket, empty, 1000.0)
    assert (q.limit, q.remaining) == (10, 0)
    assert q.reset == math.ceil(1000.0 + 0.75 / 0.5)  # when the next whole token is in
    assert q.retry_after == 2
    assert quota(bucket, full(bucket, 5.0), 5.0).reset == 5
    assert quota(bucket, full(bucket, 5.0), 5.0).retry_after == 0


def test_per_minute_and_validation() -> None:
    assert Bucket.per_minute(120, burst=4) == Bucket(rate=2.0, burst=4)
    with pytest.raises(ValueError, match="rate"):
        Bucket(rate=0, burst=1)
    with pytest.raises(ValueError, match="burst"):
        Bucket(rate=1, burst=0)


def test_limiter_checks_global_first_then_the_endpoint(clock: FakeClock) -> None:
    limiter = RateLimiter(
        Bucket(rate=1.0, burst=3), {"organizations": Bucket(rate=1.0, burst=1)}, clock
    )
    first = limiter.check("organizations")
    assert first.allowed
    assert (first.quota.limit, first.quota.remaining) == (3, 2)
    refused = limiter.check("organizations")
    assert (refused.allowed, refused.quota.limit) == (False, 1)  # the refusing bucket's figures
    # The endpoint refusal spent no global token; other groups still pass.
    assert limiter.global_quota().remaining == 2
    assert limiter.check("organization_by_id").allowed
    assert limiter.check("enabled_connections").allowed
    global_refusal = limiter.check("organization_by_id")
    assert (global_refusal.allowed, global_refusal.quota.limit) == (False, 3)  # the global one
    clock.advance(1.0)
    assert limiter.check("organization_by_id").allowed


def test_unlimited_limiter_always_allows(clock: FakeClock) -> None:
    limiter = RateLimiter(None, {}, clock)
    decisions = [limiter.check("organizations") for _ in range(200)]
    assert all(d.allowed for d in decisions)
    assert decisions[-1].quota.limit == UNLIMITED_LIMIT


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=0.1, max_value=50.0),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=1, max_size=120),
)
def test_allowed_requests_never_exceed_burst_plus_refill(
    rate: float, burst: int, gaps: list[float]
) -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(Bucket(rate=rate, burst=burst), {}, clock)
    allowed = 0
    for gap in gaps:
        clock.advance(gap)
        allowed += limiter.check("organizations").allowed
    assert allowed <= burst + rate * clock.now + 1e-6
    # and a bucket left alone long enough is full again
    clock.advance(burst / rate + 1.0)
    assert limiter.global_quota().remaining == burst
