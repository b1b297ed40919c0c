"""The simple, header-following pacer the adaptive one (orgdrift/pacing.py) is measured against.

Same interface as `orgdrift.pacing.Pacer` (constructor, `slot`, `record`, `starts`), so
`bench_check.py --compare-pacers` swaps it in for a run. Three rules:

1. at most `concurrency` requests in flight (a semaphore);
2. the user's `--max-rps` cap: consecutive starts at least `1/R` apart;
3. the headers: a 429 holds its endpoint group until `Retry-After` (else `x-ratelimit-reset`);
   when the global bucket's last `x-ratelimit-remaining`, less the requests started since,
   falls to the reserve (20 % of `x-ratelimit-limit`), every request waits for
   `x-ratelimit-reset`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from orgdrift.errors import DeadlineExceeded
from orgdrift.pacing import TOKEN_GROUP, Permit
from orgdrift.sansio import RateLimitInfo, parse_retry_after

RECHECK = 0.1


class SimplePacer:
    def __init__(
        self,
        *,
        concurrency: int = 8,
        max_rps: float | None = None,
        reserve_fraction: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        deadline: float | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if max_rps is not None and not (max_rps > 0 and math.isfinite(max_rps)):
            raise ValueError("max_rps must be a positive number")
        self.max_rps = max_rps
        self.deadline = deadline
        self._reserve = reserve_fraction
        self._clock, self._wall, self._sleep = clock, wall_clock, sleep
        self._semaphore = asyncio.Semaphore(concurrency)
        self._held_until: dict[str, float] = {}  # endpoint group -> monotonic time
        self._global: tuple[int, int, float] | None = None  # seq seen, remaining - reserve, reset
        self._seq = 0
        self._last_start = -math.inf
        self.starts: list[float] = []

    def earliest_start(self, group: str, now: float) -> float:
        at = max(now, self._held_until.get(group, now))
        if self.max_rps is not None:
            at = max(at, self._last_start + 1.0 / self.max_rps + 1e-6)
        if group != TOKEN_GROUP and self._global is not None:
            seq, spare, reset = self._global
            if spare - (self._seq - seq) < 1:
                at = max(at, reset)
        return at

    async def acquire(self, group: str) -> Permit:
        await self._semaphore.acquire()
        try:
            while True:
                now = self._clock()
                at = self.earliest_start(group, now)
                if at <= now + 1e-9:
                    self._seq += 1
                    self._last_start = now
                    self.starts.append(now)
                    return Permit(group=group, started=now, seq=self._seq)
                if self.deadline is not None and at > self.deadline:
                    raise DeadlineExceeded(
                        "the run's time limit would pass while waiting for the API rate limit"
                    )
                await self._sleep(min(at - now, RECHECK))
        except BaseException:
            self._semaphore.release()
            raise

    def release(self) -> None:
        self._semaphore.release()

    @asynccontextmanager
    async def slot(self, group: str) -> AsyncIterator[Permit]:
        permit = await self.acquire(group)
        try:
            yield permit
        finally:
            self.release()

    def record(self, permit: Permit, status: int | None, headers: Mapping[str, str]) -> None:
        if status is None or permit.group == TOKEN_GROUP:
            return
        now, wall = self._clock(), self._wall()
        info = RateLimitInfo.from_headers(headers)
        reset = None if info is None or info.reset is None else now + max(info.reset - wall, 0.0)
        if status == 429:
            wait = parse_retry_after(headers, wall)
            until = now + wait if wait is not None else reset if reset is not None else now + 1.0
            self._held_until[permit.group] = max(self._held_until.get(permit.group, 0.0), until)
            return
        if info is None or info.limit is None or info.remaining is None or reset is None:
            return
        if self._global is None or permit.seq >= self._global[0]:
            spare = info.remaining - math.ceil(self._reserve * info.limit)
            self._global = (permit.seq, spare, reset)
