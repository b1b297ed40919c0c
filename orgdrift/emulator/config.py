"""How an emulated tenant behaves: credentials, rate limits, latency and faults."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from orgdrift.emulator.faults import FaultHook
from orgdrift.emulator.ratelimit import Bucket
from orgdrift.emulator.writes import WRITE_SCOPES
from orgdrift.errors import UsageError

READ_SCOPES: frozenset[str] = frozenset(
    {
        "read:organizations",
        "read:organization_connections",
        "read:organization_client_grants",
        "read:organization_discovery_domains",
    }
)
DEFAULT_TOKEN = "emulator-token"
DEFAULT_CLIENT_ID = "emulator-client"
DEFAULT_CLIENT_SECRET = "emulator-secret"  # a public test value, not a secret

# The scopes each read endpoint group needs (any one of them).
REQUIRED_SCOPES: Mapping[str, tuple[str, ...]] = {
    "organizations": ("read:organizations", "read:organizations_summary"),
    "organization_by_id": ("read:organizations", "read:organizations_summary"),
    "organization_by_name": ("read:organizations",),
    "enabled_connections": ("read:organization_connections",),
    "organization_connections": ("read:organization_connections",),
    "organization_client_grants": ("read:organization_client_grants",),
    "organization_discovery_domains": ("read:organization_discovery_domains",),
    "enabled_connection": ("read:organization_connections",),
    "organization_connection": ("read:organization_connections",),
    "organization_discovery_domain": ("read:organization_discovery_domains",),
    "client_grants": ("read:client_grants",),
}
ENDPOINT_GROUPS: tuple[str, ...] = tuple(REQUIRED_SCOPES)

# What `orgdrift emulator` grants (to try incremental audits and plans): reading, the tenant
# log, the tenant's connections and client grants, and every write on the parts of an
# organization orgdrift reads.
ALL_SCOPES: frozenset[str] = (
    READ_SCOPES | {"read:logs", "read:client_grants", "read:connections"} | WRITE_SCOPES
)


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything configurable about the emulated tenant. Credentials are kept out of repr."""

    tokens: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {DEFAULT_TOKEN: READ_SCOPES}, repr=False
    )
    clients: Mapping[str, tuple[str, frozenset[str]]] = field(
        default_factory=lambda: {DEFAULT_CLIENT_ID: (DEFAULT_CLIENT_SECRET, READ_SCOPES)},
        repr=False,
    )
    audience: str | None = None  # None: f"{scheme}://{Host header}/api/v2/"
    global_bucket: Bucket | None = None  # None: unlimited
    buckets: Mapping[str, Bucket] = field(default_factory=dict)  # keys from ENDPOINT_GROUPS
    latency_ms: float = 0.0
    fail_rate: float = 0.0  # probability of a 5xx answer
    malformed_rate: float = 0.0  # probability of an HTML error page or a truncated JSON body
    seed: int = 0
    send_retry_after: bool = False
    token_lifetime: int = 86400
    faults: FaultHook | None = None
    clock: Callable[[], float] = time.time
    # The tenant log: entries visible only this long after they are written; the newest
    # `log_retention` entries kept (None: all).
    log_delay_ms: float = 0.0
    log_retention: int | None = None

    # The Early Access `GET /organizations/{id}/connections`; False: a tenant without it, which
    # answers 403 (not a scope error) there [INF: the OAS lists no 404 for it].
    organization_connections: bool = True

    def __post_init__(self) -> None:
        unknown = sorted(set(self.buckets) - set(ENDPOINT_GROUPS))
        if unknown:
            raise ValueError(f"unknown endpoint group(s) {unknown}; expected {ENDPOINT_GROUPS}")
        for name in ("fail_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        if self.fail_rate + self.malformed_rate > 1.0:
            raise ValueError("fail_rate + malformed_rate must not exceed 1")
        if self.latency_ms < 0 or not math.isfinite(self.latency_ms):
            raise ValueError(f"latency_ms must be a non-negative number, not {self.latency_ms!r}")
        if self.token_lifetime < 1:
            raise ValueError("token_lifetime must be at least 1 second")
        if self.log_delay_ms < 0 or not math.isfinite(self.log_delay_ms):
            raise ValueError(
                f"log_delay_ms must be a non-negative number, not {self.log_delay_ms!r}"
            )
        if self.log_retention is not None and self.log_retention < 1:
            raise ValueError("log_retention must be at least 1 entry")

    @classmethod
    def enterprise(cls) -> EmulatorConfig:
        """Enterprise public-cloud production limits (Auth0 docs, "Management API Rate Limits")."""
        return cls(
            global_bucket=Bucket(rate=16.0, burst=50),
            buckets={
                "organizations": Bucket.per_minute(100, burst=10),
                "organization_by_id": Bucket.per_minute(100, burst=10),
                "organization_by_name": Bucket.per_minute(200, burst=20),
                "enabled_connections": Bucket.per_minute(100, burst=10),
                # Documented: "Client grants" 100/min, burst 10 (Enterprise). The Early Access
                # connections and the discovery domains have no published bucket: only the
                # global one, paced by the headers like everything else.
                "organization_client_grants": Bucket.per_minute(100, burst=10),
            },
        )


def config_from_options(
    *,
    token: str | None = None,
    rate: float | None = None,
    burst: int | None = None,
    latency_ms: float = 0.0,
    fail_rate: float = 0.0,
    malformed_rate: float = 0.0,
    seed: int = 0,
    send_retry_after: bool = False,
    scopes: frozenset[str] = READ_SCOPES,
    log_delay_ms: float = 0.0,
    log_retention: int | None = None,
) -> EmulatorConfig:
    """The config for `orgdrift emulator --token T --rate R --burst B --latency-ms L --fail-rate P`.

    `--rate` alone gives a burst of max(1, ceil(R)); `--burst` alone is a usage error.
    Raises `UsageError` for out-of-range values (the message never contains the token).
    """
    if burst is not None and rate is None:
        raise UsageError("--burst needs --rate")
    try:
        burst = burst if burst is not None else max(1, math.ceil(rate or 0))
        bucket = Bucket(rate=rate, burst=burst) if rate is not None else None
        tokens = {token if token else DEFAULT_TOKEN: scopes}
        return EmulatorConfig(
            tokens=tokens,
            global_bucket=bucket,
            latency_ms=latency_ms,
            fail_rate=fail_rate,
            malformed_rate=malformed_rate,
            seed=seed,
            send_retry_after=send_retry_after,
            clients={DEFAULT_CLIENT_ID: (DEFAULT_CLIENT_SECRET, scopes)},
            log_delay_ms=log_delay_ms,
            log_retention=log_retention,
        )
    except ValueError as exc:
        raise UsageError(f"emulator: {exc}") from None
