"""check: declarations matched once to live organizations; unmanaged organizations located."""

from __future__ import annotations

from pathlib import Path

from orgdrift.check import evaluate, live_key, match
from orgdrift.models import LiveOrganization, LiveState, Location, OrgStatus, Severity
from orgdrift.spec import load_specs

SPEC = """\
version: 1
policy:
  unmanaged_organizations: report
organizations:
  - id: org_acme1
  - name: globex
  - name: gone
"""


def orgs(*pairs: tuple[str, str]) -> tuple[LiveOrganization, ...]:
    return tuple(LiveOrganization({"id": i, "name": n}, None) for i, n in pairs)


def test_match_by_id_when_declared_else_by_name(tmp_path: Path) -> None:
    (tmp_path / "orgs.yaml").write_text(SPEC, encoding="utf-8")
    spec = load_specs([str(tmp_path / "orgs.yaml")], {})
    live = orgs(("org_acme1", "renamed"), ("org_globex", "globex"), ("org_x", "org_acme1"))
    found = [(d.label, o.id if o else None) for d, o in match(spec.organizations, live, live_key)]
    assert found == [("org_acme1", "org_acme1"), ("globex", "org_globex"), ("gone", None)]


def test_unmanaged_results_carry_the_live_id_and_the_policy_line(tmp_path: Path) -> None:
    (tmp_path / "orgs.yaml").write_text(SPEC, encoding="utf-8")
    spec = load_specs([str(tmp_path / "orgs.yaml")], {})
    live = LiveState(orgs(("org_acme1", "acme"), ("org_u2", "zeta"), ("org_u1", "")), complete=True)
    results = evaluate(spec, (), live, check_unmanaged=True)
    unmanaged = [(r.label, r.id, r.status) for r in results]
    assert unmanaged == [
        ("org_u1", "org_u1", OrgStatus.UNMANAGED),  # no name: labelled by id, sorted first
        ("zeta", "org_u2", OrgStatus.UNMANAGED),
    ]
    finding = results[1].findings[0]
    assert finding.severity is Severity.WARNING
    assert finding.source == Location(str(tmp_path / "orgs.yaml"), 3, 3)
