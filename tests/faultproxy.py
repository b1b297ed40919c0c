"""A fault-injecting HTTP proxy on real sockets, written apart from orgdrift's client and emulator.

`FaultProxy(upstream)` listens on 127.0.0.1 and forwards every request to the upstream server (the
loopback emulator), one TCP connection per exchange, then applies the fault its `schedule` picks
for that exchange before answering on the client's socket. It knows nothing of orgdrift: it parses
HTTP/1.1 itself, reads the credentials the client sends (bearer tokens, the client secret of a
token request) and the tokens the upstream issues, so it can echo them back the way a careless
server or middlebox would, and records them so a test can look for them in orgdrift's output.

A schedule maps (endpoint group, n-th request of that group) to a fault name from `FAULTS`;
`random_schedule(rng, ...)` draws one from a seeded random generator.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import json
import random
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

STALL_SECONDS = 2.0  # a slow answer, within orgdrift's limits
STALL_PAST_TIMEOUT = 30.0  # longer than any --timeout the tests give
GZIP_BOMB_MIB = 64
OVERSIZED_MIB = 9


@dataclass
class Exchange:
    """One request and the upstream's answer, as the fault sees and changes them."""

    method: str
    path: str
    query: dict[str, str]
    group: str
    number: int  # 1 for the first request of its group
    request_headers: dict[str, str]
    request_body: bytes
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    bearer: str | None = None  # the credential the client sent with this request
    client_secret: str | None = None  # the one a token request carried
    # transport-level actions, applied when answering
    reset: bool = False
    truncate: bool = False
    stall: float = 0.0
    raw_header_lines: list[bytes] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)

    def set_json(self, value: Any) -> None:
        self.set_body(json.dumps(value).encode())

    def set_body(self, body: bytes, content_type: str = "application/json; charset=utf-8") -> None:
        self.body = body
        self.headers = [
            (k, v) for k, v in self.headers if k.lower() not in ("content-type", "content-encoding")
        ]
        self.headers.append(("content-type", content_type))

    def answer(
        self, status: int, body: bytes, content_type: str = "application/json; charset=utf-8"
    ) -> None:
        self.status, self.reason = status, _REASONS.get(status, "Error")
        self.set_body(body, content_type)

    def envelope(self, status: int, message: str, code: str | None = None, **extra: Any) -> None:
        body: dict[str, Any] = {
            "statusCode": status,
            "error": _REASONS.get(status, "Error"),
            "message": message,
        }
        if code is not None:
            body["errorCode"] = code
        body.update(extra)
        self.answer(status, json.dumps(body).encode())

    @property
    def secret(self) -> str:
        """What this exchange can echo: the client secret or bearer token it carried."""
        return self.client_secret or self.bearer or "no-credential-seen"


_REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def group_of(method: str, path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if parts == ["oauth", "token"]:
        return "token"
    if parts[:3] != ["api", "v2", "organizations"]:
        return "unknown"
    rest = parts[3:]
    if not rest:
        return "organizations"
    if len(rest) == 2 and rest[0] == "name":
        return "organization_by_name"
    if len(rest) == 2 and rest[1] == "enabled_connections":
        return "enabled_connections"
    return "organization_by_id"


# --- the faults ----------------------------------------------------------------------------------

Fault = Callable[[Exchange, "FaultProxy"], None]


def _is_json_ok(x: Exchange) -> bool:
    return x.status == 200 and x.body[:1] in (b"{", b"[")


def _listing(x: Exchange) -> list[dict[str, Any]] | None:
    """The items of a listing page (organizations or enabled connections), or None."""
    if not _is_json_ok(x) or x.group not in ("organizations", "enabled_connections"):
        return None
    data = x.json()
    items = (
        data.get("organizations", data.get("enabled_connections"))
        if isinstance(data, dict)
        else None
    )
    return items if isinstance(items, list) else None


def _edit_page(x: Exchange, edit: Callable[[dict[str, Any], list[dict[str, Any]]], None]) -> None:
    if _listing(x) is None:
        return
    data = x.json()
    key = "organizations" if "organizations" in data else "enabled_connections"
    edit(data, data[key])
    x.set_json(data)


def _set_total_text(x: Exchange, text: str) -> None:
    """Write `total` as raw JSON text (NaN, Infinity, 1e400, 400 digits are not JSON values)."""
    if _listing(x) is None:
        return
    data = x.json()
    if "total" not in data:
        data["total"] = 0
    body = json.dumps(data)
    x.set_body(re.sub(r'"total": -?\d+', f'"total": {text}', body).encode())


def _deep(levels: int, leaf: str = "1") -> bytes:
    return b"[" * levels + leaf.encode() + b"]" * levels


def _deep_object(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"k": value}
    return value


def fault_reset(x: Exchange, p: FaultProxy) -> None:
    x.reset = True


def fault_truncate(x: Exchange, p: FaultProxy) -> None:
    x.truncate = True


def fault_stall(x: Exchange, p: FaultProxy) -> None:
    x.stall = STALL_SECONDS


def fault_stall_past_timeout(x: Exchange, p: FaultProxy) -> None:
    x.stall = STALL_PAST_TIMEOUT


def fault_429(x: Exchange, p: FaultProxy) -> None:
    x.envelope(429, "Global limit has been reached", "too_many_requests")
    x.headers.append(("retry-after", "1"))


def fault_429_reset(x: Exchange, p: FaultProxy) -> None:
    x.envelope(429, "Global limit has been reached", "too_many_requests")
    x.headers = [(k, v) for k, v in x.headers if not k.lower().startswith("x-ratelimit")]
    x.headers += [
        ("x-ratelimit-limit", "50"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", str(int(p.now()) + 1)),
    ]


def fault_429_bare(x: Exchange, p: FaultProxy) -> None:
    x.answer(429, b'{"statusCode":429,"error":"Too Many Requests"}')
    x.headers = [(k, v) for k, v in x.headers if not k.lower().startswith("x-ratelimit")]


def fault_5xx(x: Exchange, p: FaultProxy) -> None:
    status = p.rng.choice([500, 502, 503, 504])
    x.envelope(status, "An internal server error occurred")


def fault_html_502(x: Exchange, p: FaultProxy) -> None:
    x.answer(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")


def fault_html_404(x: Exchange, p: FaultProxy) -> None:
    x.answer(404, b"<html><body><h1>404 Not Found</h1><p>nginx</p></body></html>", "text/html")


def fault_empty_404(x: Exchange, p: FaultProxy) -> None:
    x.answer(404, b"", "text/plain")


def fault_odd_json_404(x: Exchange, p: FaultProxy) -> None:
    x.answer(404, b'{"message":"route not found","code":404}')


def fault_not_json_200(x: Exchange, p: FaultProxy) -> None:
    x.answer(200, b"<html>maintenance</html>", "text/html")


def fault_empty_200(x: Exchange, p: FaultProxy) -> None:
    x.answer(200, b"")


def fault_gzip_bomb(x: Exchange, p: FaultProxy) -> None:
    x.answer(200, _gzip_bomb())
    x.headers.append(("content-encoding", "gzip"))


def fault_oversized(x: Exchange, p: FaultProxy) -> None:
    x.answer(200, b'{"organizations": [' + b" " * (OVERSIZED_MIB * 2**20) + b"]}")


def fault_deep_body(x: Exchange, p: FaultProxy) -> None:
    x.answer(x.status if x.status else 200, _deep(100_000))


def fault_deep_error_401(x: Exchange, p: FaultProxy) -> None:
    x.answer(401, b'{"statusCode":401,"message":' + _deep(100_000) + b"}")


def fault_deep_error_503(x: Exchange, p: FaultProxy) -> None:
    x.answer(503, _deep(100_000, '"x"'))


def fault_deep_metadata(x: Exchange, p: FaultProxy) -> None:
    deep = _deep_object(800)

    def edit(data: dict[str, Any], items: list[dict[str, Any]]) -> None:
        if items and "organizations" in data:
            items[0]["metadata"] = deep

    if x.group in ("organization_by_name", "organization_by_id") and _is_json_ok(x):
        data = x.json()
        data["metadata"] = deep
        x.set_json(data)
    else:
        _edit_page(x, edit)


def fault_echo_errorcode(x: Exchange, p: FaultProxy) -> None:
    x.envelope(
        401,
        f"Invalid token {x.secret}",
        x.secret,
        attributes={"error": f"Invalid token {x.secret}"},
    )


def fault_echo_403(x: Exchange, p: FaultProxy) -> None:
    x.envelope(403, f"Insufficient scope for {x.secret}", "insufficient_scope")


def fault_echo_500(x: Exchange, p: FaultProxy) -> None:
    x.envelope(500, f"upstream said: Authorization: Bearer {x.secret}", f"err-{x.secret}")


def fault_echo_oauth(x: Exchange, p: FaultProxy) -> None:
    x.answer(
        401, json.dumps({"error": x.secret, "error_description": f"bad secret {x.secret}"}).encode()
    )


def fault_echo_in_200(x: Exchange, p: FaultProxy) -> None:
    def edit(data: dict[str, Any], items: list[dict[str, Any]]) -> None:
        if items and "organizations" in data:
            items[0]["display_name"] = f"Org {x.secret}"

    _edit_page(x, edit)


def fault_echo_illegal_header(x: Exchange, p: FaultProxy) -> None:
    x.raw_header_lines.append(f"X-Debug-Auth {x.secret}".encode())


def fault_echo_header(x: Exchange, p: FaultProxy) -> None:
    x.headers.append(("x-debug-auth", f"Bearer {x.secret}"))


def fault_total_capped(x: Exchange, p: FaultProxy) -> None:
    _edit_page(
        x,
        lambda data, items: (
            data.update(total=min(data.get("total", 0), 100)) if "total" in data else None
        ),
    )


def fault_total_window(x: Exchange, p: FaultProxy) -> None:
    """`total` capped at the 1,000-record window of offset paging (undocumented past it)."""
    _edit_page(
        x,
        lambda data, items: (
            data.update(total=min(data["total"], 1000)) if "total" in data else None
        ),
    )


def fault_total_smaller(x: Exchange, p: FaultProxy) -> None:
    _edit_page(
        x, lambda data, items: data.update(total=data["total"] // 3) if "total" in data else None
    )


def fault_total_zero(x: Exchange, p: FaultProxy) -> None:
    _edit_page(x, lambda data, items: data.update(total=0) if "total" in data else None)


def fault_total_bigger(x: Exchange, p: FaultProxy) -> None:
    _edit_page(
        x, lambda data, items: data.update(total=data["total"] * 3 + 7) if "total" in data else None
    )


def fault_drop_items(x: Exchange, p: FaultProxy) -> None:
    """Two to five items vanish; `total` and `next` stay. (One undeclared organization alone
    vanishing from a page that carries no total is a consistent tenant: no client can tell.)"""

    def edit(data: dict[str, Any], items: list[dict[str, Any]]) -> None:
        for _ in range(min(len(items), p.rng.randint(2, 5))):
            items.pop(p.rng.randrange(len(items)))

    _edit_page(x, edit)


def fault_repeat_item(x: Exchange, p: FaultProxy) -> None:
    """An item of an earlier page of the same listing (or of this page) shows up again.
    (A connection of another organization's listing would be a consistent lie: connection items
    carry no organization id, so no client could tell.)"""
    previous = p.last_items.get(x.path)

    def edit(data: dict[str, Any], items: list[dict[str, Any]]) -> None:
        if not items:
            return
        source = previous if previous else items
        items[p.rng.randrange(len(items))] = dict(p.rng.choice(source))

    _edit_page(x, edit)


def fault_repeat_page(x: Exchange, p: FaultProxy) -> None:
    """The previous page of the same listing, served again."""
    previous = p.last_bodies.get(x.path)
    if previous is not None and _listing(x) is not None:
        x.set_body(previous)


def fault_drop_next(x: Exchange, p: FaultProxy) -> None:
    _edit_page(x, lambda data, items: data.pop("next", None))


def fault_name_not_string(x: Exchange, p: FaultProxy) -> None:
    value = p.rng.choice([123, None, ["acme"], {"name": "acme"}, True])

    def edit(data: dict[str, Any], items: list[dict[str, Any]]) -> None:
        if items:
            key = "name" if "organizations" in data else "connection_id"
            items[p.rng.randrange(len(items))][key] = value

    if x.group in ("organization_by_name", "organization_by_id") and _is_json_ok(x):
        data = x.json()
        data["name"] = value
        x.set_json(data)
    else:
        _edit_page(x, edit)


def fault_id_not_string(x: Exchange, p: FaultProxy) -> None:
    def edit(data: dict[str, Any], items: list[dict[str, Any]]) -> None:
        if items:
            key = "id" if "organizations" in data else "connection_id"
            items[0][key] = 12345

    _edit_page(x, edit)


def fault_flag_not_bool(x: Exchange, p: FaultProxy) -> None:
    def edit(data: dict[str, Any], items: list[dict[str, Any]]) -> None:
        if items and "enabled_connections" in data:
            items[0]["assign_membership_on_login"] = "true"

    _edit_page(x, edit)


def fault_connection_name_not_string(x: Exchange, p: FaultProxy) -> None:
    def edit(data: dict[str, Any], items: list[dict[str, Any]]) -> None:
        if items and "enabled_connections" in data:
            items[0]["connection"] = {"name": 7, "strategy": "auth0"}

    _edit_page(x, edit)


def fault_total_nan(x: Exchange, p: FaultProxy) -> None:
    _set_total_text(x, "NaN")


def fault_total_infinity(x: Exchange, p: FaultProxy) -> None:
    _set_total_text(x, "Infinity")


def fault_total_1e400(x: Exchange, p: FaultProxy) -> None:
    _set_total_text(x, "1e400")


def fault_total_huge_int(x: Exchange, p: FaultProxy) -> None:
    _set_total_text(x, "9" * 400)


def fault_total_negative(x: Exchange, p: FaultProxy) -> None:
    _set_total_text(x, "-5")


def fault_token_expires_nan(x: Exchange, p: FaultProxy) -> None:
    if x.group == "token" and _is_json_ok(x):
        x.set_body(re.sub(rb'"expires_in":\s*\d+', b'"expires_in": NaN', x.body))


def fault_token_deep(x: Exchange, p: FaultProxy) -> None:
    if x.group == "token":
        x.answer(200, b'{"access_token":"t","x":' + _deep(100_000) + b"}")


FAULTS: dict[str, Fault] = {
    name.removeprefix("fault_"): value
    for name, value in dict(globals()).items()
    if name.startswith("fault_") and callable(value)
}

# Faults that may leave the verdict intact (retried, ignored or harmless): the rest must end in
# exit 3 whenever they hit a request whose answer orgdrift needs.
TRANSIENT = frozenset(
    {
        "reset",
        "truncate",
        "stall",
        "429",
        "429_reset",
        "429_bare",
        "5xx",
        "html_502",
        "not_json_200",
        "empty_200",
        "echo_header",
    }
)


@functools.cache
def _gzip_bomb() -> bytes:
    """64 MiB of spaces, gzipped to about 64 KiB."""
    return gzip.compress(b" " * (GZIP_BOMB_MIB * 2**20), compresslevel=9)


# --- schedules -------------------------------------------------------------------------------------

Schedule = Mapping[tuple[str, int], str]

GROUPS = (
    "organizations",
    "enabled_connections",
    "organization_by_name",
    "organization_by_id",
    "token",
)


def random_schedule(rng: random.Random, *, slow: bool = False) -> dict[tuple[str, int], str]:
    """One to four faults, each on one request or a run of requests (a storm) of one group.
    `slow` admits stalls longer than the run's --timeout."""
    names = sorted(n for n in FAULTS if slow or n != "stall_past_timeout")
    schedule: dict[tuple[str, int], str] = {}
    for _ in range(rng.randint(1, 4)):
        group = rng.choice(GROUPS)
        start = rng.randint(1, 4 if group != "enabled_connections" else 40)
        length = rng.choice([1, 1, 1, 2, 6])
        name = rng.choice(names)
        for number in range(start, start + length):
            schedule[(group, number)] = name
    return schedule


# --- the proxy -----------------------------------------------------------------------------------


class FaultProxy:
    """Serves on 127.0.0.1 in a background thread; `with FaultProxy(upstream) as proxy:`."""

    def __init__(self, upstream: str, seed: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.schedule: dict[tuple[str, int], str] = {}
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.applied: Counter[str] = Counter()
        self.seen_secrets: set[str] = set()  # every credential and token that crossed the proxy
        self.last_items: dict[str, list[dict[str, Any]]] = {}
        self.last_bodies: dict[str, bytes] = {}
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        import time

        return time.time()

    def reset(self, schedule: Schedule, seed: int) -> None:
        with self._lock:
            self.schedule = dict(schedule)
            self.rng = random.Random(seed)
            self.counts.clear()
            self.applied.clear()
            self.last_items.clear()
            self.last_bodies.clear()

    # --- lifetime ---

    def __enter__(self) -> Self:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            self._server = loop.run_until_complete(asyncio.start_server(self._handle, sock=sock))
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    async def _shutdown(self) -> None:
        """Cancel the exchanges still running (a stall outlives its client) so every socket closes."""
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- one exchange per client connection ---

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is None:
                return
            exchange = await self._forward(*request)
            await self._answer(exchange, writer)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _forward(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Exchange:
        parts = urlsplit(target)
        group = group_of(method, parts.path)
        with self._lock:
            self.counts[group] += 1
            number = self.counts[group]
            name = self.schedule.get((group, number))
        exchange = Exchange(
            method, parts.path, dict(parse_qsl(parts.query)), group, number, headers, body
        )
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            exchange.bearer = auth[7:].strip()
        if group == "token":
            with contextlib.suppress(ValueError):
                sent = json.loads(body or b"{}")
                if isinstance(sent, dict) and isinstance(sent.get("client_secret"), str):
                    exchange.client_secret = sent["client_secret"]
        for value in (exchange.bearer, exchange.client_secret):
            if value:
                self.seen_secrets.add(value)
        await self._upstream(exchange)
        if group == "token" and exchange.status == 200:
            with contextlib.suppress(ValueError, AttributeError):
                self.seen_secrets.add(json.loads(exchange.body)["access_token"])
        original_items = _listing(exchange)
        original_body = exchange.body
        if name is not None:
            self.applied[name] += 1
            FAULTS[name](exchange, self)
        if original_items is not None:  # per listing: the same path, another page
            self.last_items[exchange.path] = original_items
            self.last_bodies[exchange.path] = original_body
        return exchange

    async def _upstream(self, exchange: Exchange) -> None:
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            lines = [
                (
                    f"{exchange.method} {exchange.path}{'?' if exchange.query else ''}"
                    f"{'&'.join(f'{k}={v}' for k, v in _raw_query(exchange))} HTTP/1.1"
                )
            ]
            for key, value in exchange.request_headers.items():
                if key not in ("connection", "content-length", "host"):
                    lines.append(f"{key}: {value}")
            lines += [
                f"host: {self.upstream[0]}:{self.upstream[1]}",
                "connection: close",
                f"content-length: {len(exchange.request_body)}",
            ]
            writer.write(
                ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + exchange.request_body
            )
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        head, _, body = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        _, status, reason = ([*status_line.split(" ", 2), ""])[:3]
        exchange.status, exchange.reason = int(status), reason
        exchange.headers = [tuple(h.split(": ", 1)) for h in header_lines if ": " in h]  # type: ignore[misc]
        exchange.headers = [
            (k, v)
            for k, v in exchange.headers
            if k.lower() not in ("content-length", "connection", "transfer-encoding")
        ]
        exchange.body = body

    async def _answer(self, x: Exchange, writer: asyncio.StreamWriter) -> None:
        if x.stall:
            await asyncio.sleep(x.stall)
        if x.reset:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        head = [f"HTTP/1.1 {x.status} {x.reason}".encode("latin-1")]
        head += [f"{k}: {v}".encode("latin-1") for k, v in x.headers]
        head += x.raw_header_lines
        head += [f"content-length: {len(x.body)}".encode(), b"connection: close"]
        body = x.body[: len(x.body) // 2] if x.truncate else x.body
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()


def _raw_query(exchange: Exchange) -> list[tuple[str, str]]:
    from urllib.parse import quote

    return [(quote(k, safe=""), quote(v, safe="")) for k, v in exchange.query.items()]


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return method, target, headers, body


@contextlib.contextmanager
def running_proxy(upstream: str, seed: int = 0) -> Iterator[FaultProxy]:
    with FaultProxy(upstream, seed) as proxy:
        yield proxy
