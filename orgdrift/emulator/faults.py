"""Fault injection: a small typed hook deciding, per request, how the emulator misbehaves.

`EmulatorConfig.faults` is a `FaultHook`: a function of a `FaultContext` returning a `Fault` or
None. It runs after authentication and rate limiting (so a fault never hides a 401/403/429) and
before the handler. `EmulatorConfig.fail_rate`/`malformed_rate` are served by `random_faults`,
which the app consults only when the hook returned None.

What a `Fault` can do (fields combine; all default to "no effect"):

* `delay_ms`: wait this long before answering (on top of `EmulatorConfig.latency_ms`).
* `status` (+ optional `body`): answer with this status instead of calling the handler. Without
  `body`, the standard Auth0 error envelope for that status is sent. `Fault.error(503)`.
* `malformed`: `"html"` replaces the answer with a 502 HTML error page (as a proxy would send);
  `"truncated"` keeps the status but cuts the JSON body in half (Content-Length stays consistent).
* `drop_connection`: send the headers and half the body, then close the connection: the app
  raises `ConnectionDropped`. Over a socket the client sees the peer close mid-body
  (`httpx.RemoteProtocolError`); in process, `orgdrift.emulator.InProcessTransport` turns it into
  the same error.
* `repeat_previous_page`: answer with the previous successful body of the same endpoint group
  (a server that serves a stale page).
* `stuck_cursor`: on checkpoint listing, `next` equals the `from` that was sent (or, on the first
  page, a cursor that points at the first page again), so the cursor never advances.
* `ratelimit_reset_offset`: `x-ratelimit-reset` = now + offset seconds (negative: in the past).
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
    group: str  # endpoint group: "organizations", "organization_by_id", "organization_by_name",
    #             "enabled_connections", "token" or "unknown"
    query: Mapping[str, str]  # decoded query parameters (last value wins)
    request_number: int  # 1-based, over every request the app has received
    group_request_number: int  # 1-based, over the requests of this group


@dataclass(frozen=True, slots=True)
class Fault:
    status: int | None = None
    body: bytes | None = None
    delay_ms: float = 0.0
    malformed: MalformedKind | None = None
    drop_connection: bool = False
    repeat_previous_page: bool = False
    stuck_cursor: bool = False
    ratelimit_reset_offset: float | None = None

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
