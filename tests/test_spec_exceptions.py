"""The spec's `exceptions:` and `ignore:`: schema, located errors, values."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from orgdrift.errors import InputError, Location
from orgdrift.models import FindingKind
from orgdrift.spec import load_specs

SPEC = """\
version: 1
defaults:
  ignore: [metadata.crm_synced_at]
organizations:
  - name: acme
    ignore: [branding.logo_url, metadata.crm_synced_at]
  - name: globex
exceptions:
  - organization: acme
    kind: connection_not_allowed
    path: connections.google-oauth2
    reason: SSO migration, SEC-142
    expires: 2027-01-31
    owner: "@platform"
  - organization: "customer-*"
    kind: [field_changed, connection_missing]
    reason: CRM sync
    expires: "2027-02-28"
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "orgs.yaml"
    path.write_text(text, encoding="utf-8")
    return load_specs([str(path)], {})


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        load(tmp_path, text)
    return [p.render().split("orgs.yaml:", 1)[1] for p in caught.value.problems]


def test_exceptions_and_ignores_are_read(tmp_path: Path) -> None:
    spec = load(tmp_path, SPEC)
    acme, globex = spec.organizations  # type: ignore[attr-defined]
    assert acme.ignore == ("metadata.crm_synced_at", "branding.logo_url")
    assert globex.ignore == ("metadata.crm_synced_at",)
    first, second = spec.exceptions  # type: ignore[attr-defined]
    assert first.organization == "acme"
    assert first.kinds == frozenset({FindingKind.CONNECTION_NOT_ALLOWED})
    assert first.path == "connections.google-oauth2"
    assert first.reason == "SSO migration, SEC-142"
    assert first.expires == date(2027, 1, 31)
    assert first.owner == "@platform"
    assert first.location == Location(str(tmp_path / "orgs.yaml"), 9, 5)
    assert second.kinds == frozenset({FindingKind.FIELD_CHANGED, FindingKind.CONNECTION_MISSING})
    assert second.path is None
    assert second.owner is None
    assert second.expires == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "  - organization: x\n    expires: 2027-01-01\n",
            ["9:5: $.exceptions[0]: 'reason' is required"],
        ),
        (
            "  - organization: x\n    reason: r\n",
            ["9:5: $.exceptions[0]: 'expires' is required"],
        ),
        (
            "  - reason: r\n    expires: 2027-01-01\n",
            ["9:5: $.exceptions[0]: 'organization' is required"],
        ),
        (
            "  - organization: x\n    reason: ''\n    expires: 2027-01-01\n",
            ["10:13: $.exceptions[0].reason: '' should be non-empty"],
        ),
        (
            "  - organization: x\n    reason: r\n    expires: '2027-02-30'\n",
            ["11:14: $.exceptions[0].expires: '2027-02-30' is not a date (YYYY-MM-DD)"],
        ),
        (
            "  - organization: x\n    reason: r\n    expires: next week\n",
            [
                (
                    "11:14: $.exceptions[0].expires: 'next week' is not a valid date "
                    "(the last day the exception applies, as YYYY-MM-DD)"
                )
            ],
        ),
        (
            "  - organization: x\n    reason: r\n    expire: 2027-01-01\n",
            [
                "9:5: $.exceptions[0]: 'expires' is required",
                "11:5: $.exceptions[0].expire: unknown field 'expire'; did you mean 'expires'?",
            ],
        ),
        (
            "  - organization: x\n    kind: drift\n    reason: r\n    expires: 2027-01-01\n",
            [
                (
                    "10:11: $.exceptions[0].kind: 'drift' is not one of ['organization_missing', "
                    "'organization_unmanaged', 'field_changed', 'connection_not_allowed', "
                    "'connection_missing', 'connection_setting_changed', 'client_grant_not_allowed', "
                    "'client_grant_missing', 'client_grant_scope_changed', "
                    "'discovery_domain_not_allowed', 'discovery_domain_missing', "
                    "'discovery_domain_changed']"
                )
            ],
        ),
    ],
)
def test_bad_exceptions_are_located(tmp_path: Path, text: str, expected: list[str]) -> None:
    base = "version: 1\norganizations:\n  - name: acme\n\n\n\n\nexceptions:\n"
    assert problems(tmp_path, base + text) == expected


def test_a_bad_ignore_path_is_located(tmp_path: Path) -> None:
    text = "version: 1\norganizations:\n  - name: acme\n    ignore: [metadata.a, tier]\n"
    assert problems(tmp_path, text) == [
        (
            "4:26: $.organizations[0].ignore[1]: 'tier' is not a valid field path (display_name, "
            "branding, branding.logo_url, metadata, metadata.KEY, connections, connections.NAME, "
            "token_quota, client_grants, client_grants.CLIENT:AUDIENCE or discovery_domains)"
        )
    ]
