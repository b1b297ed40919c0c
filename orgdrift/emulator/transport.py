"""The client's side of an in-process emulator: `httpx.ASGITransport`, with a dropped
connection (fault `drop_connection`) surfacing as `httpx.RemoteProtocolError`, as over a socket.
The app itself knows nothing of httpx."""

from __future__ import annotations

import httpx

from orgdrift.emulator.faults import ConnectionDropped


class InProcessTransport(httpx.ASGITransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
