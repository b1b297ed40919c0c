"""Plans proven against the emulator: random tenants that declare the whole organization model,
drifted through the emulator's HTTP write API (as anyone with a token would), then `plan`, the
plan's requests sent through the same API as a user would (the shell script itself under `sh`
on some examples, the JSON plan with httpx on the rest), then:

* `check` exits 0 and a new plan is empty, every time;
* a plan of an in-sync tenant is empty (before any drift);
* the plan sends exactly the minimum the findings need, derived here per finding kind from the
  check's own JSON report and the spec, not from the plan;
* each request's scope is one the emulator's write table asks for on that route.

A few dozen examples in CI (the same each run); ORGDRIFT_SOAK=1 explores hundreds and prints its
figures. `test_each_drift_is_fixed` sends every kind of drift once, so every finding kind is
covered on every run whatever hypothesis draws.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgdrift import pipeline
from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app, running_server
from orgdrift.emulator.config import ALL_SCOPES, READ_SCOPES
from orgdrift.emulator.writes import WRITE_SCOPES, WRITES
from orgdrift.models import FindingKind
from orgdrift.plan import NEW_ID, Plan
from orgdrift.plan_render import plan_to_dict, render_shell
from orgdrift.reads import Tenant
from orgdrift.reporters import report_to_dict
from orgdrift.snapshot import parse_snapshot
from orgdrift.spec import load_specs

SOAK = os.environ.get("ORGDRIFT_SOAK") == "1"
WRITER = "writer-token"  # sends the plan: write scopes only
DRIFTER = "drifter-token"  # drifts the tenant: reads and writes

# The tenant's connections and client grants; `holder` has them all, in sync, so every name
# and (client, audience) resolves to an id from what a check reads.
CONNECTIONS = (
    ("con_Saml000001", "acme-saml", "samlp"),
    ("con_Oidc000001", "corp-oidc", "oidc"),
    ("con_Db00000001", "Username-Password-Authentication", "auth0"),
    ("con_Goog000001", "google-oauth2", "google-oauth2"),
)
GRANTS = (
    ("cgr_Portal0001", "cli_Portal", "https://api.portal.example/", ("read:a", "write:a")),
    ("cgr_Billing001", "cli_Billing", "https://billing.example/", ("bill",)),
    ("cgr_Reports001", "cli_Reports", "https://api.portal.example/", ("read:r",)),
)
DOMAINS = ("alpha.example", "beta.example", "gamma.example")
LEVELS = ("none", "readonly", "limited", "full")
BRANDINGS = (
    {"logo_url": "https://cdn.example/a.png", "colors": {"primary": "#000000", "page_background": "#ffffff"}},
    {"colors": {"primary": "#123456", "page_background": "#000000"}},
    {"logo_url": "https://cdn.example/b.png"},
)  # fmt: skip
METADATA = (  # a value changed, a key added, a key removed, all removed
    {"tier": "silver"},
    {"tier": "gold", "region": "eu"},
    {"a": "1"},
    {},
)
QUOTAS = (
    {"client_credentials": {"enforce": True, "per_day": 100}},
    {"client_credentials": {"enforce": False, "per_hour": 10}},
)


# --- the model: what the spec declares, and the in-sync tenant it describes -------------------


@dataclass
class OrgModel:
    index: int
    by_id: bool  # declared by id (and name): cannot be re-created, so never deleted
    view: bool  # declares Early Access connection fields: read and fixed through /connections
    display_name: str
    branding: dict[str, Any] | None
    metadata: dict[str, str] | None
    token_quota: dict[str, Any] | None
    connections: dict[str, dict[str, Any]]  # connection id -> declared fields
    by_connection_id: frozenset[str]  # declared by connection_id rather than name
    connections_policy: str
    grants: dict[str, bool] | None  # grant id -> scope declared; None: not managed
    grants_policy: str
    domains: dict[str, dict[str, Any]] | None  # domain -> declared fields

    @property
    def id(self) -> str:
        return f"org_Model{self.index:011d}"

    @property
    def name(self) -> str:
        return f"org-{self.index}"


@dataclass
class Model:
    orgs: list[OrgModel]
    unmanaged: str  # ignore | report | fail

    def spec(self) -> str:
        holder = {
            "name": "holder",
            "connections": [{"name": name} for _, name, _ in CONNECTIONS],
            "client_grants": [{"client_id": c, "audience": a} for _, c, a, _ in GRANTS],
        }
        document = {
            "version": 1,
            "policy": {"unmanaged_organizations": self.unmanaged},
            "organizations": [holder, *(_declaration(o) for o in self.orgs)],
        }
        return json.dumps(document, indent=1)  # JSON is YAML

    def tenant(self) -> dict[str, Any]:
        holder = {
            "id": "org_Holder000000001",
            "name": "holder",
            "organization_connections": [_association(c, {}) for c in CONNECTIONS],
            "client_grants": [_grant(g) for g in GRANTS],
            "discovery_domains": [],
        }
        return {
            "snapshot_version": 1,
            "complete": True,
            "organizations": [holder, *(_live(o) for o in self.orgs)],
        }


def _declaration(org: OrgModel) -> dict[str, Any]:
    decl: dict[str, Any] = {"name": org.name, "display_name": org.display_name}
    if org.by_id:
        decl["id"] = org.id
    for key in ("branding", "metadata", "token_quota"):
        if getattr(org, key) is not None:
            decl[key] = getattr(org, key)
    decl["policy"] = {"connections": org.connections_policy, "client_grants": org.grants_policy}
    decl["connections"] = [
        {
            **({"connection_id": cid} if cid in org.by_connection_id else {"name": _conn(cid)[1]}),
            **fields,
        }
        for cid, fields in org.connections.items()
    ]
    if org.grants is not None:
        decl["client_grants"] = [
            {
                "client_id": g[1],
                "audience": g[2],
                **({"scope": list(g[3])} if org.grants[g[0]] else {}),
            }
            for g in GRANTS
            if g[0] in org.grants
        ]
    if org.domains is not None:
        decl["discovery_domains"] = [{"domain": d, **f} for d, f in org.domains.items()]
    return decl


def _conn(cid: str) -> tuple[str, str, str]:
    return next(c for c in CONNECTIONS if c[0] == cid)


def _association(conn: tuple[str, str, str], fields: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "connection_id": conn[0],
        "assign_membership_on_login": False,
        "show_as_button": True,
        "is_enabled": True,
        "organization_access_level": "none",
        "connection": {"name": conn[1], "strategy": conn[2]},
    }
    item.update(fields)
    return item


def _grant(grant: tuple[str, str, str, tuple[str, ...]]) -> dict[str, Any]:
    return {
        "id": grant[0],
        "client_id": grant[1],
        "audience": grant[2],
        "scope": list(grant[3]),
        "organization_usage": "allow",
        "allow_any_organization": False,
    }


def _live(org: OrgModel) -> dict[str, Any]:
    data: dict[str, Any] = {"id": org.id, "name": org.name, "display_name": org.display_name}
    for key in ("branding", "metadata", "token_quota"):
        if getattr(org, key) is not None:
            data[key] = getattr(org, key)
    data["organization_connections"] = [
        _association(_conn(cid), fields) for cid, fields in org.connections.items()
    ]
    data["client_grants"] = [_grant(g) for g in GRANTS if g[0] in (org.grants or {})]
    data["discovery_domains"] = [
        {"id": f"dd_{org.index}{i}", "domain": d, "status": f.get("status", "pending"), **f}
        for i, (d, f) in enumerate((org.domains or {}).items())
    ]
    return data


@st.composite
def org_models(draw: st.DrawFn, index: int) -> OrgModel:
    view = draw(st.booleans())
    conn_ids = draw(st.lists(st.sampled_from([c[0] for c in CONNECTIONS]), unique=True, max_size=3))
    connections: dict[str, dict[str, Any]] = {}
    for cid in conn_ids:
        fields: dict[str, Any] = {"assign_membership_on_login": draw(st.booleans())}
        if draw(st.booleans()):
            fields["show_as_button"] = draw(st.booleans())
        if view:
            fields["organization_access_level"] = draw(st.sampled_from(LEVELS))
            if draw(st.booleans()):
                fields["is_enabled"] = draw(st.booleans())
        connections[cid] = fields
    grants = draw(
        st.none()
        | st.dictionaries(st.sampled_from([g[0] for g in GRANTS]), st.booleans(), max_size=3)
    )
    domains = draw(
        st.none()
        | st.dictionaries(
            st.sampled_from(DOMAINS),
            st.fixed_dictionaries(
                {},
                optional={
                    "status": st.sampled_from(("pending", "verified")),
                    "use_for_organization_discovery": st.booleans(),
                },
            ),
            max_size=2,
        )
    )
    return OrgModel(
        index=index,
        by_id=draw(st.booleans()),
        view=view,
        display_name=draw(st.sampled_from(("Acme", "Globex Corp", "Initech"))),
        branding=draw(st.none() | st.sampled_from(BRANDINGS)),
        metadata=draw(st.none() | st.sampled_from(({"tier": "gold"}, {"a": "1", "b": "2"}))),
        token_quota=draw(st.none() | st.sampled_from(QUOTAS)),
        connections=connections,
        by_connection_id=frozenset(draw(st.lists(st.sampled_from(conn_ids or ["-"])))),
        connections_policy=draw(st.sampled_from(("exact", "allowlist"))),
        grants=grants,
        grants_policy=draw(st.sampled_from(("exact", "allowlist"))),
        domains=domains,
    )


@st.composite
def models(draw: st.DrawFn) -> Model:
    count = draw(st.integers(1, 3))
    return Model(
        [draw(org_models(i)) for i in range(count)],
        draw(st.sampled_from(("ignore", "report", "fail"))),
    )


# --- drift, through the emulator's HTTP write API ------------------------------------------

DRIFTS = (
    "display_name",
    "branding",
    "metadata",
    "token_quota",
    "rename",
    "delete_org",
    "stray_org",
    "connection_remove",
    "connection_add",
    "connection_flag",
    "connection_view_field",
    "grant_remove",
    "grant_add",
    "grant_scope",
    "domain_remove",
    "domain_add",
    "domain_change",
)


@dataclass
class Drifter:
    client: httpx.Client
    model: Model
    sent: Counter[str] = field(default_factory=Counter)

    def org(self, pick: int) -> OrgModel:
        return self.model.orgs[pick % len(self.model.orgs)]

    def ok(self, response: httpx.Response, drift: str) -> None:
        if response.status_code < 300:
            self.sent[drift] += 1

    def items(self, path: str, key: str | None = None) -> list[dict[str, Any]]:
        response = self.client.get(path)
        if response.status_code != 200:
            return []
        body = response.json()
        items: list[dict[str, Any]] = body[key] if key else body
        return items

    def apply(self, drift: str, pick: int, value: int) -> None:
        getattr(self, f"_{drift}")(drift, self.org(pick), value)

    def _org_patch(self, drift: str, org: OrgModel, body: dict[str, Any]) -> None:
        self.ok(self.client.patch(f"/api/v2/organizations/{org.id}", json=body), drift)

    def _display_name(self, drift: str, org: OrgModel, value: int) -> None:
        self._org_patch(drift, org, {"display_name": f"Drifted {value}"})

    def _branding(self, drift: str, org: OrgModel, value: int) -> None:
        self._org_patch(drift, org, {"branding": BRANDINGS[value % len(BRANDINGS)]})

    def _metadata(self, drift: str, org: OrgModel, value: int) -> None:
        self._org_patch(drift, org, {"metadata": METADATA[value % len(METADATA)]})

    def _token_quota(self, drift: str, org: OrgModel, value: int) -> None:
        quota = None if value % 3 == 0 else QUOTAS[value % len(QUOTAS)]
        self._org_patch(drift, org, {"token_quota": quota})

    def _rename(self, drift: str, org: OrgModel, value: int) -> None:
        if org.by_id:  # found by id, its name is compared
            self._org_patch(drift, org, {"name": f"renamed-{org.index}"})

    def _delete_org(self, drift: str, org: OrgModel, value: int) -> None:
        if not org.by_id:  # one declared by id cannot be re-created with that id
            self.ok(self.client.delete(f"/api/v2/organizations/{org.id}"), drift)

    def _stray_org(self, drift: str, org: OrgModel, value: int) -> None:
        response = self.client.post("/api/v2/organizations", json={"name": f"stray-{value}"})
        self.ok(response, drift)

    def _part(self, org: OrgModel) -> str:
        return "connections" if org.view else "enabled_connections"

    def _associated(self, org: OrgModel) -> list[dict[str, Any]]:
        path = f"/api/v2/organizations/{org.id}/{self._part(org)}"
        return self.items(path)

    def _connection_remove(self, drift: str, org: OrgModel, value: int) -> None:
        items = self._associated(org)
        if items:
            cid = items[value % len(items)]["connection_id"]
            path = f"/api/v2/organizations/{org.id}/{self._part(org)}/{cid}"
            self.ok(self.client.delete(path), drift)

    def _connection_add(self, drift: str, org: OrgModel, value: int) -> None:
        present = {i["connection_id"] for i in self._associated(org)}
        free = [c[0] for c in CONNECTIONS if c[0] not in present]
        if free:
            path = f"/api/v2/organizations/{org.id}/{self._part(org)}"
            body = {"connection_id": free[value % len(free)]}
            self.ok(self.client.post(path, json=body), drift)

    def _connection_patch(self, drift: str, org: OrgModel, value: int, body: Any) -> None:
        items = self._associated(org)
        if items:
            item = items[value % len(items)]
            path = f"/api/v2/organizations/{org.id}/{self._part(org)}/{item['connection_id']}"
            self.ok(self.client.patch(path, json=body(item)), drift)

    def _connection_flag(self, drift: str, org: OrgModel, value: int) -> None:
        flag = ("assign_membership_on_login", "show_as_button")[value % 2]
        self._connection_patch(
            drift, org, value, lambda item: {flag: not item.get(flag, flag == "show_as_button")}
        )

    def _connection_view_field(self, drift: str, org: OrgModel, value: int) -> None:
        if not org.view:
            return

        def toggled(item: Any) -> dict[str, Any]:
            return {"is_enabled": not item.get("is_enabled", True)}

        def next_level(item: Any) -> dict[str, Any]:
            level = LEVELS.index(item.get("organization_access_level") or "none")
            return {"organization_access_level": LEVELS[(level + 1) % 4]}

        self._connection_patch(drift, org, value, toggled if value % 2 else next_level)

    def _grants(self, org: OrgModel) -> list[dict[str, Any]]:
        return self.items(f"/api/v2/organizations/{org.id}/client-grants")

    def _grant_remove(self, drift: str, org: OrgModel, value: int) -> None:
        grants = self._grants(org)
        if grants:
            grant_id = grants[value % len(grants)]["id"]
            path = f"/api/v2/organizations/{org.id}/client-grants/{grant_id}"
            self.ok(self.client.delete(path), drift)

    def _grant_add(self, drift: str, org: OrgModel, value: int) -> None:
        present = {g["id"] for g in self._grants(org)}
        free = [g[0] for g in GRANTS if g[0] not in present]
        if free:
            body = {"grant_id": free[value % len(free)]}
            path = f"/api/v2/organizations/{org.id}/client-grants"
            self.ok(self.client.post(path, json=body), drift)

    def _grant_scope(self, drift: str, org: OrgModel, value: int) -> None:
        grant = GRANTS[value % len(GRANTS)]
        scope = [*grant[3], f"extra:{value}"] if value % 2 else list(grant[3][:-1])
        self.ok(
            self.client.patch(f"/api/v2/client-grants/{grant[0]}", json={"scope": scope}), drift
        )

    def _domains(self, org: OrgModel) -> list[dict[str, Any]]:
        return self.items(f"/api/v2/organizations/{org.id}/discovery-domains", "domains")

    def _domain_remove(self, drift: str, org: OrgModel, value: int) -> None:
        domains = self._domains(org)
        if domains:
            path = f"/api/v2/organizations/{org.id}/discovery-domains/{domains[value % len(domains)]['id']}"
            self.ok(self.client.delete(path), drift)

    def _domain_add(self, drift: str, org: OrgModel, value: int) -> None:
        present = {d["domain"] for d in self._domains(org)}
        free = [d for d in (*DOMAINS, "stray.example") if d not in present]
        if free:
            path = f"/api/v2/organizations/{org.id}/discovery-domains"
            self.ok(self.client.post(path, json={"domain": free[value % len(free)]}), drift)

    def _domain_change(self, drift: str, org: OrgModel, value: int) -> None:
        domains = self._domains(org)
        if domains:
            item = domains[value % len(domains)]
            if value % 2:
                body = {"status": "pending" if item.get("status") == "verified" else "verified"}
            else:
                body = {
                    "use_for_organization_discovery": not item.get(
                        "use_for_organization_discovery", True
                    )
                }
            path = f"/api/v2/organizations/{org.id}/discovery-domains/{item['id']}"
            self.ok(self.client.patch(path, json=body), drift)


drifts = st.lists(
    st.tuples(st.sampled_from(DRIFTS), st.integers(0, 5), st.integers(0, 11)),
    min_size=1,
    max_size=6,
)


# --- the harness ---------------------------------------------------------------------------


@dataclass
class Figures:
    examples: int = 0
    via_shell: int = 0
    requests: int = 0
    drifts: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass
class Harness:
    url: str
    spec: Path
    tmp: Path

    def plan(self) -> Plan:
        tenant = Tenant(domain=self.url, env={"AUTH0_API_TOKEN": DEFAULT_TOKEN})
        check = pipeline.CheckOptions(specs=(str(self.spec),), env={}, tenant=tenant)
        return pipeline.run_plan(pipeline.PlanOptions(check, allow_delete=True))

    def check(self) -> dict[str, Any]:
        tenant = Tenant(domain=self.url, env={"AUTH0_API_TOKEN": DEFAULT_TOKEN})
        check = pipeline.CheckOptions(specs=(str(self.spec),), env={}, tenant=tenant)
        return report_to_dict(pipeline.run_check(check))

    def apply_json(self, plan: Plan) -> None:
        """The JSON plan, sent as a user would: each step in order, `{id}` replaced by the
        created organization's id, the first failure stops."""
        document = plan_to_dict(plan)
        headers = {"Authorization": f"Bearer {WRITER}"}
        with httpx.Client(base_url=self.url, headers=headers) as client:
            for org in document["organizations"]:
                new_id = None
                for step in org["steps"]:
                    path = step["path"] if new_id is None else step["path"].replace(NEW_ID, new_id)
                    response = client.request(step["method"], path, json=step["body"])
                    assert response.is_success, (step, response.text)
                    if step["captures_id"]:
                        new_id = response.json()["id"]

    def apply_shell(self, plan: Plan) -> None:
        script = self.tmp / "plan.sh"
        script.write_text(render_shell(plan), encoding="utf-8")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AUTH0_DOMAIN": self.url,
            "AUTH0_API_TOKEN": WRITER,
        }
        result = subprocess.run(
            ["sh", str(script)], capture_output=True, text=True, env=env, check=False, timeout=300
        )
        assert result.returncode == 0, result.stderr


