"""`plan` as a function: each finding kind -> its requests (method, path, body, scope), in order,
minimal; what needs no request or cannot be sent; the JSON schema in every outcome; shell quoting.

Scenarios run the whole pipeline offline (a spec file and a snapshot file, `--live`), so the
findings are the check's own."""

from __future__ import annotations

import copy
import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from orgdrift import pipeline
from orgdrift.errors import ExitCode
from orgdrift.models import FindingKind
from orgdrift.plan import NEW_ID, Plan, Step, build_plan
from orgdrift.plan_render import plan_to_dict, render_plan, render_shell, sh_quote
from orgdrift.reporters import RenderOptions
from orgdrift.reporters.markdown import MarkdownReporter
from orgdrift.resources import load_schema
from orgdrift.snapshot import load_snapshot
from orgdrift.spec import load_specs

ORG = "org_0000000000000001"
SAML = {"name": "acme-saml", "strategy": "samlp"}
GOOGLE = {"name": "google-oauth2", "strategy": "google-oauth2"}
DB = {"name": "Username-Password-Authentication", "strategy": "auth0"}


def tenant(**changes: Any) -> dict[str, Any]:
    """One organization `acme` with two connections, a client grant and a discovery domain,
    plus `other` (which has every connection and grant the tenant knows enabled)."""
    acme: dict[str, Any] = {
        "id": ORG,
        "name": "acme",
        "display_name": "Acme",
        "metadata": {"tier": "gold", "region": "us"},
        "branding": {
            "logo_url": "https://cdn.example/a.png",
            "colors": {"primary": "#000000", "page_background": "#ffffff"},
        },
        "enabled_connections": [
            {
                "connection_id": "con_Saml",
                "assign_membership_on_login": True,
                "show_as_button": True,
                "connection": SAML,
            },
            {"connection_id": "con_Google", "show_as_button": True, "connection": GOOGLE},
        ],
        "client_grants": [
            {
                "id": "cgr_Portal",
                "client_id": "cli_Portal",
                "audience": "https://api.example/",
                "scope": ["read:a"],
            }
        ],
        "discovery_domains": [
            {"id": "dd_Acme", "domain": "acme.com", "status": "verified"},
        ],
    }
    acme.update(changes)
    other = {
        "id": "org_0000000000000002",
        "name": "other",
        "enabled_connections": [
            {"connection_id": "con_Saml", "connection": SAML},
            {"connection_id": "con_Google", "connection": GOOGLE},
            {"connection_id": "con_Db", "connection": DB},
        ],
        "client_grants": [
            {
                "id": "cgr_Portal",
                "client_id": "cli_Portal",
                "audience": "https://api.example/",
                "scope": ["read:a"],
            },
            {"id": "cgr_Billing", "client_id": "cli_Billing", "audience": "https://bill.example/"},
        ],
        "discovery_domains": [],
    }
    return {"snapshot_version": 1, "tenant": "t.example", "complete": True,
            "organizations": [acme, other]}  # fmt: skip


ACME = """
  - name: acme
    display_name: Acme
    metadata: {tier: gold, region: us}
    branding: {logo_url: "https://cdn.example/a.png", colors: {primary: "#000000", page_background: "#ffffff"}}
    connections:
      - {name: acme-saml, assign_membership_on_login: true}
      - {name: google-oauth2}
    client_grants:
      - {client_id: cli_Portal, audience: "https://api.example/", scope: [read:a]}
    discovery_domains:
      - {domain: acme.com, status: verified}
"""
OTHER = """
  - name: other
    connections: [{name: acme-saml}, {name: google-oauth2}, {name: Username-Password-Authentication}]
    client_grants:
      - {client_id: cli_Portal, audience: "https://api.example/"}
      - {client_id: cli_Billing, audience: "https://bill.example/"}
"""


def spec(acme: str = ACME, head: str = "", other: str = OTHER) -> str:
    return f"version: 1\n{head}organizations:{acme}{other}"


def make_plan(
    tmp_path: Path, spec_text: str, document: dict[str, Any], *, allow_delete: bool = False
) -> Plan:
    spec_file, live_file = tmp_path / "orgs.yaml", tmp_path / "live.json"
    spec_file.write_text(spec_text, encoding="utf-8")
    live_file.write_text(json.dumps(document), encoding="utf-8")
    check = pipeline.CheckOptions(specs=(str(spec_file),), env={}, snapshot=str(live_file))
    plan = pipeline.run_plan(pipeline.PlanOptions(check, allow_delete))
    jsonschema.Draft202012Validator(load_schema("plan.schema.json")).validate(plan_to_dict(plan))
    return plan


