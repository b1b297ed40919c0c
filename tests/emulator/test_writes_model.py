"""Every write on the parts of an organization orgdrift reads, against the reads that must see
it: the emulator keeps one state per organization (connections with their Early Access fields,
client grant associations, discovery domains, token_quota), and each write changes exactly what
it should. The whole tenant is read back through the API before and after each write; the
difference must be the write's and nothing else. Bodies answered validate against Auth0's OAS
response schemas; refusals and statuses follow the OAS; each write logs a `sapi` entry as the
real API writes them."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app
from orgdrift.emulator.app import ADMIN_WRITES, EmulatorApp
from orgdrift.emulator.config import ALL_SCOPES
from orgdrift.emulator.writes import BODIES, WRITES
from orgdrift.logs import classify
from orgdrift.snapshot import parse_snapshot

from .support import auth, send_all
from .test_fidelity_oas import _ref as oas_ref
from .test_fidelity_oas import _validator as oas_validator

ROOT = Path(__file__).resolve().parents[2]
OAS = json.loads((ROOT / "tests" / "data" / "auth0-oas-organizations.json").read_text("utf-8"))
TENANT = json.loads((ROOT / "examples" / "full-model-tenant.json").read_text("utf-8"))
API = "/api/v2"
ACME, GLOBEX = "org_Ac7mEq2LxT9pRz4K", "org_G1obexC0rp0rat10"
SAML, DB, OIDC = "con_Sm4lAcmeSaml0001", "con_UPAuth0Db000001", "con_G1obexOidc00001"
PORTAL, BILLING, GLOBEX_GRANT = "cgr_Xq3JmPortal0001", "cgr_Xq3JmBilling001", "cgr_Xq3JmGlobex0001"

Tenant = dict[str, dict[str, Any]]


def tenant_document() -> dict[str, Any]:
    """The full-model tenant with one grant shared by both organizations."""
    document = copy.deepcopy(TENANT)
    acme = document["organizations"][0]
    document["organizations"][1]["client_grants"].append(copy.deepcopy(acme["client_grants"][0]))
    return document


def make_app(**config: Any) -> EmulatorApp:
    state = parse_snapshot("tenant.json", json.dumps(tenant_document()).encode())
    return create_app(state, EmulatorConfig(tokens={DEFAULT_TOKEN: ALL_SCOPES}, **config))


def request(app: EmulatorApp, method: str, path: str, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {"headers": auth()}
    if body is not None:
        kwargs["json"] = body
    return send_all(app, [(method, path if path.startswith("/_") else API + path, kwargs)])[0]


def read_tenant(app: EmulatorApp) -> Tenant:
    """Every organization as the read endpoints show it, by id."""
    orgs = request(app, "GET", "/organizations?per_page=100").json()
    found: Tenant = {}
    for org in orgs:
        base = f"/organizations/{org['id']}"
        calls = [
            ("GET", API + base, {"headers": auth()}),
            ("GET", API + base + "/enabled_connections?per_page=100", {"headers": auth()}),
            ("GET", API + base + "/connections?per_page=100", {"headers": auth()}),
            ("GET", API + base + "/client-grants?per_page=100", {"headers": auth()}),
            ("GET", API + base + "/discovery-domains?take=100", {"headers": auth()}),
        ]
        body, enabled, view, grants, domains = (r.json() for r in send_all(app, calls))
        found[org["id"]] = {
            "body": body,
            "enabled": sorted(enabled, key=lambda c: c["connection_id"]),
            "view": sorted(view, key=lambda c: c["connection_id"]),
            "grants": sorted(grants, key=lambda g: g["id"]),
            "domains": sorted(domains["domains"], key=lambda d: d["id"]),
        }
    return found


def _connection(tenant: Tenant, org: str, cid: str) -> dict[str, Any]:
    return next(c for c in tenant[org]["view"] if c["connection_id"] == cid)


def _enabled(item: dict[str, Any]) -> dict[str, Any]:
    hidden = ("is_enabled", "organization_access_level", "organization_connection_name")
    return {k: v for k, v in item.items() if k not in hidden}


def _refresh_enabled(tenant: Tenant, org: str) -> None:
    view = tenant[org]["view"]
    tenant[org]["enabled"] = [_enabled(c) for c in view if c.get("is_enabled", True)]


def _patch_org(t: Tenant) -> None:
    t[ACME]["body"]["metadata"] = {"tier": "gold"}


def _rename(t: Tenant) -> None:
    t[ACME]["body"]["name"] = "acme-2"


def _quota(t: Tenant) -> None:
    t[ACME]["body"]["token_quota"] = {"client_credentials": {"per_hour": 10}}


def _no_quota(t: Tenant) -> None:
    del t[ACME]["body"]["token_quota"]


def _delete_acme(t: Tenant) -> None:
    del t[ACME]


def _add_saml_to_globex(t: Tenant) -> None:
    item = {
        "connection_id": SAML,
        "show_as_button": False,
        "is_enabled": True,
        "organization_access_level": "none",
        "connection": {"name": "acme-saml", "strategy": "samlp"},
    }
    t[GLOBEX]["view"] = sorted([*t[GLOBEX]["view"], item], key=lambda c: c["connection_id"])
    _refresh_enabled(t, GLOBEX)


def _add_saml_ea(t: Tenant) -> None:
    _add_saml_to_globex(t)
    item = _connection(t, GLOBEX, SAML)
    item.update(is_enabled=False, organization_access_level="limited")
    _refresh_enabled(t, GLOBEX)


def _flag(t: Tenant) -> None:
    _connection(t, ACME, SAML)["assign_membership_on_login"] = False
    _refresh_enabled(t, ACME)


def _access(t: Tenant) -> None:
    item = _connection(t, ACME, SAML)
    item.update(organization_access_level="full", is_enabled=False)
    del item["organization_connection_name"]
    _refresh_enabled(t, ACME)


def _remove_saml(t: Tenant) -> None:
    t[ACME]["view"] = [c for c in t[ACME]["view"] if c["connection_id"] != SAML]
    _refresh_enabled(t, ACME)


def _remove_db(t: Tenant) -> None:
    t[ACME]["view"] = [c for c in t[ACME]["view"] if c["connection_id"] != DB]
    _refresh_enabled(t, ACME)


def _associate_billing(t: Tenant) -> None:
    billing = next(g for g in t[ACME]["grants"] if g["id"] == BILLING)
    t[GLOBEX]["grants"] = sorted([*t[GLOBEX]["grants"], billing], key=lambda g: g["id"])


def _dissociate_portal(t: Tenant) -> None:
    t[ACME]["grants"] = [g for g in t[ACME]["grants"] if g["id"] != PORTAL]


def _grant_scope(t: Tenant) -> None:
    for org in (ACME, GLOBEX):
        next(g for g in t[org]["grants"] if g["id"] == PORTAL)["scope"] = ["read:orders"]


def _grant_deleted(t: Tenant) -> None:
    for org in (ACME, GLOBEX):
        t[org]["grants"] = [g for g in t[org]["grants"] if g["id"] != PORTAL]


def _domain_status(t: Tenant) -> None:
    next(d for d in t[ACME]["domains"] if d["id"] == "dd_AcmeMail00001")["status"] = "verified"


def _domain_deleted(t: Tenant) -> None:
    t[ACME]["domains"] = [d for d in t[ACME]["domains"] if d["id"] != "dd_AcmeMail00001"]


def _connection_deleted(t: Tenant) -> None:
    _remove_saml(t)


# (method, path, body, status, the change every read must show)
CASES: list[tuple[str, str, Any, int, Callable[[Tenant], None]]] = [
    ("PATCH", f"/organizations/{ACME}", {"metadata": {"tier": "gold"}}, 200, _patch_org),
    ("PATCH", f"/organizations/{ACME}", {"name": "acme-2"}, 200, _rename),
    (
        "PATCH",
        f"/organizations/{ACME}",
        {"token_quota": {"client_credentials": {"per_hour": 10}}},
        200,
        _quota,
    ),
    ("PATCH", f"/organizations/{ACME}", {"token_quota": None}, 200, _no_quota),
    ("DELETE", f"/organizations/{ACME}", None, 204, _delete_acme),
    (
        "POST",
        f"/organizations/{GLOBEX}/enabled_connections",
        {"connection_id": SAML, "show_as_button": False},
        201,
        _add_saml_to_globex,
    ),
    (
        "PATCH",
        f"/organizations/{ACME}/enabled_connections/{SAML}",
        {"assign_membership_on_login": False},
        200,
        _flag,
    ),
    ("DELETE", f"/organizations/{ACME}/enabled_connections/{SAML}", None, 204, _remove_saml),
    (
        "POST",
        f"/organizations/{GLOBEX}/connections",
        {
            "connection_id": SAML,
            "show_as_button": False,
            "is_enabled": False,
            "organization_access_level": "limited",
        },
        201,
        _add_saml_ea,
    ),
    (
        "PATCH",
        f"/organizations/{ACME}/connections/{SAML}",
        {
            "organization_access_level": "full",
            "is_enabled": False,
            "organization_connection_name": None,
        },
        200,
        _access,
    ),
    ("DELETE", f"/organizations/{ACME}/connections/{DB}", None, 204, _remove_db),
    (
        "POST",
        f"/organizations/{GLOBEX}/client-grants",
        {"grant_id": BILLING},
        201,
        _associate_billing,
    ),
    ("DELETE", f"/organizations/{ACME}/client-grants/{PORTAL}", None, 204, _dissociate_portal),
    (
        "PATCH",
        f"/organizations/{ACME}/discovery-domains/dd_AcmeMail00001",
        {"status": "verified"},
        200,
        _domain_status,
    ),
    (
        "DELETE",
        f"/organizations/{ACME}/discovery-domains/dd_AcmeMail00001",
        None,
        204,
        _domain_deleted,
    ),
    ("PATCH", f"/client-grants/{PORTAL}", {"scope": ["read:orders"]}, 200, _grant_scope),
    ("DELETE", f"/client-grants/{PORTAL}", None, 204, _grant_deleted),
    ("DELETE", f"/connections/{SAML}", None, 204, _connection_deleted),
]


def _validator(name: str) -> Draft202012Validator:
    return oas_validator(oas_ref(name))


def _response_schema(method: str, path: str, status: int) -> str | None:
    template = next(w.path for w in WRITES if w.method == method and _fits(w.path, path))
    template = template.replace("{cid}", "{connection_id}").replace("{grant_id}", "{id}")
    for key, operation in OAS["operations"].items():
        oas_method, _, oas_path = key.partition(" ")
        if oas_method == method and _same_template(oas_path, template, path):
            assert str(status) in operation["responses"], (key, status)
            schema: str | None = operation["responses"][str(status)].get("schema")
            return schema
    raise AssertionError(f"no OAS operation for {method} {path}")


def _fits(template: str, path: str) -> bool:
    parts, wanted = template.split("/"), path.split("/")
    return len(parts) == len(wanted) and all(
        p.startswith("{") or p == w for p, w in zip(parts, wanted, strict=True)
    )


def _same_template(oas_path: str, template: str, path: str) -> bool:
    return _fits(oas_path, path) and oas_path.count("{") == template.count("{")


@pytest.mark.parametrize(("method", "path", "body", "status", "change"), CASES)
def test_each_write_changes_what_every_read_shows_and_nothing_else(
    method: str, path: str, body: Any, status: int, change: Callable[[Tenant], None]
) -> None:
    app = make_app()
    expected = read_tenant(app)
    change(expected)
    response = request(app, method, path, body)
    assert response.status_code == status, response.text
    actual = read_tenant(app)
    if "name" in (body or {}):  # a rename keeps the organization's id
        assert set(actual) == set(expected)
    assert actual == expected
    schema = _response_schema(method, path, status)
    if schema is None:
        assert response.content == b""
    else:
        errors = list(_validator(schema).iter_errors(response.json()))
        assert errors == [], errors
    entry = request(app, "GET", "/logs?from=0&take=100").json()[-1]
    assert entry["type"] == "sapi"
    logged = entry["details"]["request"]
    assert (logged["method"], logged["path"]) == (method.lower(), API + path)
    assert logged["body"] == (body or {})
    assert entry["details"]["response"]["statusCode"] == status


def test_creating_an_organization_with_everything_and_reading_it_back() -> None:
    app = make_app()
    created = request(
        app,
        "POST",
        "/organizations",
        {
            "name": "initech",
            "display_name": "Initech",
            "enabled_connections": [{"connection_id": OIDC, "assign_membership_on_login": True}],
            "token_quota": {"client_credentials": {"enforce": False, "per_day": 7}},
        },
    )
    assert created.status_code == 201
    assert not list(_validator("CreateOrganizationResponseContent").iter_errors(created.json()))
    new = created.json()["id"]
    assert (
        request(
            app, "POST", f"/organizations/{new}/client-grants", {"grant_id": PORTAL}
        ).status_code
        == 201
    )
    domain = request(
        app, "POST", f"/organizations/{new}/discovery-domains", {"domain": "initech.com"}
    )
    assert domain.status_code == 201
    assert not list(
        _validator("CreateOrganizationDiscoveryDomainResponseContent").iter_errors(domain.json())
    )
    tenant = read_tenant(app)[new]
    assert tenant["body"]["token_quota"] == {"client_credentials": {"enforce": False, "per_day": 7}}
    assert [c["connection_id"] for c in tenant["enabled"]] == [OIDC]
    assert tenant["view"][0]["is_enabled"] is True
    assert [g["id"] for g in tenant["grants"]] == [PORTAL]
    assert tenant["domains"] == [{**domain.json(), "status": "pending"}]
    # A change to the shared grant shows in the new organization too.
    request(app, "PATCH", f"/client-grants/{PORTAL}", {"scope": []})
    assert read_tenant(app)[new]["grants"][0]["scope"] == []
    # Deleted and re-created with the same name: a new id, with nothing of the old one.
    assert request(app, "DELETE", f"/organizations/{new}").status_code == 204
    again = request(app, "POST", "/organizations", {"name": "initech"}).json()["id"]
    assert again != new
    fresh = read_tenant(app)[again]
    assert (fresh["enabled"], fresh["grants"], fresh["domains"]) == ([], [], [])
    assert request(app, "GET", f"/organizations/{new}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/organizations", {"name": "acme"}, 409, None),
        ("POST", "/organizations", {"name": "Upper Case"}, 400, "invalid_body"),
        ("POST", "/organizations", {"name": "x", "owner": "me"}, 400, "invalid_body"),
        ("PATCH", f"/organizations/{ACME}", {"name": "globex"}, 409, None),
        (
            "PATCH",
            f"/organizations/{ACME}",
            {"metadata": {str(i): "v" for i in range(26)}},
            400,
            "invalid_body",
        ),
        ("PATCH", "/organizations/org_nope", {"display_name": "x"}, 404, None),
        ("DELETE", "/organizations/org_nope", None, 404, None),
        ("POST", f"/organizations/{ACME}/enabled_connections", {"connection_id": SAML}, 409, None),
        (
            "POST",
            f"/organizations/{ACME}/enabled_connections",
            {"connection_id": "con_nope"},
            404,
            None,
        ),
        (
            "PATCH",
            f"/organizations/{ACME}/enabled_connections/{SAML}",
            {"is_enabled": True},
            400,
            "invalid_body",
        ),
        # Disabled: not an enabled connection, though the Early Access view shows it.
        ("DELETE", f"/organizations/{ACME}/enabled_connections/{DB}", None, 404, None),
        ("POST", f"/organizations/{ACME}/connections", {"connection_id": DB}, 409, None),
        ("PATCH", f"/organizations/{ACME}/connections/{OIDC}", {"is_enabled": True}, 404, None),
        (
            "PATCH",
            f"/organizations/{ACME}/connections/{SAML}",
            {"organization_access_level": "root"},
            400,
            "invalid_body",
        ),
        ("POST", f"/organizations/{ACME}/client-grants", {"grant_id": PORTAL}, 409, None),
        ("POST", f"/organizations/{ACME}/client-grants", {"grant_id": "cgr_nope"}, 404, None),
        ("POST", f"/organizations/{ACME}/client-grants", {}, 400, "invalid_body"),
        ("DELETE", f"/organizations/{ACME}/client-grants/{GLOBEX_GRANT}", None, 404, None),
        ("POST", f"/organizations/{ACME}/discovery-domains", {"domain": "acme.com"}, 409, None),
        ("POST", f"/organizations/{ACME}/discovery-domains", {"domain": "a"}, 400, "invalid_body"),
        (
            "PATCH",
            f"/organizations/{ACME}/discovery-domains/dd_nope",
            {"status": "verified"},
            404,
            None,
        ),
        ("PATCH", f"/client-grants/{PORTAL}", {}, 400, "invalid_body"),
        ("DELETE", "/client-grants/cgr_nope", None, 404, "inexistent_client_grant"),
        ("DELETE", "/connections/con_nope", None, 404, "inexistent_connection"),
    ],
)
def test_refused_writes_change_nothing_and_log_nothing(
    method: str, path: str, body: Any, status: int, code: str | None
) -> None:
    app = make_app()
    before = read_tenant(app)
    entries = len(app.log.visible())
    response = request(app, method, path, body)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["statusCode"] == status and error.get("errorCode") == code
    assert read_tenant(app) == before
    assert len(app.log.visible()) == entries


def test_each_write_needs_its_scope_and_the_early_access_writes_the_feature() -> None:
    read_only = create_app(
        parse_snapshot("t.json", json.dumps(tenant_document()).encode()), EmulatorConfig()
    )
    for write in WRITES:
        path = API + write.path.format(id=ACME, cid=SAML, grant_id=PORTAL, domain_id="dd_x")
        body = {} if write.body is not None else None
        kwargs: dict[str, Any] = {"headers": auth()} | ({"json": body} if body is not None else {})
        response = send_all(read_only, [(write.method, path, kwargs)])[0]
        assert response.status_code == 403, (write.method, write.path)
        assert response.json()["message"] == "Insufficient scope, expected any of: " + ", ".join(
            write.scopes
        )
    no_feature = make_app(organization_connections=False)
    response = request(no_feature, "PATCH", f"/organizations/{ACME}/connections/{SAML}", {})
    assert (response.status_code, response.json()["errorCode"]) == (403, "feature_not_enabled")


def test_the_emulator_request_bodies_are_auth0s() -> None:
    """The request bodies the emulator checks are the OAS's (formats, defaults and the
    organization name's character set aside)."""

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(OAS["schemas"][node["$ref"].rsplit("/", 1)[1]])
            skipped = ("default", "format", "x-release-lifecycle")
            return {k: resolve(v) for k, v in node.items() if k not in skipped}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    def loose(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: loose(v) for k, v in node.items() if k != "pattern"}
        if isinstance(node, list):
            return [loose(v) for v in node]
        return node

    for name, schema in BODIES.items():
        assert loose(schema) == loose(resolve(OAS["schemas"][name])), name
    used = {
        operation["requestBody"]["schema"]
        for key, operation in OAS["operations"].items()
        if "requestBody" in operation
    }
    assert used == set(BODIES)