_ROUTES = [
    (op.method, re.compile("^/api/v2" + re.sub(r"\{[^}]+\}", "[^/]+", op.path) + "$"), op.scopes)
    for op in WRITES
]


def route_scopes(method: str, path: str) -> tuple[str, ...]:
    for op_method, pattern, scopes in _ROUTES:
        if op_method == method and pattern.match(path.replace(NEW_ID, "org_new")):
            return scopes
    raise AssertionError(f"no write route for {method} {path}")


def minimum_requests(report: dict[str, Any], spec_path: Path) -> int:
    """What the findings need at least, per kind: one PATCH per organization for its fields,
    one request per connection, grant or domain added or removed, one PATCH per connection or
    domain whose settings differ, one PATCH per client grant whose scope differs (a grant is
    the tenant's: once whatever the organizations), and for a missing organization one create
    plus what cannot ride in its body."""
    decls = {d.name: d for d in load_specs([str(spec_path)], {}).organizations}
    total = 0
    scoped: set[str] = set()
    for org in report["organizations"]:
        findings = [f for f in org["findings"] if f["severity"] == "error"]
        kinds = Counter(f["kind"] for f in findings)
        total += min(kinds.pop("field_changed", 0), 1)
        for kind in ("connection_setting_changed", "discovery_domain_changed"):
            total += len({f["path"].rpartition(".")[0] for f in findings if f["kind"] == kind})
            kinds.pop(kind, None)
        for f in findings:
            if f["kind"] == "client_grant_scope_changed":
                scoped.add(f["path"].removesuffix(".scope"))
        kinds.pop("client_grant_scope_changed", None)
        if kinds.pop("organization_missing", 0):
            decl = decls[org["name"]]
            exact = decl.connections_policy == "exact"
            total += 1 + sum(1 for c in decl.connections or () if c.view_fields and exact)
            grants = decl.client_grants if decl.client_grants_policy == "exact" else None
            total += len(grants or ()) + len(decl.discovery_domains or ())
            scoped |= {
                f"client_grants.{g.label}"
                for g in grants or ()
                if g.scope is not None
                and sorted(set(g.scope)) != CURRENT_SCOPES[f"client_grants.{g.label}"]
            }
        total += sum(kinds.values())
    return total + len(scoped)


