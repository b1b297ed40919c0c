"""The emulated tenant log (`GET /api/v2/logs`, documented at
https://auth0.com/docs/deploy-monitor/logs/retrieve-log-events-using-mgmt-api): entries with
56-digit ascending log ids, checkpoint reads (`from`/`take`, strictly newer, in log_id order),
search reads (`q`, `page`, `per_page`, `sort`, capped at 1000 results), lookups by id, a delay
before entries become visible ("Auth0 does not provide real-time logs") and a retention that
drops the oldest.

Pure apart from the clock passed in: the app appends, the handlers read.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

SEARCH_CAP = 1000  # search mode serves at most this many results per query
LOG_ID_DIGITS = 56


class TenantLog:
    """The tenant log. A write's entry is ingested (given its log id, so ids ascend in
    ingestion order, as in Auth0) only once the delay has passed: an entry that shows up late
    is newer than every entry shown before it, and a checkpoint never skips it. Reads see the
    ingested entries still retained."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        delay_ms: float = 0.0,
        retention: int | None = None,
    ) -> None:
        self._clock = clock
        self._delay = max(delay_ms, 0.0) / 1000.0
        self._retention = retention
        # (clock seconds when visible, the entry dated the write's time, no log id yet)
        self._pending: list[tuple[float, Mapping[str, Any]]] = []  # in write order
        self._entries: list[Mapping[str, Any]] = []  # ingested, log_id order
        self._sequence = 0
        self._last_stamp = ""

    def append(self, entry: Mapping[str, Any]) -> None:
        """Record `entry` (dated now); it is ingested once the log delay has passed."""
        now = self._clock()
        moment = datetime.fromtimestamp(now, UTC)
        date = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        self._pending.append((now + self._delay, {"date": date, **entry}))
        self._ingest()

    def _ingest(self) -> None:
        now = self._clock()
        while self._pending and self._pending[0][0] <= now:
            visible_at, entry = self._pending.pop(0)
            moment = datetime.fromtimestamp(max(now, visible_at), UTC)
            # Digits 4-20 read as the ingestion time (UTC); ids ascend in ingestion order.
            stamp = max(
                moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}",
                self._last_stamp,
            )
            self._last_stamp = stamp
            self._sequence += 1
            tail = str(self._sequence).zfill(LOG_ID_DIGITS - 3 - len(stamp))
            self._entries.append({"log_id": f"900{stamp}{tail}", **entry})
        if self._retention is not None and len(self._entries) > self._retention:
            del self._entries[: len(self._entries) - self._retention]

    def visible(self) -> list[Mapping[str, Any]]:
        self._ingest()
        return list(self._entries)

    def by_id(self, log_id: str) -> Mapping[str, Any] | None:
        return next((e for e in self.visible() if e["log_id"] == log_id), None)

    def after(self, log_id: str, take: int) -> list[Mapping[str, Any]]:
        """Checkpoint mode: up to `take` visible entries strictly newer than `log_id` ("": all)."""
        return [e for e in self.visible() if e["log_id"] > log_id][:take]

    def search(self, *, kind: str | None, sort: str) -> Sequence[Mapping[str, Any]]:
        entries = [e for e in self.visible() if kind is None or e.get("type") == kind]
        field, _, order = sort.partition(":")
        # Entries of the same millisecond keep their ingestion order (newest last), so a
        # descending sort lists the newest first on a tie too.
        ranked = sorted(
            enumerate(entries),
            key=lambda p: (str(p[1].get(field, "")), p[0]),
            reverse=order == "-1",
        )
        return [entry for _, entry in ranked]


def sapi_entry(
    *,
    description: str,
    method: str,
    path: str,
    body: Mapping[str, Any],
    status: int,
    response: Mapping[str, Any],
    client_id: str,
) -> dict[str, Any]:
    """A `sapi` entry shaped like the real ones (lowercase method, organization_id null)."""
    request = {
        "method": method.lower(),
        "path": path,
        "query": {},
        "userAgent": "orgdrift-emulator",
        "body": dict(body),
        "channel": "api",
        "ip": "127.0.0.1",
        "auth": {"user": {}, "strategy": "jwt", "credentials": {"jti": secrets.token_hex(16)}},
    }
    details = {"request": request, "response": {"statusCode": status, "body": dict(response)}}
    return other_entry(
        "sapi", description, client_id, organization_id=None, details=details, user_id=""
    )


def other_entry(kind: str, description: str, client_id: str = "", **fields: Any) -> dict[str, Any]:
    """A log entry of another type (a login `s`, a token exchange `seccft`...), with `fields`."""
    return {
        "type": kind,
        "description": description,
        "client_id": client_id,
        "client_name": "",
        "ip": "127.0.0.1",
        "user_agent": "orgdrift-emulator",
        "details": {},
        "hostname": "emulator.local",
        **fields,
    }