def requests(plan: Plan) -> list[tuple[str, str, Any, str]]:
    return [(s.method, s.path, s.body, s.scope) for s in plan.steps]


ACME_PATH = f"/api/v2/organizations/{ORG}"


def test_in_sync_plan_is_empty(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, spec(), tenant())
    assert plan.exit_code is ExitCode.IN_SYNC
    assert plan.organizations == ()
    assert "nothing to do" in render_plan(plan, "text")


def test_fields_are_one_patch_of_what_differs(tmp_path: Path) -> None:
    live = tenant(display_name="Old", metadata={"tier": "silver", "region": "us", "x": "1"})
    plan = make_plan(tmp_path, spec(), live)
    assert requests(plan) == [
        (
            "PATCH",
            ACME_PATH,
            {"display_name": "Acme", "metadata": {"tier": "gold", "region": "us"}},
            "update:organizations",
        )
    ]
    assert {f.path for f in plan.steps[0].fixes} == {"display_name", "metadata.tier", "metadata.x"}
    assert plan.exit_code is ExitCode.DRIFT


def test_branding_is_replaced_whole_keeping_ignored_parts(tmp_path: Path) -> None:
    acme = ACME.replace(
        "    display_name: Acme\n", "    display_name: Acme\n    ignore: [branding.logo_url]\n"
    )
    acme = acme.replace('"https://cdn.example/a.png"', '"https://cdn.example/declared.png"')
    live = tenant(
        branding={
            "logo_url": "https://cdn.example/live.png",
            "colors": {"primary": "#111111", "page_background": "#ffffff"},
        }
    )
    plan = make_plan(tmp_path, spec(acme), live)
    assert requests(plan) == [
        (
            "PATCH",
            ACME_PATH,
            {"branding": {"logo_url": "https://cdn.example/live.png", "colors": {"primary": "#000000", "page_background": "#ffffff"}}},
            "update:organizations",
        )
    ]  # fmt: skip


def test_metadata_is_replaced_whole_keeping_ignored_keys(tmp_path: Path) -> None:
    acme = ACME.replace(
        "    display_name: Acme\n", "    display_name: Acme\n    ignore: [metadata.sync]\n"
    )
    live = tenant(metadata={"tier": "gold", "sync": "2026", "stale": "y"})
    plan = make_plan(tmp_path, spec(acme), live)
    assert requests(plan) == [
        (
            "PATCH",
            ACME_PATH,
            {"metadata": {"tier": "gold", "region": "us", "sync": "2026"}},
            "update:organizations",
        )
    ]


def test_connections(tmp_path: Path) -> None:
    acme = ACME.replace(
        "      - {name: google-oauth2}\n",
        "      - {name: Username-Password-Authentication, is_signup_enabled: true}\n",
    ).replace(
        "assign_membership_on_login: true}",
        "assign_membership_on_login: false, show_as_button: false}",
    )
    plan = make_plan(tmp_path, spec(acme), tenant())
    assert [m.fix.kind for m in plan.manual] == [FindingKind.CONNECTION_NOT_ALLOWED]
    assert plan.manual[0].step == Step(
        "DELETE",
        f"{ACME_PATH}/enabled_connections/con_Google",
        None,
        "delete:organization_connections",
        plan.manual[0].step.fixes if plan.manual[0].step else (),
    )
    assert requests(plan) == [
        (
            "POST",
            f"{ACME_PATH}/enabled_connections",
            {"connection_id": "con_Db", "is_signup_enabled": True},
            "create:organization_connections",
        ),
        (
            "PATCH",
            f"{ACME_PATH}/enabled_connections/con_Saml",
            {"assign_membership_on_login": False, "show_as_button": False},
            "update:organization_connections",
        ),
    ]  # fmt: skip
    deleting = make_plan(tmp_path, spec(acme), tenant(), allow_delete=True)
    assert [s.method for s in deleting.steps] == ["DELETE", "POST", "PATCH"]
    assert deleting.manual == ()


