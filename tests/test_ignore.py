"""`ignore:` field paths are never compared (diff.normalize), and the spec is left untouched."""

from __future__ import annotations

from typing import Any

import pytest

from orgdrift.diff import compare
from orgdrift.models import LiveOrganization
from orgdrift.spec import load_spec_bytes

SPEC = """\
version: 1
organizations:
  - name: acme
    display_name: Acme
    branding:
      logo_url: https://cdn.example.com/acme.png
      colors: {primary: "#000000", page_background: "#ffffff"}
    metadata: {tier: gold, a.b: x}
    connections:
      - name: acme-saml
"""

LIVE: dict[str, Any] = {
    "id": "org_1",
    "name": "acme",
    "display_name": "Acme Inc.",
    "branding": {
        "logo_url": "https://cdn.example.com/new.png",
        "colors": {"primary": "#111111", "page_background": "#ffffff"},
    },
    "metadata": {"tier": "gold", "a.b": "y", "crm_synced_at": "2026-11-28"},
}
CONNECTIONS = (
    {"connection_id": "con_1", "connection": {"name": "acme-saml"}},
    {"connection_id": "con_2", "connection": {"name": "google-oauth2"}},
)


def paths(ignore: list[str]) -> list[str]:
    text = SPEC + (f"    ignore: {ignore}\n" if ignore else "")
    decl = load_spec_bytes("orgs.yaml", text.encode(), {}).organizations[0]
    return [f.path for f in compare(decl, LiveOrganization(LIVE, CONNECTIONS))]


ALL = [
    "branding.colors.primary",
    "branding.logo_url",
    "connections.google-oauth2",
    "display_name",
    "metadata.a.b",
    "metadata.crm_synced_at",
]


@pytest.mark.parametrize(
    ("ignore", "gone"),
    [
        ([], []),
        (["metadata.crm_synced_at"], ["metadata.crm_synced_at"]),
        (["metadata.a.b"], ["metadata.a.b"]),  # a metadata key is one segment, dots and all
        (["metadata"], ["metadata.a.b", "metadata.crm_synced_at"]),
        (["branding.logo_url"], ["branding.logo_url"]),
        (["branding.colors.primary"], ["branding.colors.primary"]),
        (["branding"], ["branding.colors.primary", "branding.logo_url"]),
        (["connections.google-oauth2"], ["connections.google-oauth2"]),
        (["display_name"], ["display_name"]),
        (["metadata.not_there", "branding.nothing.deeper"], []),
    ],
)
def test_ignored_paths_are_not_compared(ignore: list[str], gone: list[str]) -> None:
    assert paths(ignore) == [p for p in ALL if p not in gone]


def test_defaults_ignore_applies_to_every_organization_and_the_spec_is_untouched() -> None:
    text = "version: 1\ndefaults:\n  ignore: [metadata.crm_synced_at]\n" + SPEC.split("\n", 1)[1]
    spec = load_spec_bytes("orgs.yaml", text.encode(), {})
    decl = spec.organizations[0]
    found = [f.path for f in compare(decl, LiveOrganization(LIVE, CONNECTIONS))]
    assert "metadata.crm_synced_at" not in found
    assert decl.fields["metadata"] == {"tier": "gold", "a.b": "x"}
