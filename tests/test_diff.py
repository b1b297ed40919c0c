"""diff.compare / check.evaluate: normalized documents -> findings, as tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orgdrift.check import evaluate, select
from orgdrift.diff import compare, normalize
from orgdrift.errors import IncompleteSnapshotError, UsageError
from orgdrift.models import FindingKind, LiveOrganization, LiveState, OrgStatus, Severity, Spec
from orgdrift.spec import load_specs


def spec_from(tmp_path: Path, text: str) -> Spec:
    path = tmp_path / "orgs.yaml"
    path.write_text(text, encoding="utf-8")
    return load_specs([str(path)], {})


def conn(name: str, cid: str, **flags: Any) -> dict[str, Any]:
    return {"connection_id": cid, **flags, "connection": {"name": name, "strategy": "samlp"}}


ACME = {"id": "org_acme1", "name": "acme", "display_name": "Acme Inc."}

SPEC = """\
version: 1
organizations:
  - name: acme
    display_name: Acme Inc.
    connections:
      - name: acme-saml
        assign_membership_on_login: true
"""


def kinds(findings: list[Any]) -> list[tuple[str, str]]:
    return [(f.kind.value, f.path) for f in findings]


@pytest.mark.parametrize(
    ("live_conns", "expected"),
    [
        ([conn("acme-saml", "con_1", assign_membership_on_login=True)], []),
        (
            [conn("acme-saml", "con_1", assign_membership_on_login=False)],
            [("connection_setting_changed", "connections.acme-saml.assign_membership_on_login")],
        ),
        (  # an omitted flag takes the API default (false)
            [conn("acme-saml", "con_1")],
            [("connection_setting_changed", "connections.acme-saml.assign_membership_on_login")],
        ),
        (
            [
                conn("acme-saml", "con_1", assign_membership_on_login=True),
                conn("google-oauth2", "con_2"),
            ],
            [("connection_not_allowed", "connections.google-oauth2")],
        ),
        ([], [("connection_missing", "connections.acme-saml")]),
    ],
)
def test_connections_exact(tmp_path: Path, live_conns: list[Any], expected: list[Any]) -> None:
    decl = spec_from(tmp_path, SPEC).organizations[0]
    findings = compare(decl, LiveOrganization(ACME, tuple(live_conns)))
    assert kinds(findings) == expected


def test_allowlist_tolerates_disabled_declared_connection(tmp_path: Path) -> None:
    text = SPEC.replace(
        "    connections:", "    policy: {connections: allowlist}\n    connections:"
    )
    decl = spec_from(tmp_path, text).organizations[0]
    assert compare(decl, LiveOrganization(ACME, ())) == []
    extra = (conn("google-oauth2", "con_2"),)
    assert kinds(compare(decl, LiveOrganization(ACME, extra))) == [
        ("connection_not_allowed", "connections.google-oauth2")
    ]


def test_fields_whole_values_and_sources(tmp_path: Path) -> None:
    text = """\
version: 1
organizations:
  - name: acme
    display_name: Acme Inc.
    branding:
      colors: {primary: "#0059d6", page_background: "#ffffff"}
    metadata:
      tier: gold
"""
    decl = spec_from(tmp_path, text).organizations[0]
    live = {
        **ACME,
        "display_name": "Acme Corp",
        "branding": {
            "logo_url": "https://x.example/a.png",
            "colors": {"primary": "#000000", "page_background": "#ffffff"},
        },
        "metadata": {"tier": "gold", "owner": "bob"},
    }
    findings = compare(decl, LiveOrganization(live, None))
    assert kinds(findings) == [
        ("field_changed", "branding.colors.primary"),
        ("field_changed", "branding.logo_url"),
        ("field_changed", "display_name"),
        ("field_changed", "metadata.owner"),
    ]
    by_path = {f.path: f for f in findings}
    assert by_path["display_name"].source is not None
    assert by_path["display_name"].source.line == 4
    assert by_path["branding.colors.primary"].source is not None
    assert by_path["branding.colors.primary"].source.line == 6
    assert by_path["metadata.owner"].source is not None
    assert by_path["metadata.owner"].source.line == 7  # the metadata block
    assert by_path["display_name"].message == 'display_name is "Acme Corp", expected "Acme Inc."'
    assert by_path["metadata.owner"].expected is None
    assert by_path["metadata.owner"].actual == "bob"


def test_absent_live_objects_are_empty(tmp_path: Path) -> None:
    text = "version: 1\norganizations:\n  - name: acme\n    metadata: {}\n    branding: {}\n"
    decl = spec_from(tmp_path, text).organizations[0]
    assert normalize(decl, LiveOrganization(ACME, None)) == (
        {"metadata": {}, "branding": {}},
        {"metadata": {}, "branding": {}},
    )


def test_by_id_checks_name_and_missing_and_unmanaged(tmp_path: Path) -> None:
    text = """\
version: 1
policy: {unmanaged_organizations: fail}
organizations:
  - id: org_acme1
    name: acme
  - name: gone
"""
    spec = spec_from(tmp_path, text)
    live = LiveState(
        (
            LiveOrganization({"id": "org_acme1", "name": "acme-renamed"}, None),
            LiveOrganization({"id": "org_other", "name": "other"}, None),
        ),
        complete=True,
    )
    results = evaluate(spec, spec.organizations, live, check_unmanaged=True)
    assert [(r.label, r.status) for r in results] == [
        ("acme", OrgStatus.DRIFTED),
        ("gone", OrgStatus.MISSING),
        ("other", OrgStatus.UNMANAGED),
    ]
    assert results[0].findings[0].kind is FindingKind.FIELD_CHANGED
    assert results[0].findings[0].path == "name"
    assert results[2].findings[0].severity is Severity.ERROR


def test_unmanaged_needs_a_complete_listing(tmp_path: Path) -> None:
    spec = spec_from(
        tmp_path, "version: 1\npolicy: {unmanaged_organizations: report}\norganizations: []\n"
    )
    with pytest.raises(IncompleteSnapshotError):
        evaluate(spec, (), LiveState(()), check_unmanaged=True)


def test_unread_connections_are_incomplete_not_in_sync(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, SPEC)
    with pytest.raises(IncompleteSnapshotError):
        evaluate(
            spec,
            spec.organizations,
            LiveState((LiveOrganization(ACME, None),)),
            check_unmanaged=False,
        )


def test_select_by_name_or_id_and_unknown(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, "version: 1\norganizations:\n  - name: a\n  - id: org_b1\n")
    assert [d.label for d in select(spec, ["org_b1"])] == ["org_b1"]
    with pytest.raises(UsageError, match="zzz"):
        select(spec, ["zzz"])


def test_long_values_are_cut_around_their_difference(tmp_path: Path) -> None:
    base = "https://cdn.example.com/" + "very/long/path/" * 10
    text = f"version: 1\norganizations:\n  - name: acme\n    display_name: {base}logo.png\n"
    decl = spec_from(tmp_path, text).organizations[0]
    live = LiveOrganization({**ACME, "display_name": base + "logo-old.png"}, None)
    [finding] = compare(decl, live)
    shown_actual, shown_expected = finding.message.removeprefix("display_name is ").split(
        ", expected "
    )
    assert shown_actual != shown_expected  # the cut keeps the difference in view
    assert "logo-old.png" in shown_actual and "logo.png" in shown_expected
    assert shown_actual.startswith("…") and len(shown_actual) <= 125
    assert finding.actual == base + "logo-old.png"  # the finding keeps the whole value