def test_early_access_connection_fields_use_the_connections_endpoint(tmp_path: Path) -> None:
    acme = ACME.replace(
        "      - {name: google-oauth2}\n",
        "      - {name: google-oauth2, organization_access_level: full}\n"
        "      - {name: Username-Password-Authentication, is_enabled: false}\n",
    )
    live = tenant()
    acme_live = live["organizations"][0]
    acme_live["organization_connections"] = [
        {**item, "organization_access_level": "none"} for item in acme_live["enabled_connections"]
    ]
    plan = make_plan(tmp_path, spec(acme), live)
    assert requests(plan) == [
        (
            "POST",
            f"{ACME_PATH}/connections",
            {"connection_id": "con_Db", "is_enabled": False},
            "create:organization_connections",
        ),
        (
            "PATCH",
            f"{ACME_PATH}/connections/con_Google",
            {"organization_access_level": "full"},
            "update:organization_connections",
        ),
    ]


def test_client_grants_and_discovery_domains(tmp_path: Path) -> None:
    acme = ACME.replace(
        "scope: [read:a]}",
        'scope: [read:a, write:a]}\n      - {client_id: cli_Billing, audience: "https://bill.example/"}',
    )
    acme = acme.replace(
        "{domain: acme.com, status: verified}",
        "{domain: acme.com, status: pending, use_for_organization_discovery: false}\n      - {domain: acme.org}",
    )
    live = tenant()
    live["organizations"][0]["discovery_domains"].append(
        {"id": "dd_Old", "domain": "old.com", "status": "pending"}
    )
    plan = make_plan(tmp_path, spec(acme), live, allow_delete=True)
    assert requests(plan) == [
        ("POST", f"{ACME_PATH}/client-grants", {"grant_id": "cgr_Billing"}, "create:organization_client_grants"),
        ("PATCH", "/api/v2/client-grants/cgr_Portal", {"scope": ["read:a", "write:a"]}, "update:client_grants"),
        ("DELETE", f"{ACME_PATH}/discovery-domains/dd_Old", None, "delete:organization_discovery_domains"),
        ("POST", f"{ACME_PATH}/discovery-domains", {"domain": "acme.org"}, "create:organization_discovery_domains"),
        ("PATCH", f"{ACME_PATH}/discovery-domains/dd_Acme", {"status": "pending", "use_for_organization_discovery": False}, "update:organization_discovery_domains"),
    ]  # fmt: skip
    assert plan.steps[1].note is not None and "every organization" in plan.steps[1].note


def test_a_grant_is_associated_before_its_scope_is_set_once_for_all(tmp_path: Path) -> None:
    acme = ACME.replace("scope: [read:a]}", "scope: [write:a, read:a]}")
    beta = ACME.replace("name: acme", "name: beta").replace(
        "scope: [read:a]}", "scope: [read:a, write:a]}"
    )
    beta = beta.replace("display_name: Acme", "display_name: Beta").replace("acme.com", "beta.com")
    live = tenant()
    beta_live = copy.deepcopy(live["organizations"][0])
    beta_live.update(id="org_Beta", name="beta", display_name="Beta", client_grants=[])
    beta_live["discovery_domains"][0]["domain"] = "beta.com"
    live["organizations"].append(beta_live)
    plan = make_plan(tmp_path, spec(acme + beta), live)
    assert requests(plan) == [
        ("PATCH", "/api/v2/client-grants/cgr_Portal", {"scope": ["read:a", "write:a"]}, "update:client_grants"),
        ("POST", "/api/v2/organizations/org_Beta/client-grants", {"grant_id": "cgr_Portal"}, "create:organization_client_grants"),
    ]  # fmt: skip
    patch = plan.steps[0]
    assert sorted(f.kind.value for f in patch.fixes) == [
        "client_grant_missing",
        "client_grant_scope_changed",
    ]


def test_grant_not_allowed_is_a_delete(tmp_path: Path) -> None:
    acme = ACME.replace(
        '      - {client_id: cli_Portal, audience: "https://api.example/", scope: [read:a]}\n', ""
    ).replace("    client_grants:\n", "    client_grants: []\n")
    plan = make_plan(tmp_path, spec(acme), tenant())
    assert plan.steps == () and plan.exit_code is ExitCode.DRIFT
    (manual,) = plan.manual
    assert manual.step is not None and manual.step.summary == (
        f"DELETE {ACME_PATH}/client-grants/cgr_Portal"
    )
    assert "--allow-delete" in manual.reason


