"""Fault injection: a small typed hook deciding, per request, how the emulator misbehaves.

`EmulatorConfig.faults` is a `FaultHook`: a function of a `FaultContext` returning a `Fault` or
None. It runs after authentication and rate limiting (so a fault never hides a 401/403/429) and
before the handler. `EmulatorConfig.fail_rate`/`malformed_rate` are served by `random_faults`,
which the app consults only when the hook returned None.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

MalformedKind = Literal["html", "truncated"]


@dataclass(frozen=True, slots=True)
class FaultContext:
    method: str
    path: str  # the request path, percent-decoded, e.g. "/api/v2/organizations"
    group: str  # the endpoint group the app counts it under, e.g. "organizations" or "unknown"
    query: Mapping[str, str]  # decoded query parameters (last value wins)
    request_number: int  # 1-based, over every request the app has received
    group_request_number: int  # 1-based, over the requests of this group


@dataclass(frozen=True, slots=True)
class Fault:
    """What a fault does: its fields combine, and each defaults to no effect."""

    status: int | None = None  # answered instead of the handler: `body`, or Auth0's envelope
    body: bytes | None = None
    delay_ms: float = 0.0  # waited before answering, on top of `EmulatorConfig.latency_ms`
    # "html": a proxy's 502 HTML error page; "truncated": the status kept, the JSON body cut in
    # half (Content-Length stays consistent)
    malformed: MalformedKind | None = None
    # The headers and half the body, then the connection closes (the app raises
    # `ConnectionDropped`): over a socket the client sees the peer close mid-body
    # (`httpx.RemoteProtocolError`); in process, `InProcessTransport` raises the same error.
    drop_connection: bool = False
    repeat_previous_page: bool = False  # the group's previous successful body (a stale page)
    # On checkpoint listing, `next` is the `from` sent (or, on the first page, a cursor to the
    # first page again): the cursor never advances.
    stuck_cursor: bool = False
    ratelimit_reset_offset: float | None = None  # x-ratelimit-reset = now + offset (< 0: past)

    @classmethod
    def error(cls, status: int, body: bytes | None = None) -> Fault:
        return cls(status=status, body=body)


FaultHook = Callable[[FaultContext], Fault | None]


class ConnectionDropped(Exception):
    """Raised by the app to abort a response mid-body (fault `drop_connection`)."""


SERVER_ERROR_STATUSES: tuple[int, ...] = (500, 502, 503)


def random_faults(fail_rate: float, malformed_rate: float, seed: int) -> FaultHook:
    """A hook drawing 5xx answers with probability `fail_rate` and malformed bodies with
    probability `malformed_rate`, from its own seeded generator (same seed, same sequence)."""
    rng = random.Random(seed)

    def decide(context: FaultContext) -> Fault | None:
        if context.group == "unknown":
            return None
        roll = rng.random()
        if roll < fail_rate:
            return Fault.error(rng.choice(SERVER_ERROR_STATUSES))
        if roll < fail_rate + malformed_rate:
            kind: MalformedKind = "html" if rng.random() < 0.5 else "truncated"
            return Fault(malformed=kind)
        return None

    return decide
