"""A faithful emulator of the Auth0 Management API endpoints orgdrift uses.

`create_app(state, config)` gives an ASGI app (Starlette) to use in process through
`InProcessTransport`, or on a loopback socket with uvicorn: `running_server(app)` /
`serve(app, ...)`.
"""

from orgdrift.emulator.app import EmulatorApp, EmulatorStats, create_app
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
from orgdrift.emulator.ratelimit import Bucket
from orgdrift.emulator.server import running_server, serve
from orgdrift.emulator.transport import InProcessTransport

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TOKEN",
    "ENDPOINT_GROUPS",
    "READ_SCOPES",
    "Bucket",
    "ConnectionDropped",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorStats",
    "Fault",
    "FaultContext",
    "FaultHook",
    "InProcessTransport",
    "MalformedKind",
    "config_from_options",
    "create_app",
    "random_faults",
    "running_server",
    "serve",
]