def test_missing_organization_is_created_with_its_parts(tmp_path: Path) -> None:
    acme = ACME.replace(
        "{name: google-oauth2}", "{name: google-oauth2, organization_access_level: limited}"
    )
    live = tenant()
    del live["organizations"][0]
    plan = make_plan(tmp_path, spec(acme), live)
    (org,) = plan.organizations
    assert org.id is None and org.name == "acme"
    assert requests(plan) == [
        (
            "POST",
            "/api/v2/organizations",
            {
                "name": "acme",
                "display_name": "Acme",
                "metadata": {"tier": "gold", "region": "us"},
                "branding": {"logo_url": "https://cdn.example/a.png", "colors": {"primary": "#000000", "page_background": "#ffffff"}},
                "enabled_connections": [{"connection_id": "con_Saml", "assign_membership_on_login": True}],
            },
            "create:organizations",
        ),
        (
            "POST",
            f"/api/v2/organizations/{NEW_ID}/connections",
            {"connection_id": "con_Google", "organization_access_level": "limited"},
            "create:organization_connections",
        ),
        ("POST", f"/api/v2/organizations/{NEW_ID}/client-grants", {"grant_id": "cgr_Portal"}, "create:organization_client_grants"),
        ("POST", f"/api/v2/organizations/{NEW_ID}/discovery-domains", {"domain": "acme.com", "status": "verified"}, "create:organization_discovery_domains"),
    ]  # fmt: skip
    assert plan.steps[0].captures_id and not any(s.captures_id for s in plan.steps[1:])


def test_missing_organization_under_allowlist_needs_no_connection(tmp_path: Path) -> None:
    acme = ACME.replace(
        "    display_name: Acme\n",
        "    display_name: Acme\n    policy: {connections: allowlist, client_grants: allowlist}\n",
    )
    live = tenant()
    del live["organizations"][0]
    plan = make_plan(tmp_path, spec(acme), live)
    assert [s.path for s in plan.steps] == [
        "/api/v2/organizations",
        f"/api/v2/organizations/{NEW_ID}/discovery-domains",
    ]
    assert plan.steps[0].body is not None and "enabled_connections" not in plan.steps[0].body


def test_what_no_request_can_fix_is_a_manual_step(tmp_path: Path) -> None:
    acme = "\n  - id: org_Gone000000000001\n    display_name: Gone\n  - name: beta\n    connections: [{name: no-such-connection}]\n    client_grants: [{client_id: cli_X, audience: aud}]\n"
    plan = make_plan(tmp_path, spec(acme), tenant())
    reasons = [m.reason for m in plan.manual]
    assert len(reasons) == 3, reasons
    assert "new id" in reasons[0]
    assert "no-such-connection" in reasons[1] and "connection_id" in reasons[1]
    assert "cli_X" in reasons[2] and "read:client_grants" in reasons[2]
    assert [s.path for s in plan.steps] == ["/api/v2/organizations"]  # beta, without its parts
    assert plan.exit_code is ExitCode.DRIFT


def test_accepted_and_reported_findings_need_no_request(tmp_path: Path) -> None:
    head = (
        "policy: {unmanaged_organizations: report}\n"
        "exceptions:\n  - {organization: acme, kind: field_changed, reason: migration, expires: 2999-01-01}\n"
    )
    live = tenant(display_name="Old")
    live["organizations"].append({"id": "org_Stray", "name": "stray", "enabled_connections": []})
    plan = make_plan(tmp_path, spec(head=head), live)
    assert plan.steps == () and plan.manual == ()
    assert plan.exit_code is ExitCode.IN_SYNC
    assert sorted(s.reason for s in plan.skipped) == [
        "accepted until 2999-01-01: migration",
        "reported only: policy unmanaged_organizations is report",
    ]


def test_unmanaged_organization_under_fail_is_deleted_only_when_allowed(tmp_path: Path) -> None:
    live = tenant()
    live["organizations"].append({"id": "org_Stray", "name": "stray", "enabled_connections": []})
    head = "policy: {unmanaged_organizations: fail}\n"
    plan = make_plan(tmp_path, spec(head=head), live)
    assert plan.steps == () and len(plan.manual) == 1
    assert "policy unmanaged_organizations is fail" in plan.manual[0].reason
    deleting = make_plan(tmp_path, spec(head=head), live, allow_delete=True)
    assert requests(deleting) == [
        ("DELETE", "/api/v2/organizations/org_Stray", None, "delete:organizations")
    ]


