"""Differential property: an incremental check never disagrees with a full read.

Random tenants holding the whole organization model (connections with their Early Access
fields, client grants shared between organizations, discovery domains, token quotas), a spec
that declares it for most organizations (as `export` writes it; some organizations undeclared,
some declared without the Early Access fields, read through `enabled_connections`), then random
sequences of writes of every kind the Management API allows on those parts, writes by an
organization's own admins (My Organization API, self-service SSO) and logins; no-ops, writes to
undeclared organizations, organizations deleted and re-created under the same name, a shared
grant changed. After each round, `check --since` (chained: each run writes the next snapshot,
as `--write-snapshot` does) gives the exit code and findings of a full check of the same
tenant; it falls back to a full read only saying why.

CI runs a few dozen examples; `ORGDRIFT_SOAK=1` runs 400 (`ORGDRIFT_SOAK=N`, N > 1: N) with fresh
randomness and prints the figures (seeds, writes by kind, holds, fallbacks, requests) as JSON on
stdout (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orgdrift import pipeline, reads
from orgdrift.emulator import DEFAULT_TOKEN, EmulatorConfig, create_app
from orgdrift.emulator.app import ADMIN_WRITES, EmulatorApp
from orgdrift.emulator.config import ALL_SCOPES
from orgdrift.emulator.tenantlog import other_entry
from orgdrift.models import LiveOrganization, LiveState, Report
from orgdrift.snapshot import dump_snapshot

_SOAK = int(os.environ.get("ORGDRIFT_SOAK", "0") or "0")
SOAK = 400 if _SOAK == 1 else _SOAK  # 1: the suite's soak switch; N > 1: N examples
CONNECTIONS = 5
GRANTS = 4
NAMES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
CREATED = [*NAMES, "fresh-1", "fresh-2"]  # names an organization may be created under
LEVELS = ["none", "readonly", "limited", "full"]
VIEW_FIELDS = ("is_enabled", "organization_access_level", "organization_connection_name")


def connection_id(i: int) -> str:
    return f"con_{i:016d}"


def connection(i: int) -> dict[str, Any]:
    return {"name": f"conn-{i}", "strategy": "auth0" if i == 0 else "samlp"}


def grant(i: int) -> dict[str, Any]:
    return {
        "id": f"cgr_{i:016d}",
        "client_id": f"cli_{i % 3:016d}",
        "audience": f"https://api-{i}.example/",
        "scope": [f"read:{i}", "write:all"][: 1 + i % 2],
        "organization_usage": "require",
        "allow_any_organization": False,
    }


def random_tenant(seed: int) -> LiveState:
    """Five to seven organizations holding every part (grants shared between them)."""
    rng = random.Random(seed)
    orgs = []
    for index, name in enumerate(NAMES[: rng.randint(5, 7)]):
        view = []
        for c in sorted(rng.sample(range(CONNECTIONS), rng.randint(0, 3))):
            item: dict[str, Any] = {
                "connection_id": connection_id(c),
                "assign_membership_on_login": rng.random() < 0.5,
                "show_as_button": rng.random() < 0.7,
                "is_enabled": rng.random() < 0.8,
                "organization_access_level": rng.choice(LEVELS),
                "connection": connection(c),
            }
            if c == 0:
                item["is_signup_enabled"] = False
            if rng.random() < 0.3:
                item["organization_connection_name"] = f"{name}-{c}"
            view.append(item)
        grants = [grant(g) for g in sorted(rng.sample(range(GRANTS), rng.randint(0, 2)))]
        domains = [
            {
                "id": f"dd_{index}{d}",
                "domain": f"{name}{d}.example",
                "status": rng.choice(["pending", "verified"]),
                "use_for_organization_discovery": rng.random() < 0.5,
                "verification_txt": "auth0-domain-verification=x",
                "verification_host": f"_auth0-challenge.{name}{d}.example",
            }
            for d in range(rng.randint(0, 2))
        ]
        data: dict[str, Any] = {
            "id": f"org_{seed % 10000:04d}{index:012d}",
            "name": name,
            "display_name": name.title(),
        }
        if rng.random() < 0.5:
            data["metadata"] = {"tier": rng.choice(["gold", "silver"])}
        if rng.random() < 0.4:
            data["token_quota"] = {"client_credentials": {"per_day": rng.randint(1, 9)}}
        orgs.append(
            LiveOrganization(
                data,
                None,
                connection_view=tuple(view),
                client_grants=tuple(grants),
                discovery_domains=tuple(domains),
            )
        )
    # Every grant and connection known to the tenant, even when no organization has it.
    first = orgs[0]
    orgs[0] = LiveOrganization(
        first.data,
        None,
        connection_view=first.connection_view,
        client_grants=tuple(grant(g) for g in range(GRANTS)),
        discovery_domains=first.discovery_domains,
    )
    extra = [
        {
            "connection_id": connection_id(c),
            "is_enabled": False,
            "organization_access_level": "none",
            "connection": connection(c),
        }
        for c in range(CONNECTIONS)
        if all(i["connection_id"] != connection_id(c) for i in first.connection_view or ())
    ]
    orgs[0] = LiveOrganization(
        first.data,
        None,
        connection_view=(*(first.connection_view or ()), *extra),
        client_grants=orgs[0].client_grants,
        discovery_domains=first.discovery_domains,
    )
    return LiveState(tuple(orgs), complete=True)


def spec_text(exported: str, seed: int, unmanaged: str) -> str:
    """The exported spec with some organizations undeclared and some declared without the
    Early Access fields (connections that are not enabled then are not declared)."""
    rng = random.Random(seed + 1)
    document = yaml.safe_load(exported)
    kept = []
    for org in document["organizations"]:
        role = rng.choices(["whole", "ga", "undeclared"], weights=[6, 2, 1])[0]
        if role == "undeclared" and kept:
            continue
        if role == "ga":
            org["connections"] = [
                {k: v for k, v in c.items() if k not in VIEW_FIELDS}
                for c in org["connections"]
                if c.get("is_enabled", True)
            ]
        if rng.random() < 0.3:
            del org["name"]  # declared by id only
        else:
            del org["id"]
        kept.append(org)
    document["organizations"] = kept
    document["policy"] = {"unmanaged_organizations": unmanaged}
    return yaml.safe_dump(document, sort_keys=False)


# --- writes ------------------------------------------------------------------------------------

pick = st.integers(0, 50)
conn = st.integers(0, CONNECTIONS - 1)
WRITE_KINDS: dict[str, Any] = {
    "display": st.tuples(pick, st.sampled_from(["Alpha", "Beta", "New name"])),
    "metadata": st.tuples(pick, st.sampled_from(["gold", "silver"])),
    "rename": st.tuples(pick, st.sampled_from(CREATED)),
    "quota": st.tuples(pick, st.sampled_from([None, 3, 7])),
    "delete_org": st.tuples(pick),
    "create_org": st.tuples(st.sampled_from(CREATED), st.lists(conn, max_size=2, unique=True)),
    "enable": st.tuples(pick, conn, st.booleans()),
    "enabled_update": st.tuples(pick, conn, st.booleans()),
    "enabled_remove": st.tuples(pick, conn),
    "ea_add": st.tuples(pick, conn, st.booleans(), st.sampled_from(LEVELS)),
    "ea_update": st.tuples(
        pick, conn, st.sampled_from(LEVELS), st.sampled_from([True, False, None])
    ),
    "ea_remove": st.tuples(pick, conn),
    "grant_add": st.tuples(pick, st.integers(0, GRANTS - 1)),
    "grant_remove": st.tuples(pick, st.integers(0, GRANTS - 1)),
    "domain_add": st.tuples(pick, st.sampled_from(["new.example", "alpha0.example"])),
    "domain_update": st.tuples(pick, pick, st.sampled_from(["pending", "verified"])),
    "domain_remove": st.tuples(pick, pick),
    "grant_patch": st.tuples(st.integers(0, GRANTS - 1), st.sampled_from([["read:0"], []])),
    "grant_delete": st.tuples(st.integers(0, GRANTS - 1)),
    "connection_delete": st.tuples(conn),
    "my_org_details": st.tuples(pick, st.sampled_from(["Self-served", "Alpha"])),
    "my_org_idp": st.tuples(pick, conn, st.booleans()),
    "ss_sso": st.tuples(pick, conn),
    "unattributed_admin_write": st.tuples(pick),
    "login": st.tuples(),
}
write = st.sampled_from(sorted(WRITE_KINDS)).flatmap(
    lambda kind: st.tuples(st.just(kind), WRITE_KINDS[kind])
)
rounds = st.lists(st.lists(write, min_size=1, max_size=8), min_size=2, max_size=2)


def _request(
    kind: str, args: tuple[Any, ...], org: str, domains: list[str], cid: str, gid: str
) -> tuple[str, str, Any]:
    """The Management API write `kind` stands for: method, path under /api/v2, body (`cid`
    and `gid`: the connection and the grant it writes)."""
    base = f"/organizations/{org}"
    a = args
    table: dict[str, tuple[str, str, Any]] = {
        "display": ("PATCH", base, {"display_name": a[0] if a else ""}),
        "metadata": ("PATCH", base, {"metadata": {"tier": a[0]} if a else {}}),
        "rename": ("PATCH", base, {"name": a[0] if a else ""}),
        "quota": (
            "PATCH",
            base,
            {
                "token_quota": None
                if not a or a[0] is None
                else {"client_credentials": {"per_day": a[0]}}
            },
        ),
        "delete_org": ("DELETE", base, None),
    }
    if kind in table:
        return table[kind]
    if kind in ("enable", "enabled_update", "enabled_remove"):
        if kind == "enable":
            return (
                "POST",
                f"{base}/enabled_connections",
                {"connection_id": cid, "show_as_button": a[1]},
            )
        if kind == "enabled_update":
            return (
                "PATCH",
                f"{base}/enabled_connections/{cid}",
                {"assign_membership_on_login": a[1]},
            )
        return "DELETE", f"{base}/enabled_connections/{cid}", None
    if kind in ("ea_add", "ea_update", "ea_remove", "ss_sso", "my_org_idp"):
        if kind == "ea_add":
            body = {"connection_id": cid, "is_enabled": a[1], "organization_access_level": a[2]}
            return "POST", f"{base}/connections", body
        if kind == "ea_update":
            return (
                "PATCH",
                f"{base}/connections/{cid}",
                {"organization_access_level": a[1], "is_enabled": a[2]},
            )
        if kind == "ss_sso":
            return "POST", f"{base}/connections", {"connection_id": cid}
        if kind == "my_org_idp":
            return "PATCH", f"{base}/connections/{cid}", {"show_as_button": a[1]}
        return "DELETE", f"{base}/connections/{cid}", None
    if kind in ("grant_add", "grant_remove"):
        if kind == "grant_add":
            return "POST", f"{base}/client-grants", {"grant_id": gid}
        return "DELETE", f"{base}/client-grants/{gid}", None
    if kind == "domain_add":
        return "POST", f"{base}/discovery-domains", {"domain": a[0]}
    if kind in ("domain_update", "domain_remove"):
        did = domains[a[0] % len(domains)] if domains else "dd_none"
        if kind == "domain_update":
            return "PATCH", f"{base}/discovery-domains/{did}", {"status": a[1]}
        return "DELETE", f"{base}/discovery-domains/{did}", None
    raise AssertionError(kind)


def _targets(app: EmulatorApp, org: Any, kind: str, args: tuple[Any, ...]) -> tuple[str, str]:
    """The connection and the grant a write of `kind` on `org` names: one it has when the write
    changes or removes it, one it has not when the write adds it (drawn by the write's index)."""
    index = args[1] if len(args) > 1 and isinstance(args[1], int) else 0
    if org is None:
        return connection_id(index), grant(index % GRANTS)["id"]
    enabled = [str(c["connection_id"]) for c in org.enabled_connections]
    associated = [str(c["connection_id"]) for c in org.associations]
    others = [c for c in sorted(app.tenant.connections) if c not in associated]
    pools = {
        "enabled_update": enabled,
        "enabled_remove": enabled,
        "ea_update": associated,
        "ea_remove": associated,
        "my_org_idp": associated,
        "enable": others,
        "ea_add": others,
        "ss_sso": others,
    }
    pool = pools.get(kind) or [connection_id(index)]
    grants = (
        list(org.grant_ids)
        if kind == "grant_remove"
        else [g for g in sorted(app.tenant.client_grants) if g not in org.grant_ids]
    )
    return pool[index % len(pool)], (grants[index % len(grants)] if grants else "cgr_none")


async def _apply(
    app: EmulatorApp, writes: list[tuple[str, tuple[Any, ...]]], done: Counter[str]
) -> None:
    """Apply the writes in order; count those the tenant accepted, by kind."""
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {DEFAULT_TOKEN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers=headers
    ) as client:
        for kind, args in writes:
            orgs = app.tenant.organizations
            target = (
                orgs[args[0] % len(orgs)] if orgs and args and isinstance(args[0], int) else None
            )
            org = target.id if target is not None else "org_gone"
            domains = [str(d["id"]) for d in target.discovery_domains] if target else []
            cid, gid = _targets(app, target, kind, args)
            if kind == "rename" and target is not None:  # a free name, or its own (a no-op)
                names = [
                    target.body["name"],
                    *(n for n in CREATED if app.tenant.by_name(n) is None),
                ]
                args = (args[0], names[CREATED.index(args[1]) % len(names)])
            if kind == "login":
                app.log.append(other_entry("s", "Success Login"))
                done[kind] += 1
                continue
            if kind == "create_org":
                free = [n for n in CREATED if app.tenant.by_name(n) is None]
                body = {
                    "name": free[CREATED.index(args[0]) % len(free)] if free else args[0],
                    "enabled_connections": [{"connection_id": connection_id(c)} for c in args[1]],
                }
                response = await client.post("/api/v2/organizations", json=body)
            elif kind == "grant_patch":
                response = await client.patch(
                    f"/api/v2/client-grants/{grant(args[0])['id']}", json={"scope": args[1]}
                )
            elif kind == "grant_delete":
                response = await client.delete(f"/api/v2/client-grants/{grant(args[0])['id']}")
            elif kind == "connection_delete":
                response = await client.delete(f"/api/v2/connections/{connection_id(args[0])}")
            elif kind in ("my_org_details", "my_org_idp", "ss_sso", "unattributed_admin_write"):
                event = {
                    "my_org_details": "my_organization_api_org_details_succeeded",
                    "my_org_idp": "my_organization_api_idp_succeeded",
                    "ss_sso": "ss_sso_success",
                    "unattributed_admin_write": "my_organization_api_org_details_succeeded",
                }[kind]
                shown = (
                    "display" if kind in ("my_org_details", "unattributed_admin_write") else kind
                )
                method, path, body = _request(shown, args[1:], org, domains, cid, gid)
                if kind == "unattributed_admin_write":
                    method, path, body = (
                        "PATCH",
                        f"/organizations/{org}",
                        {"display_name": "Nobody knows"},
                    )
                named = None if kind == "unattributed_admin_write" else org
                admin = {
                    "type": event,
                    "organization_id": named,
                    "method": method,
                    "path": path,
                    "body": body,
                }
                response = await client.post(ADMIN_WRITES, json=admin)
            else:
                method, path, body = _request(kind, args[1:], org, domains, cid, gid)
                response = await client.request(method, f"/api/v2{path}", json=body)
            if response.status_code < 300:
                done[kind] += 1


def _verdict(report: Report) -> tuple[Any, ...]:
    findings = sorted(
        (f.kind.value, f.organization, f.path, repr(f.expected), repr(f.actual), f.message)
        for f in report.findings
    )
    orgs = sorted((o.label, o.id or "", o.status.value) for o in report.organizations)
    failure = report.failure.message if report.failure is not None else None
    return report.exit_code, report.status, tuple(findings), tuple(orgs), failure


FIGURES: dict[str, Any] = {}


def _reset_figures() -> None:
    FIGURES.clear()
    FIGURES.update(
        examples=0,
        seeds=[],
        runs=0,
        holds=0,
        incremental=0,
        fallbacks=Counter(),
        writes=Counter(),
        requests={"incremental": 0, "full_check": 0},
    )


@settings(
    max_examples=SOAK or 60,
    derandomize=not SOAK,  # CI: the same examples every run; the soak explores
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    seed=st.integers(0, 10**9),
    unmanaged=st.sampled_from(["ignore", "report"]),
    plan=rounds,
)
# The derandomized examples change with the function's source; this one keeps the rarest kind
# (an Early Access association removed) in every run whatever they are.
@example(seed=1, unmanaged="ignore", plan=[[("ea_remove", (0, 0))], [("ea_remove", (1, 1))]])
def _incremental_equals_full(seed: int, unmanaged: str, plan: list[list[Any]]) -> None:
    FIGURES["examples"] += 1
    FIGURES["seeds"].append(seed)
    app = create_app(random_tenant(seed), EmulatorConfig(tokens={DEFAULT_TOKEN: ALL_SCOPES}))
    tenant = reads.Tenant(
        domain="http://127.0.0.1",
        env={"AUTH0_API_TOKEN": DEFAULT_TOKEN},
        transport=httpx.ASGITransport(app=app),
    )
    with tempfile.TemporaryDirectory() as tmp:
        exported = pipeline.run_export(pipeline.ExportOptions(tenant))
        assert exported.failure is None and exported.left_out == ()
        spec = Path(tmp) / "orgs.yaml"
        spec.write_text(spec_text(exported.text, seed, unmanaged), encoding="utf-8")
        taken = pipeline.run_snapshot(pipeline.SnapshotOptions(tenant, (str(spec),)))
        live = taken.state
        assert taken.no_checkpoint is None and live.log_checkpoint is not None
        previous = Path(tmp) / "s0.json"
        previous.write_text(dump_snapshot(live), encoding="utf-8")
        for number, writes in enumerate(plan, start=1):
            asyncio.run(_apply(app, writes, FIGURES["writes"]))
            written: list[LiveState] = []

            def keep(state: LiveState, _why: str | None, into: list[LiveState] = written) -> None:
                into.append(state)

            options = pipeline.CheckOptions(
                specs=(str(spec),), env={}, tenant=tenant, since=str(previous), on_snapshot=keep
            )
            incremental = pipeline.run_check(options)
            full = pipeline.run_check(
                pipeline.CheckOptions(specs=(str(spec),), env={}, tenant=tenant)
            )
            assert _verdict(incremental) == _verdict(full), (writes, incremental.basis)
            FIGURES["runs"] += 1
            FIGURES["holds"] += 1
            basis = incremental.basis
            assert basis is not None
            if basis.full_read_because is not None:
                assert basis.full_read_because  # said, with its reason
                reason = basis.full_read_because
                unattributed = reason.startswith("a log entry could not be attributed")
                FIGURES["fallbacks"]["unattributable" if unattributed else "dearer"] += 1
            else:
                FIGURES["incremental"] += 1
                FIGURES["requests"]["incremental"] += incremental.stats.requests
                FIGURES["requests"]["full_check"] += full.stats.requests
            assert len(written) == 1 and written[0].log_checkpoint is not None
            previous = Path(tmp) / f"s{number}.json"
            previous.write_text(dump_snapshot(written[0]), encoding="utf-8")


def test_incremental_verdict_equals_full_verdict() -> None:
    """The property, then proof it did not pass by falling back every time, and that every
    kind of write was applied."""
    _reset_figures()
    _incremental_equals_full()
    if SOAK:
        figures = {
            **FIGURES,
            "seeds": {
                "distinct": len(set(FIGURES["seeds"])),
                "first": FIGURES["seeds"][:10],
            },
            "fallbacks": dict(FIGURES["fallbacks"]),
            "writes": dict(FIGURES["writes"]),
        }
        print(json.dumps(figures, indent=1, sort_keys=True))
    assert FIGURES["incremental"] > FIGURES["runs"] // 2, FIGURES
    assert set(FIGURES["writes"]) == set(WRITE_KINDS), FIGURES["writes"]
    # The only unattributable writes drawn are the admin writes that name no organization.
    assert set(FIGURES["fallbacks"]) <= {"unattributable", "dearer"}, FIGURES["fallbacks"]