@pytest.mark.parametrize(
    ("event", "organization", "method", "path", "body"),
    [
        (
            "my_organization_api_org_details_succeeded",
            ACME,
            "PATCH",
            f"/organizations/{ACME}",
            {"display_name": "Acme (self-served)"},
        ),
        (
            "my_organization_api_idp_succeeded",
            ACME,
            "PATCH",
            f"/organizations/{ACME}/connections/{SAML}",
            {"show_as_button": False},
        ),
        (
            "ss_sso_success",
            GLOBEX,
            "POST",
            f"/organizations/{GLOBEX}/connections",
            {"connection_id": SAML},
        ),
        (
            "ss_sso_success",
            GLOBEX,
            "DELETE",
            f"/organizations/{GLOBEX}/enabled_connections/{OIDC}",
            None,
        ),
    ],
)
def test_writes_outside_the_management_api_log_their_own_event_naming_the_organization(
    event: str, organization: str, method: str, path: str, body: Any
) -> None:
    app = make_app()
    expected_app = make_app()
    expected = request(expected_app, method, path, body)
    assert expected.status_code in (200, 201, 204)
    answer = request(
        app,
        "POST",
        ADMIN_WRITES,
        {
            "type": event,
            "organization_id": organization,
            "method": method,
            "path": path,
            "body": body,
        },
    )
    assert (answer.status_code, answer.content) == (expected.status_code, expected.content)
    assert read_tenant(app) == read_tenant(expected_app)
    entry = request(app, "GET", "/logs?from=0&take=100").json()[-1]
    assert (entry["type"], entry["organization_id"]) == (event, organization)
    assert classify([entry]).organizations == {organization}
    # Naming no organization: the log says a write happened that no organization is named for.
    app = make_app()
    request(
        app,
        "POST",
        ADMIN_WRITES,
        {"type": event, "organization_id": None, "method": method, "path": path, "body": body},
    )
    last = request(app, "GET", "/logs?from=0&take=100").json()[-1]
    assert classify([last]).unattributable