def test_ids_from_the_tenant_are_percent_encoded(tmp_path: Path) -> None:
    live = tenant()
    item = live["organizations"][0]["enabled_connections"][0]
    item["connection_id"] = "con_a/../b?c"
    live["organizations"][1]["enabled_connections"][0]["connection_id"] = "con_a/../b?c"
    acme = ACME.replace("assign_membership_on_login: true}", "assign_membership_on_login: false}")
    plan = make_plan(tmp_path, spec(acme), live)
    assert [s.path for s in plan.steps] == [f"{ACME_PATH}/enabled_connections/con_a%2F..%2Fb%3Fc"]


def test_what_the_live_state_does_not_show_is_said_not_dropped(tmp_path: Path) -> None:
    """Defensive: findings whose object the live state handed to the plan lacks (the reads
    validate ids, so only a state other than the check's can do this) become manual steps."""
    acme = ACME.replace("      - {name: google-oauth2}\n", "")
    acme = acme.replace(
        "{domain: acme.com, status: verified}", "{domain: acme.com, status: pending}"
    )
    spec_file, live_file = tmp_path / "orgs.yaml", tmp_path / "live.json"
    spec_file.write_text(spec(acme), encoding="utf-8")
    live_file.write_text(json.dumps(tenant()), encoding="utf-8")
    check = pipeline.CheckOptions(specs=(str(spec_file),), env={}, snapshot=str(live_file))
    report = pipeline.run_check(check)
    decls, live = load_specs((str(spec_file),), {}).organizations, load_snapshot(str(live_file))
    bare = tuple(
        replace(o, connections=(), discovery_domains=()) if o.name == "acme" else o
        for o in live.organizations
    )
    plan = build_plan(report, decls, replace(live, organizations=bare), allow_delete=True)
    assert plan.steps == ()
    assert [(m.fix.path, m.step) for m in plan.manual] == [
        ("connections.google-oauth2", None),
        ("discovery_domains.acme.com.status", None),
    ]
    assert all("not in the live state read" in m.reason for m in plan.manual)


def test_missing_parts_the_declarations_do_not_show_are_said_not_dropped(tmp_path: Path) -> None:
    """Defensive, like the test above: a missing client grant or discovery domain whose
    declaration the plan is not given becomes a manual step, as a missing connection does."""
    live = tenant(client_grants=[], discovery_domains=[])
    spec_file, live_file = tmp_path / "orgs.yaml", tmp_path / "live.json"
    spec_file.write_text(spec(ACME), encoding="utf-8")
    live_file.write_text(json.dumps(live), encoding="utf-8")
    report = pipeline.run_check(
        pipeline.CheckOptions(specs=(str(spec_file),), env={}, snapshot=str(live_file))
    )
    decls = tuple(
        replace(d, client_grants=(), discovery_domains=())
        for d in load_specs((str(spec_file),), {}).organizations
    )
    plan = build_plan(report, decls, load_snapshot(str(live_file)), allow_delete=True)
    assert plan.steps == ()
    assert sorted(m.fix.kind for m in plan.manual) == [
        FindingKind.CLIENT_GRANT_MISSING,
        FindingKind.DISCOVERY_DOMAIN_MISSING,
    ]
    assert all("not in the live state read" in m.reason for m in plan.manual)


def test_failures_have_no_plan_in_every_format(tmp_path: Path) -> None:
    invalid = make_plan(tmp_path, "version: 1\norganizations: [{nam: x}]\n", tenant())
    assert invalid.exit_code is ExitCode.USAGE and invalid.organizations == ()
    live = tenant()
    del live["organizations"][0]["client_grants"]  # the spec declares them: not read
    incomplete = make_plan(tmp_path, spec(), live)
    assert incomplete.exit_code is ExitCode.INCOMPLETE
    for plan in (invalid, incomplete):
        for fmt in ("text", "markdown", "shell"):
            assert "no plan" in render_plan(plan, fmt)
        document = json.loads(render_plan(plan, "json"))
        assert document["status"] in ("invalid", "incomplete") and document["failure"]["message"]
        assert document["exit_code"] == plan.exit_code
        assert f"exit {int(plan.exit_code)}" in render_shell(plan)


def test_markdown_stays_under_the_comment_limit(tmp_path: Path) -> None:
    live = tenant()
    acme = live["organizations"][0]
    orgs, decls = [], []
    for i in range(400):
        org = copy.deepcopy(acme)
        org.update(id=f"org_Many{i:08d}", name=f"org-{i}", display_name="x" * 200)
        orgs.append(org)
        decls.append(ACME.replace("name: acme", f"name: org-{i}"))
    live["organizations"] = [*orgs, live["organizations"][1]]
    plan = make_plan(tmp_path, spec("".join(decls)), live)
    assert len(plan.steps) == 400
    text = render_plan(plan, "markdown")
    assert len(text) < 65_536
    assert "more organizations" in text and "--format json" in text
    # In the check's Markdown report, after the findings: the two within one comment.
    report = MarkdownReporter().render(plan.report, RenderOptions(plan=plan))
    assert len(report) <= 65_536
    assert "### orgdrift plan: 400 requests" in report and "more organizations" in report


