"""Pacing shared by every request of a run: concurrency, the user's cap and adaptive rates.

A request asks `Pacer.slot(group)` for permission to start and reports its response with
`Pacer.record(permit, status, headers)`. Four limits decide when it may start:

1. **Concurrency**: at most `concurrency` requests are in flight (a semaphore).
2. **User cap** (`--max-rps R`): consecutive request starts are at least `1/R` seconds apart,
   across all endpoints. So any half-open window of one second holds at most `ceil(R)` starts
   (a token bucket of capacity 1: no burst is ever saved up). Retries count as requests.
3. **Global reserve**: every Management API response carries the tenant's global bucket in
   `x-ratelimit-limit/remaining/reset`. The pacer models that bucket (the last observation,
   minus the requests started since, plus the refill rate it measures from successive
   observations) and never lets a request start when the bucket would fall below
   `reserve_fraction` of its limit (default 20 %): those requests are left for the tenant's
   other clients. Below the reserve, requests are spread at the measured refill rate, or, before
   a rate is known, held until `x-ratelimit-reset`.
4. **Per-endpoint rates**: Auth0 also limits each endpoint group with a bucket the headers do not
   reveal. A 429 proves that bucket empty at that moment; the successful requests between two
   such proofs, divided by the time between them, measure its sustainable rate. After the first
   429 a group *probes*: its pace starts from the successes of the second before, is held for
   `HOLD_REQUESTS` requests (a pace still too fast shows itself by another 429 first) and then
   doubles every `PROBE_DOUBLING` s. The next 429 gives a first measurement; since the probe
   began below the true rate (the bucket may have overflowed meanwhile) it can only be low, so
   the group then climbs *cautiously* (doubling every `CAUTIOUS_DOUBLING` s, or every
   `DOUBLING_REQUESTS` requests for slow endpoints) from `margin` times it until two
   measurements agree within `AGREE`, and is then held *steady* at `margin` times the
   measurement, growing by `STEADY_GROWTH` per second to follow a rate that rises; each
   confirming measurement halves that growth (down to `MIN_GROWTH`), so a long run pays a 429
   every couple of minutes rather than every few seconds. 429s of requests sent before the
   last decision are stale and ignored; a 429 too soon to measure (under `MEASURE_WINDOW` s or
   `MIN_SUCCESSES` successes) halves the pace, holds it, and keeps the window open.

Clock and sleep are injected, so all of this is unit-tested in virtual time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from orgdrift.sansio import RateLimitInfo

MIN_RATE = 0.1
"""No learned pace goes below one request every ten seconds."""

MAX_RATE = 10_000.0
MEASURE_WINDOW = 0.5
"""Two 429s at least this far apart (by send time) give a rate measurement."""

PROBE_DOUBLING = 0.5
CAUTIOUS_DOUBLING = 1.0
AGREE = 0.1
DOUBLING_REQUESTS = 4.0
MIN_SUCCESSES = 3
PROBE_FLOOR = 1.0
"""A probe starts from the successes of the second before the first 429, and at least 1/s."""
HOLD_REQUESTS = 2.0
"""After slowing down, a group holds its new pace for this many requests before it climbs: a
pace still too fast shows itself by another 429 before growth makes it worse."""

RECHECK = 0.1
"""A waiting request re-reads the pace at least this often (a probing pace grows meanwhile)."""
CLOCK_SLACK = 1e-9
"""A start due less than this from now is due now: waiting for it would spin on float rounding."""
STEADY_GROWTH = 0.01
MIN_GROWTH = 0.001
"""Each measurement that confirms the last halves the steady growth, down to 0.1 %/s: a long run
at a stable limit probes upward (and pays a 429) every couple of minutes, not every few seconds."""
DEFAULT_MARGIN = 0.95
DEFAULT_CONCURRENCY = 8
DEFAULT_RESERVE = 0.2
MAX_GATE = 60.0
PROVISIONAL_SPACING = 0.25
GLOBAL_WINDOW = 1.0
"""Global refill is measured over observations at least this far apart."""

TOKEN_GROUP = "oauth_token"
"""The token endpoint belongs to the Authentication API: its headers are not the global bucket."""


@dataclass(frozen=True, slots=True)
class Permit:
    """One request's permission to start: its endpoint group, start time and start number."""

    group: str
    started: float
    seq: int


