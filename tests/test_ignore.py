"""`ignore:` field paths are never compared (diff.normalize), and the spec is left untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orgdrift.cli import main
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


def test_ignore_covers_the_whole_organization_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ignore:` also leaves out token_quota, client grants and discovery domains (issue 15)."""
    root = Path(__file__).resolve().parent.parent
    spec = (root / "examples" / "full-model.yaml").read_text(encoding="utf-8")
    patched = spec.replace(
        "  - name: acme\n",
        "  - name: acme\n    ignore: [token_quota, client_grants, discovery_domains.acme-mail.com]\n",
        1,
    )
    assert patched != spec
    (tmp_path / "orgs.yaml").write_text(patched, encoding="utf-8")
    live = str(root / "examples" / "full-model-tenant.json")
    code = main(["check", str(tmp_path / "orgs.yaml"), "--live", live, "--format", "json"])
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["path"] for o in report["organizations"] for f in o["findings"]] == [
        "discovery_domains.acme.co.uk"
    ]
