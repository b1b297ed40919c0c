"""Emulator configuration, the CLI option parser and the example tenant."""

from __future__ import annotations

import pytest

from orgdrift.emulator import (
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    READ_SCOPES,
    Bucket,
    EmulatorConfig,
    config_from_options,
)
from orgdrift.errors import UsageError

from .support import example_state


def test_defaults_are_unlimited_with_the_documented_credentials() -> None:
    config = EmulatorConfig()
    assert config.global_bucket is None
    assert dict(config.buckets) == {}
    assert config.tokens == {DEFAULT_TOKEN: READ_SCOPES}
    assert config.clients["emulator-client"] == (DEFAULT_CLIENT_SECRET, READ_SCOPES)
    assert (config.latency_ms, config.fail_rate, config.token_lifetime) == (0, 0, 86400)


def test_enterprise_figures_match_the_rate_limit_policy() -> None:
    config = EmulatorConfig.enterprise()
    assert config.global_bucket == Bucket(rate=16, burst=50)
    assert config.buckets["organizations"] == Bucket.per_minute(100, burst=10)
    assert config.buckets["organization_by_id"] == Bucket.per_minute(100, burst=10)
    assert config.buckets["organization_by_name"] == Bucket.per_minute(200, burst=20)
    assert config.buckets["enabled_connections"] == Bucket.per_minute(100, burst=10)


def test_repr_never_shows_credentials() -> None:
    config = EmulatorConfig(
        tokens={"s3cret-token": READ_SCOPES}, clients={"c": ("s3cret-client", READ_SCOPES)}
    )
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fail_rate": 1.5},
        {"fail_rate": 0.6, "malformed_rate": 0.6},
        {"latency_ms": -1},
        {"buckets": {"users": Bucket(1, 1)}},
        {"token_lifetime": 0},
    ],
)
def test_invalid_configs_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        EmulatorConfig(**kwargs)  # type: ignore[arg-type]


def test_config_from_cli_options() -> None:
    config = config_from_options(
        token="t0k", rate=2.5, latency_ms=20, fail_rate=0.1, send_retry_after=True
    )
    assert config.tokens == {"t0k": READ_SCOPES}
    assert config.global_bucket == Bucket(rate=2.5, burst=3)
    assert (config.latency_ms, config.fail_rate, config.send_retry_after) == (20, 0.1, True)
    assert config_from_options(rate=10, burst=40).global_bucket == Bucket(rate=10, burst=40)
    assert config_from_options().tokens == {DEFAULT_TOKEN: READ_SCOPES}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"burst": 5}, "--burst needs --rate"),
        ({"rate": 0}, "rate"),
        ({"rate": 1, "burst": 0}, "burst"),
        ({"fail_rate": 2}, "fail_rate"),
    ],
)
def test_bad_cli_options_are_usage_errors(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        config_from_options(token="do-not-print", **kwargs)  # type: ignore[arg-type]
    assert "do-not-print" not in str(info.value)


def test_example_tenant_contains_the_demo_drifts() -> None:
    state = example_state()
    assert state.tenant == "orgdrift-demo.us.auth0.com"
    by_name = {org.name: org for org in state.organizations}
    assert len(by_name) == 6

    def names(org: str) -> set[str]:
        return {c["connection"]["name"] for c in by_name[org].connections or ()}

    assert names("acme") == {"acme-saml", "google-oauth2"}  # google-oauth2: not allowed
    assert by_name["globex"].data["display_name"] == "Globex Corp (legacy)"  # renamed
    okta = next(
        c for c in by_name["initech"].connections or () if c["connection"]["name"] == "initech-okta"
    )
    assert okta["assign_membership_on_login"] is False  # flipped
    strategies = {
        c["connection"]["strategy"] for o in state.organizations for c in o.connections or ()
    }
    assert {"samlp", "oidc", "google-oauth2", "auth0", "okta", "waad"} <= strategies
