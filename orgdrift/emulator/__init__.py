"""A faithful emulator of the Auth0 Management API endpoints orgdrift uses (design.md section 7).

`create_app(state, config)` gives an ASGI app for `httpx.ASGITransport` (in process) and
`running_server(app)` / `serve(app, ...)` put it on a loopback socket with uvicorn.
"""

from orgdrift.emulator.app import EmulatorApp, EmulatorStats, StatsSnapshot, create_app
from orgdrift.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    ENDPOINT_GROUPS,
    READ_SCOPES,
    EmulatorConfig,
    config_from_options,
)
from orgdrift.emulator.faults import (
    ConnectionDropped,
    Fault,
    FaultContext,
    FaultHook,
    MalformedKind,
    random_faults,
)
from orgdrift.emulator.http import ASGIApp
from orgdrift.emulator.ratelimit import Bucket
from orgdrift.emulator.server import running_server, serve

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TOKEN",
    "ENDPOINT_GROUPS",
    "READ_SCOPES",
    "ASGIApp",
    "Bucket",
    "ConnectionDropped",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorStats",
    "Fault",
    "FaultContext",
    "FaultHook",
    "MalformedKind",
    "StatsSnapshot",
    "config_from_options",
    "create_app",
    "random_faults",
    "running_server",
    "serve",
]