CURRENT_SCOPES: dict[str, list[str]] = {}
"""Each grant's scope after the drift, as the holder (which has every grant) shows it."""


def read_scopes(url: str) -> None:
    headers = {"Authorization": f"Bearer {DRIFTER}"}
    response = httpx.get(
        f"{url}/api/v2/organizations/org_Holder000000001/client-grants", headers=headers
    )
    CURRENT_SCOPES.clear()
    for grant in response.json():
        CURRENT_SCOPES[f"client_grants.{grant['client_id']}:{grant['audience']}"] = sorted(
            set(grant["scope"])
        )


def config() -> EmulatorConfig:
    return EmulatorConfig(
        tokens={DEFAULT_TOKEN: READ_SCOPES, WRITER: WRITE_SCOPES, DRIFTER: ALL_SCOPES}
    )


def drifted(
    model: Model, moves: list[tuple[str, int, int]], tmp: Path, figures: Figures, *, shell: bool
) -> None:
    """The whole property for one tenant and one list of drifts."""
    started = time.monotonic()
    spec = tmp / "orgs.yaml"
    spec.write_text(model.spec(), encoding="utf-8")
    state = parse_snapshot("tenant.json", json.dumps(model.tenant()).encode())
    with running_server(create_app(state, config())) as url:
        harness = Harness(url, spec, tmp)
        before = harness.plan()
        assert before.report.failure is None, before.report.failure
        assert before.steps == () and before.manual == (), plan_to_dict(before)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {DRIFTER}"}) as client:
            drifter = Drifter(client, model)
            for drift, pick, value in moves:
                drifter.apply(drift, pick, value)
        read_scopes(url)
        report = harness.check()
        plan = harness.plan()
        assert plan.report.failure is None, plan.report.failure
        assert plan.manual == (), plan_to_dict(plan)
        assert len(plan.steps) == minimum_requests(report, spec), (report, plan_to_dict(plan))
        assert (plan.exit_code == 0) is report["in_sync"]
        for step in plan.steps:
            assert step.scope in route_scopes(step.method, step.path), step
        if shell:
            harness.apply_shell(plan)
        else:
            harness.apply_json(plan)
        after = harness.check()
        assert after["exit_code"] == 0, after["organizations"]
        again = harness.plan()
        assert again.steps == () and again.manual == (), plan_to_dict(again)
    figures.examples += 1
    figures.via_shell += shell
    figures.requests += len(plan.steps)
    figures.drifts.update(drifter.sent)
    figures.kinds.update(f["kind"] for o in report["organizations"] for f in o["findings"])
    figures.methods.update(s.method for s in plan.steps)
    figures.seconds += time.monotonic() - started