def test_single_items_and_the_tenants_grants_read_back_what_was_written() -> None:
    app = make_app()
    request(app, "PATCH", f"/organizations/{ACME}/connections/{SAML}", {"is_enabled": False})
    base = f"/organizations/{ACME}"
    item = request(app, "GET", f"{base}/connections/{SAML}")
    assert (item.status_code, item.json()["is_enabled"]) == (200, False)
    assert not list(
        _validator("GetOrganizationAllConnectionResponseContent").iter_errors(item.json())
    )
    # Disabled: not an enabled connection any more.
    assert request(app, "GET", f"{base}/enabled_connections/{SAML}").status_code == 404
    request(app, "PATCH", f"{base}/connections/{SAML}", {"is_enabled": True})
    enabled = request(app, "GET", f"{base}/enabled_connections/{SAML}")
    assert enabled.status_code == 200 and "is_enabled" not in enabled.json()
    assert not list(
        _validator("GetOrganizationConnectionResponseContent").iter_errors(enabled.json())
    )
    domain = request(app, "GET", f"{base}/discovery-domains/dd_AcmeCom000001")
    assert (domain.status_code, domain.json()["domain"]) == (200, "acme.com")
    assert not list(
        _validator("GetOrganizationDiscoveryDomainResponseContent").iter_errors(domain.json())
    )
    assert request(app, "GET", f"{base}/discovery-domains/dd_nope").status_code == 404
    request(app, "PATCH", f"/client-grants/{PORTAL}", {"scope": ["read:orders"]})
    grants = request(app, "GET", "/client-grants?client_id=cli_AcmePortal0000001").json()
    assert [(g["id"], g["scope"]) for g in grants] == [(PORTAL, ["read:orders"])]
    paged = request(app, "GET", "/client-grants?per_page=2&include_totals=true").json()
    assert (len(paged["client_grants"]), paged["total"]) == (2, 3)
