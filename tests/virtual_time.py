"""An asyncio event loop on virtual time: waits jump the clock instead of blocking."""

from __future__ import annotations

import argparse
import asyncio
import selectors
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, TypeVar

import pytest
from starlette.types import ASGIApp

from orgdrift.emulator import InProcessTransport
from orgdrift.reads import Tenant

T = TypeVar("T")


class _VirtualSelector(selectors.DefaultSelector):
    """Instead of blocking until the next timer, jump the virtual clock to it."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            raise RuntimeError("virtual-time loop would block forever")
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._virtual = _VirtualSelector()
        super().__init__(self._virtual)

    def time(self) -> float:
        return self._virtual.now


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)


def in_process_cli(monkeypatch: pytest.MonkeyPatch, app: ASGIApp) -> str:
    """Make `orgdrift.cli.main` read from `app` in process and in virtual time: every back-off,
    injected delay and `--timeout` jumps the clock instead of waiting. Returns the `--domain`
    to pass (a loopback URL: the transport ignores it)."""
    from orgdrift import cli

    original = cli._tenant

    def tenant(args: argparse.Namespace) -> Tenant:
        return replace(
            original(args), transport=InProcessTransport(app=app), loop_factory=VirtualTimeLoop
        )

    monkeypatch.setattr(cli, "_tenant", tenant)
    return "http://127.0.0.1"