@pytest.fixture
def figures() -> Iterator[Figures]:
    found = Figures()
    yield found
    if SOAK:
        print(f"\nplan soak: {found}")


def test_plans_bring_random_drifted_tenants_in_sync(
    tmp_path_factory: pytest.TempPathFactory, figures: Figures
) -> None:
    @settings(
        max_examples=400 if SOAK else 25,
        derandomize=not SOAK,  # CI: the same examples every run; the soak explores
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(models(), drifts, st.integers(0, 3))
    def prop(model: Model, moves: list[tuple[str, int, int]], shell: int) -> None:
        drifted(model, moves, tmp_path_factory.mktemp("plan"), figures, shell=shell == 0)

    prop()
    assert figures.examples > 0 and figures.requests > 0


FULL = Model(
    [
        OrgModel(0, False, False, "Acme", BRANDINGS[0], {"tier": "gold"}, QUOTAS[0],
                 {"con_Saml000001": {"assign_membership_on_login": True, "show_as_button": True},
                  "con_Db00000001": {"assign_membership_on_login": False, "show_as_button": False}},
                 frozenset({"con_Db00000001"}), "exact", {"cgr_Portal0001": True, "cgr_Billing001": True}, "exact",
                 {"alpha.example": {"status": "verified"}, "beta.example": {"status": "pending"}}),
        OrgModel(1, True, True, "Globex", None, None, None,
                 {"con_Oidc000001": {"assign_membership_on_login": True, "organization_access_level": "limited", "is_enabled": True},
                  "con_Goog000001": {"assign_membership_on_login": False, "organization_access_level": "none", "is_enabled": False}},
                 frozenset(), "exact", {"cgr_Portal0001": True}, "exact", {"gamma.example": {"use_for_organization_discovery": False}}),
    ],
    "fail",
)  # fmt: skip
"""Two organizations declaring the whole model, in which each drift makes a finding."""


def test_each_drift_is_fixed_and_every_finding_kind_is_covered(
    tmp_path: Path, figures: Figures
) -> None:
    for index, drift in enumerate(DRIFTS):
        pick = 1 if drift in ("rename", "connection_view_field") else 0
        folder = tmp_path / str(index)
        folder.mkdir()
        before = sum(figures.kinds.values())
        try:
            drifted(
                FULL,
                [(drift, pick, 1)],
                folder,
                figures,
                shell=drift in ("delete_org", "connection_add"),
            )
        except AssertionError as exc:
            raise AssertionError(f"drift {drift}: {exc}") from exc
        assert figures.drifts[drift] == 1, f"{drift} was not sent"
        assert sum(figures.kinds.values()) > before, f"{drift} made no finding"
    assert set(figures.kinds) == {k.value for k in FindingKind}, figures.kinds