class GroupRate:
    """The learned pace of one endpoint group (see the module docstring, point 4)."""

    def __init__(self, *, margin: float = DEFAULT_MARGIN) -> None:
        self.margin = margin
        self._base: float | None = None
        self._grow_from = 0.0
        self._doubling: float | None = None
        self._growth = STEADY_GROWTH
        self._anchor: float | None = None
        self._decided_at = -math.inf
        self._successes: deque[float] = deque()
        self.last_start = -math.inf
        self.measured: float | None = None

    def rate_at(self, now: float) -> float | None:
        """Requests per second allowed at `now`; None while no 429 has been seen."""
        if self._base is None:
            return None
        elapsed = max(now - self._grow_from, 0.0)
        if self._doubling is not None:
            return min(self._base * math.pow(2.0, elapsed / self._doubling), MAX_RATE)
        return min(self._base * (1.0 + self._growth * elapsed), MAX_RATE)

    def on_success(self, sent_at: float) -> None:
        self._successes.append(sent_at)
        horizon = sent_at - 2.0 if self._anchor is None else min(self._anchor, sent_at - 2.0)
        while self._successes and self._successes[0] < horizon:
            self._successes.popleft()

    def _count(self, after: float, before: float) -> int:
        """Successes sent in (after, before]: a request sent at the same instant as the 429
        reached the bucket before it."""
        return sum(1 for s in self._successes if after < s <= before)

    def on_limited(self, sent_at: float, now: float) -> None:
        """A 429 for a request started at `sent_at`, seen at `now`."""
        if sent_at < self._decided_at:
            return  # sent under the previous pace: says nothing new
        if self._anchor is None:
            seen = self._count(sent_at - 1.0, sent_at)
            start = max(float(seen), PROBE_FLOOR)
            self._set(start, PROBE_DOUBLING, now, hold=HOLD_REQUESTS / start)
            self._anchor = sent_at
            return
        span = sent_at - self._anchor
        successes = self._count(self._anchor, sent_at)
        if span >= MEASURE_WINDOW and successes >= MIN_SUCCESSES:
            previous, self.measured = self.measured, successes / span
            # A window that began below the true rate let the bucket overflow, so it measures
            # low: keep climbing (gently) until two measurements agree, then hold steady.
            settled = previous is not None and abs(self.measured - previous) <= AGREE * previous
            if settled and self._doubling is None:
                self._growth = max(self._growth / 2.0, MIN_GROWTH)
            doubling = None if settled else CAUTIOUS_DOUBLING
            rate = max(self.measured * self.margin, MIN_RATE)
            self._set(rate, doubling, now)
            self._anchor = sent_at
            return
        # Too soon to measure: slow down below what the window suggests, keep the anchor so
        # the window grows, and climb back gently.
        current = self.rate_at(now) or PROBE_FLOOR
        bound = (successes + 1) / max(span, 1e-3)
        rate = max(min(current * 0.5, bound), MIN_RATE)
        self._set(rate, CAUTIOUS_DOUBLING, now, hold=HOLD_REQUESTS / rate)

    def _set(self, rate: float, doubling: float | None, now: float, *, hold: float = 0.0) -> None:
        self._base = rate
        # Cautiously, a slow endpoint doubles no faster than every DOUBLING_REQUESTS requests.
        if doubling is not None and doubling != PROBE_DOUBLING:
            doubling = max(doubling, DOUBLING_REQUESTS / rate)
        self._doubling = doubling
        self._grow_from = now + hold
        self._decided_at = now

    def earliest(self, now: float) -> float:
        rate = self.rate_at(now)
        return now if rate is None else self.last_start + 1.0 / rate


@dataclass(frozen=True, slots=True)
class _Observation:
    limit: int
    remaining: int
    reset_at: float  # monotonic
    seq: int  # start number of the observed request
    at: float  # monotonic start time of the observed request