# --- shell quoting -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_sh_quote_is_one_word_whatever_the_text(text: str) -> None:
    out = subprocess.run(
        ["sh", "-c", f"printf %s {sh_quote(text)}"],
        capture_output=True,
        check=True,
    ).stdout
    assert out == text.encode("utf-8", "surrogateescape")


def test_markdown_links_and_mentions_nothing_and_keeps_the_json(tmp_path: Path) -> None:
    hostile = "@alice see https://evil.example :tada: #12"
    acme = ACME.replace("display_name: Acme", f"display_name: {json.dumps(hostile)}")
    plan = make_plan(tmp_path, spec(acme), tenant())
    text = render_plan(plan, "markdown")
    for live in ("@alice", "://", ":tada:", "#12"):
        assert live not in text, live
    lines = text.splitlines()
    start = lines.index("   ```")
    block = [
        line.removeprefix("   ") for line in lines[start + 2 : lines.index("   ```", start + 1)]
    ]
    assert json.loads("\n".join(block)) == {"display_name": hostile}


def _shared_grant(acme_scope: str, beta_scope: str) -> tuple[str, dict[str, Any]]:
    """acme and beta both using the client grant cgr_Portal, declaring these scopes: (spec
    text, live tenant)."""
    acme = ACME.replace("scope: [read:a]}", f"scope: [{acme_scope}]}}")
    beta = ACME.replace("- name: acme\n", "- name: beta\n").replace(
        "scope: [read:a]}", f"scope: [{beta_scope}]}}"
    )
    beta = beta.replace("display_name: Acme", "display_name: Beta").replace("acme.com", "beta.com")
    live = tenant()
    beta_live = copy.deepcopy(live["organizations"][0])
    beta_live.update(id="org_Beta", name="beta", display_name="Beta")
    beta_live["discovery_domains"][0]["domain"] = "beta.com"
    live["organizations"].append(beta_live)
    return spec(acme + beta), live


def test_different_scopes_for_one_shared_grant_are_a_manual_step(tmp_path: Path) -> None:
    """acme and beta both use the client grant cgr_Portal but declare different scopes: a
    PATCH of the grant for each would undo the other's, so neither is planned; each finding is a
    manual step naming both organizations, their spec lines and their scopes."""
    text, live = _shared_grant("write:a, read:a", "read:a, admin:a")
    plan = make_plan(tmp_path, text, live)
    assert requests(plan) == []
    assert plan.exit_code is ExitCode.DRIFT
    lines = text.splitlines()
    acme_line = 1 + next(i for i, s in enumerate(lines) if "write:a, read:a" in s)
    beta_line = 1 + next(i for i, s in enumerate(lines) if "read:a, admin:a" in s)
    spec_file = tmp_path / "orgs.yaml"
    by_org = {org.label: org.manual for org in plan.organizations}
    assert sorted(by_org) == ["acme", "beta"]
    for manual in (*by_org["acme"], *by_org["beta"]):
        assert manual.step is None
        assert manual.fix.kind is FindingKind.CLIENT_GRANT_SCOPE_CHANGED
        assert "cgr_Portal" in manual.reason
        assert f"acme ({spec_file}:{acme_line}): read:a write:a" in manual.reason
        assert f"beta ({spec_file}:{beta_line}): admin:a read:a" in manual.reason
    assert len(by_org["acme"]) == len(by_org["beta"]) == 1
    shown = render_plan(plan, "text")
    assert "PATCH" not in shown and "different scopes" in shown


def test_one_scope_for_a_shared_grant_is_still_one_request(tmp_path: Path) -> None:
    """The same scope declared twice (in another order) is no conflict: one PATCH fixes both."""
    text, live = _shared_grant("write:a, read:a", "read:a, write:a")
    plan = make_plan(tmp_path, text, live)
    assert requests(plan) == [
        ("PATCH", "/api/v2/client-grants/cgr_Portal", {"scope": ["read:a", "write:a"]}, "update:client_grants"),
    ]  # fmt: skip
    assert plan.manual == ()
