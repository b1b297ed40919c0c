"""Serving the emulator on a real loopback socket with uvicorn.

The socket is bound and listening before uvicorn starts, so the URL is usable at once: a client
connecting early waits in the listen backlog instead of racing the server's start-up.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from starlette.types import ASGIApp

from orgdrift.emulator.faults import ConnectionDropped
from orgdrift.errors import UsageError

_JOIN_TIMEOUT = 10.0


def _not_dropped(record: logging.LogRecord) -> bool:
    """Hides uvicorn's traceback for a deliberately dropped connection (an injected fault)."""
    return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and without it every response waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(app: ASGIApp, log_level: str) -> Any:
    try:
        import uvicorn  # the `emulator` extra
    except ImportError:
        raise UsageError(
            "`orgdrift emulator` needs uvicorn, which is not installed: "
            "pip install 'orgdrift[emulator]'"
        ) from None

    logger = logging.getLogger("uvicorn.error")
    if _not_dropped not in logger.filters:
        logger.addFilter(_not_dropped)
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        http="h11",
        loop="asyncio",
        timeout_graceful_shutdown=2,
        server_header=False,
    )
    return uvicorn.Server(config)


@contextmanager
def running_server(app: ASGIApp, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on `host`, a free port, in a background thread; yields the base URL."""
    sock = _bind(host, 0)
    server = _server(app, "warning")
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="orgdrift-emulator", daemon=True
    )
    thread.start()
    try:
        yield _url(sock)
    finally:
        server.should_exit = True
        thread.join(_JOIN_TIMEOUT)
        sock.close()


def serve(app: ASGIApp, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve `app` until Ctrl-C (blocking). `on_ready(url)` is called once the socket listens.

    On Ctrl-C uvicorn shuts down gracefully and then re-raises the signal, so the caller sees
    KeyboardInterrupt after the socket is closed. A host/port that cannot be bound, or uvicorn
    not installed, raises `UsageError`.
    """
    try:
        sock = _bind(host, port)
    except OSError as exc:
        raise UsageError(f"emulator: cannot listen on {host}:{port}: {exc.strerror}") from None
    try:
        server = _server(app, "warning")
        on_ready(_url(sock))
        server.run(sockets=[sock])
    finally:
        sock.close()