class GlobalBudget:
    """A model of the tenant's global bucket, fed by `x-ratelimit-*` headers (point 3)."""

    def __init__(self, reserve_fraction: float = DEFAULT_RESERVE) -> None:
        if not 0.0 <= reserve_fraction < 1.0:
            raise ValueError("reserve_fraction must be in [0, 1)")
        self.reserve_fraction = reserve_fraction
        self.last: _Observation | None = None
        self.refill_rate: float | None = None
        self._window_start: _Observation | None = None

    @property
    def limit(self) -> int | None:
        return None if self.last is None else self.last.limit

    def reserve(self) -> int:
        return 0 if self.last is None else math.ceil(self.reserve_fraction * self.last.limit)

    def observe(self, info: RateLimitInfo, permit: Permit, now: float, wall_now: float) -> None:
        if info.limit is None or info.remaining is None:
            return
        if self.last is not None and permit.seq < self.last.seq:
            return  # an older observation arriving late
        reset_in = 1.0 if info.reset is None else info.reset - wall_now
        reset_at = now + min(max(reset_in, 0.0), MAX_GATE)
        obs = _Observation(info.limit, info.remaining, reset_at, permit.seq, permit.started)
        self._measure(obs)
        self.last = obs

    def _measure(self, obs: _Observation) -> None:
        start = self._window_start
        if obs.remaining >= obs.limit - 1:
            self._window_start = None  # a full bucket overflows: refill is not measurable
            return
        if start is None or start.limit != obs.limit:
            self._window_start = obs
            return
        span = obs.at - start.at
        if span >= GLOBAL_WINDOW:
            added = obs.remaining - start.remaining + (obs.seq - start.seq)
            self.refill_rate = max(added / span, MIN_RATE)
            self._window_start = obs

    def earliest(self, now: float, seq: int, last_start: float) -> float:
        """When the next request may start without eating into the reserve."""
        obs = self.last
        if obs is None:
            return now
        started_since = seq - obs.seq
        refill = 0.0 if self.refill_rate is None else self.refill_rate * max(now - obs.at, 0.0)
        predicted = min(obs.remaining + refill, float(obs.limit)) - started_since
        if predicted - self.reserve() >= 1.0:
            return now
        if self.refill_rate is not None:
            return max(now, last_start + 1.0 / self.refill_rate)
        # Refill not measured yet: trickle (never waiting past the reset) so that successive
        # observations below the limit can measure it; a full wait until the reset would let
        # the bucket fill up, which hides the rate.
        return max(now, min(obs.reset_at, last_start + PROVISIONAL_SPACING))


Sleep = Callable[[float], Awaitable[object]]


class Pacer:
    """Decides when each request may start; one instance is shared by all requests of a run."""

    def __init__(
        self,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_rps: float | None = None,
        reserve_fraction: float = DEFAULT_RESERVE,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if max_rps is not None and not (max_rps > 0 and math.isfinite(max_rps)):
            raise ValueError("max_rps must be a positive number")
        self.max_rps = max_rps
        self.margin = margin
        self._clock = clock
        self._wall = wall_clock
        self._sleep = sleep
        self._semaphore = asyncio.Semaphore(concurrency)
        self._global = GlobalBudget(reserve_fraction)
        self._groups: dict[str, GroupRate] = {}
        self._seq = 0
        self._last_start = -math.inf
        self.starts: list[float] = []

    def group(self, name: str) -> GroupRate:
        found = self._groups.get(name)
        if found is None:
            found = self._groups[name] = GroupRate(margin=self.margin)
        return found

    def earliest_start(self, group: str, now: float) -> float:
        """The earliest time a request of `group` may start, given what is known at `now`."""
        at = self.group(group).earliest(now)
        if self.max_rps is not None:
            # The epsilon keeps float rounding from squeezing ceil(R) + 1 starts into a second.
            at = max(at, self._last_start + 1.0 / self.max_rps + 1e-6)
        if group != TOKEN_GROUP:
            at = max(at, self._global.earliest(now, self._seq, self._last_start))
        return max(at, now)

    @asynccontextmanager
    async def slot(self, group: str) -> AsyncIterator[Permit]:
        """Wait for a concurrency slot and for the pace; the request starts inside."""
        async with self._semaphore:
            now = self._clock()
            while (at := self.earliest_start(group, now)) > now + CLOCK_SLACK:
                await self._sleep(min(at - now, RECHECK))
                now = self._clock()
            self._seq += 1
            self._last_start = self.group(group).last_start = now
            self.starts.append(now)
            yield Permit(group=group, started=now, seq=self._seq)

    def record(self, permit: Permit, status: int | None, headers: Mapping[str, str]) -> None:
        """Feed one response (status None: transport error) back into the pace."""
        if status is None:
            return
        now = self._clock()
        rate = self.group(permit.group)
        if status == 429:
            rate.on_limited(permit.started, now)
        else:
            rate.on_success(permit.started)
        if permit.group == TOKEN_GROUP:
            return
        info = RateLimitInfo.from_headers(headers)
        # A 429 may describe the endpoint's bucket rather than the global one (the emulator
        # does that); trust it for the global model only when its limit is the global limit.
        if info is not None and (status != 429 or info.limit == self._global.limit):
            self._global.observe(info, permit, now, self._wall())
