"""Token buckets as Auth0 describes them: burst = capacity, sustained rate = continuous refill.

Pure policy: the state is a frozen value and every function takes the current time, so tests
inject a clock and never wait. `RateLimiter` is the only mutable piece: it holds the states of
the global bucket and of each endpoint group's bucket (as Auth0 documents it, a request is
checked against the global limit first, then against its endpoint's limit).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

UNLIMITED_LIMIT = 1_000_000
"""What `x-ratelimit-limit`/`-remaining` say when the global bucket is unlimited."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token-bucket limit: `rate` tokens per second are added, up to `burst` tokens."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"bucket rate must be a positive number, not {self.rate!r}")
        if self.burst < 1:
            raise ValueError(f"bucket burst must be at least 1, not {self.burst!r}")

    @classmethod
    def per_minute(cls, per_minute: float, burst: int) -> Bucket:
        return cls(rate=per_minute / 60.0, burst=burst)


@dataclass(frozen=True, slots=True)
class BucketState:
    tokens: float
    updated: float  # clock time at which `tokens` was exact


@dataclass(frozen=True, slots=True)
class Quota:
    """What the `x-ratelimit-*` headers say about one bucket."""

    limit: int
    remaining: int
    reset: int  # epoch seconds at which at least one more request is allowed (now if not empty)
    retry_after: int  # whole seconds to wait before a request can pass; 0 when one can pass now


def full(bucket: Bucket, now: float) -> BucketState:
    return BucketState(tokens=float(bucket.burst), updated=now)


def refill(bucket: Bucket, state: BucketState, now: float) -> BucketState:
    """Tokens added since `state.updated`, capped at the burst. A clock going back adds none."""
    elapsed = max(0.0, now - state.updated)
    tokens = min(float(bucket.burst), state.tokens + elapsed * bucket.rate)
    return BucketState(tokens=tokens, updated=max(now, state.updated))


def take(bucket: Bucket, state: BucketState, now: float) -> tuple[bool, BucketState]:
    """Try to spend one token: (allowed, new state). A refused request spends nothing."""
    current = refill(bucket, state, now)
    if current.tokens < 1.0:
        return False, current
    return True, BucketState(tokens=current.tokens - 1.0, updated=current.updated)


def quota(bucket: Bucket, state: BucketState, now: float) -> Quota:
    current = refill(bucket, state, now)
    remaining = math.floor(current.tokens + 1e-9)
    full_now = current.tokens >= bucket.burst
    wait_next = 0.0 if full_now else (remaining + 1 - current.tokens) / bucket.rate
    wait_one = max(0.0, (1.0 - current.tokens) / bucket.rate)
    return Quota(
        limit=bucket.burst,
        remaining=remaining,
        reset=math.ceil(now + wait_next),
        retry_after=math.ceil(wait_one - 1e-9) if wait_one > 0 else 0,
    )


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    quota: Quota  # the global bucket's quota, or the refusing bucket's when refused


class RateLimiter:
    """The tenant's buckets. `check(group)` spends one token from each bucket or from none."""

    def __init__(
        self,
        global_bucket: Bucket | None,
        buckets: Mapping[str, Bucket],
        clock: Callable[[], float],
    ) -> None:
        self._clock = clock
        self._buckets = {**buckets, **({"global": global_bucket} if global_bucket else {})}
        self._states = {name: full(bucket, clock()) for name, bucket in self._buckets.items()}

    def _quota(self, name: str, now: float) -> Quota:
        if name not in self._buckets:  # unlimited
            return Quota(UNLIMITED_LIMIT, UNLIMITED_LIMIT, reset=math.ceil(now), retry_after=0)
        return quota(self._buckets[name], self._states[name], now)

    def global_quota(self) -> Quota:
        return self._quota("global", self._clock())

    def check(self, group: str) -> Decision:
        """The global bucket first, then the endpoint group's."""
        now = self._clock()
        limited = [name for name in ("global", group) if name in self._buckets]
        for name in limited:
            self._states[name] = refill(self._buckets[name], self._states[name], now)
            if self._states[name].tokens < 1.0:
                return Decision(False, self._quota(name, now))
        for name in limited:
            _, self._states[name] = take(self._buckets[name], self._states[name], now)
        return Decision(True, self._quota("global", now))
