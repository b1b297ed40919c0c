"""Minimal ASGI plumbing: the request as a value, responses as values, error envelopes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from orgdrift.emulator.faults import ConnectionDropped

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    raw_path: str  # still percent-encoded
    segments: tuple[str, ...]  # path segments, each percent-decoded
    query: tuple[tuple[str, str], ...]  # decoded pairs in order
    headers: tuple[tuple[str, str], ...]  # lower-cased names
    body: bytes
    scheme: str
    host: str

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def query_map(self) -> dict[str, str]:
        return dict(self.query)  # last value wins


async def read_request(scope: Scope, receive: Receive) -> Request:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    raw_path_bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    raw_path = raw_path_bytes.decode("latin-1").split("?", 1)[0]
    segments = tuple(unquote(part) for part in raw_path.split("/")[1:])
    query_string = scope.get("query_string", b"").decode("latin-1")
    headers = tuple(
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in scope["headers"]
    )
    host = next((v for k, v in headers if k == "host"), None)
    if host is None:
        server = scope.get("server") or ("localhost", None)
        host = f"{server[0]}:{server[1]}" if server[1] else str(server[0])
    return Request(
        method=scope["method"].upper(),
        raw_path=raw_path,
        segments=segments,
        query=tuple(parse_qsl(query_string, keep_blank_values=True)),
        headers=headers,
        body=b"".join(chunks),
        scheme=str(scope.get("scheme", "http")),
        host=host,
    )


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = JSON_CONTENT_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop_after: int | None = None  # send only this many body bytes, then abort


def json_response(status: int, payload: Any) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(status=status, body=body)


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def error_body(
    status: int,
    message: str,
    error_code: str | None = None,
    *,
    attributes: bool = False,
) -> dict[str, Any]:
    """Auth0's error envelope: statusCode, error, message, then errorCode / attributes if any."""
    body: dict[str, Any] = {"statusCode": status, "error": reason(status), "message": message}
    if error_code is not None:
        body["errorCode"] = error_code
    if attributes:
        body["attributes"] = {"error": message}
    return body


def error_response(
    status: int, message: str, error_code: str | None = None, *, attributes: bool = False
) -> Response:
    return json_response(status, error_body(status, message, error_code, attributes=attributes))


async def send_response(response: Response, send: Send) -> None:
    body = response.body
    headers = [
        (b"content-type", response.content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode("ascii")),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers),
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if response.drop_after is None:
        await send({"type": "http.response.body", "body": body, "more_body": False})
        return
    await send(
        {"type": "http.response.body", "body": body[: response.drop_after], "more_body": True}
    )
    raise ConnectionDropped("emulator fault: connection dropped mid-body")
