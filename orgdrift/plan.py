"""Findings -> the Management API requests that would make the tenant match the spec. Pure: no I/O.

A plan is a function of a check's findings, the declarations they came from and the live state
read for them (which resolves connection names and client grants to the ids the API needs). Per
organization, in dependency order: the organization itself (create, or one PATCH of the fields
that differ), then its connections, client-grant associations and discovery domains; deletes
first within each part. Every request is minimal (a PATCH carries only what differs), and the
plan is idempotent: once its requests are sent, a new plan is empty; a PATCH or DELETE sent again
changes nothing more, a create sent again is refused by the API (409), never duplicated. orgdrift
never sends them.

Write endpoints, bodies and scopes: Auth0's OpenAPI file,
https://auth0.com/docs/api/management/v2/organizations/patch-organizations-by-id and siblings.
`PATCH /organizations/{id}` replaces `metadata`, `branding` and `token_quota` whole (the Terraform
provider sends the whole metadata map to remove a key: terraform-provider-auth0,
internal/auth0/organization/expand.go), so each is sent whole, ignored keys kept at their live value.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Literal
from urllib.parse import quote

from orgdrift.errors import ExitCode
from orgdrift.models import (
    ClientGrantDecl,
    ConnectionDecl,
    DiscoveryDomainDecl,
    Finding,
    FindingKind,
    LiveOrganization,
    LiveState,
    OrgDecl,
    OrgResult,
    OrgStatus,
    RawObject,
    Report,
    Severity,
    grant_key,
)

Method = Literal["POST", "PATCH", "DELETE"]

API = "/api/v2"
NEW_ID = "{id}"
"""In the path of a step after an organization's creation: the id the create step's response
gives (`Step.captures_id`)."""

ALLOW_DELETE_HINT = "a delete, planned only with --allow-delete (or AUTH0_ALLOW_DELETE=true)"


@dataclass(frozen=True, slots=True)
class Step:
    """One Management API request."""

    method: Method
    path: str  # under the tenant's domain, e.g. /api/v2/organizations/org_1; may hold NEW_ID
    body: RawObject | None
    scope: str  # the scope the request needs
    fixes: tuple[Finding, ...]
    note: str | None = None  # what else it changes, when that is more than the findings say
    captures_id: bool = False  # its response's `id` is the NEW_ID of the steps after it

    @property
    def summary(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class Manual:
    """A finding the plan does not fix with a request: a delete not asked for, or something the
    API cannot do. `step` is the request `--allow-delete` would add (None: no request can)."""

    fix: Finding
    reason: str
    step: Step | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A finding that needs nothing: accepted by an exception, known from a baseline, or a
    warning the policy only reports."""

    fix: Finding
    reason: str


@dataclass(frozen=True, slots=True)
class OrgPlan:
    name: str | None
    id: str | None  # None: the organization does not exist yet (its first step creates it)
    steps: tuple[Step, ...] = ()
    manual: tuple[Manual, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @property
    def label(self) -> str:
        return self.name if self.name is not None else str(self.id)


@dataclass(frozen=True, slots=True)
class Plan:
    report: Report  # the check the plan answers (its failure, tenant, scope)
    organizations: tuple[OrgPlan, ...]
    allow_delete: bool

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for org in self.organizations for s in org.steps)

    @property
    def manual(self) -> tuple[Manual, ...]:
        return tuple(m for org in self.organizations for m in org.manual)

    @property
    def skipped(self) -> tuple[Skipped, ...]:
        return tuple(s for org in self.organizations for s in org.skipped)

    @property
    def exit_code(self) -> ExitCode:
        """As `check`: 0 nothing to do, 1 requests or manual steps, else the failure's code."""
        if self.report.failure is not None:
            return self.report.failure.exit_code
        return ExitCode.DRIFT if self.steps or self.manual else ExitCode.IN_SYNC

    def for_finding(self, fingerprint: str | None) -> tuple[Step | Manual | Skipped, ...]:
        """What the plan does about one finding (by fingerprint): its steps or its note."""
        if fingerprint is None:
            return ()
        hits: list[Step | Manual | Skipped] = []
        for org in self.organizations:
            hits.extend(s for s in org.steps if any(f.fingerprint == fingerprint for f in s.fixes))
            hits.extend(m for m in org.manual if m.fix.fingerprint == fingerprint)
            hits.extend(s for s in org.skipped if s.fix.fingerprint == fingerprint)
        return tuple(hits)


# --- ids the API needs ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ids:
    """Connection ids by name and client-grant ids by (client id, audience), from everything
    the live state holds (every organization read, however its connections were read)."""

    connections: Mapping[str, str] = field(default_factory=dict)
    grants: Mapping[tuple[str, str], RawObject] = field(default_factory=dict)

    @classmethod
    def of(cls, live: LiveState) -> Ids:
        connections: dict[str, str] = {}
        grants: dict[tuple[str, str], RawObject] = {}
        for org in live.organizations:
            for item in (*(org.connections or ()), *(org.connection_view or ())):
                conn_id, name = (
                    item.get("connection_id"),
                    (item.get("connection") or {}).get("name"),
                )
                if isinstance(conn_id, str) and isinstance(name, str):
                    connections.setdefault(name, conn_id)
            for grant in org.client_grants or ():
                if isinstance(grant.get("id"), str):
                    grants.setdefault(grant_key(grant), grant)
        return cls(connections, grants)

    def connection(self, decl: ConnectionDecl) -> str | None:
        if decl.connection_id is not None:
            return decl.connection_id
        return self.connections.get(str(decl.name))


def _seg(value: str) -> str:
    """One path segment, percent-encoded (ids come from the tenant: never trusted as a path)."""
    return quote(value, safe="")


def _org_path(org_id: str | None, *rest: str) -> str:
    head = NEW_ID if org_id is None else _seg(org_id)
    return "/".join((f"{API}/organizations", head, *(_seg(r) for r in rest)))


# --- the plan ------------------------------------------------------------------------------


def build_plan(
    report: Report, decls: Sequence[OrgDecl], live: LiveState | None, *, allow_delete: bool
) -> Plan:
    """The plan for `report`'s findings; none when the check has no verdict."""
    if report.failure is not None or live is None:
        return Plan(report, (), allow_delete)
    ids = Ids.of(live)
    live_by_id = {o.id: o for o in live.organizations}
    plans: list[OrgPlan] = []
    for result in report.organizations:
        if not result.findings:
            continue
        org = live_by_id.get(result.id or "") if result.status is not OrgStatus.MISSING else None
        decl = _decl_for(decls, result)
        planner = _OrgPlanner(decl, org, ids, allow_delete)
        plans.append(planner.plan(result.name, result.id, result.findings))
    return Plan(report, _shared_once(plans, _scope_conflicts(decls, ids)), allow_delete)


def _scope_conflicts(decls: Sequence[OrgDecl], ids: Ids) -> dict[str, str]:
    """A client grant is the client's, shared by every organization associated with it: when
    organizations declare different scopes for it, no scope request can satisfy them all, so
    each scope request on it becomes a manual step naming every declaration (organization,
    spec line, scope). The path of each such grant, and the reason."""
    declared: dict[tuple[str, str], list[str]] = {}
    scopes: dict[tuple[str, str], set[tuple[str, ...]]] = {}
    for decl in decls:
        for grant in decl.client_grants or ():
            if grant.scope is None:
                continue
            key = (grant.client_id, grant.audience)
            wanted = tuple(sorted(set(grant.scope)))
            scopes.setdefault(key, set()).add(wanted)
            declared.setdefault(key, []).append(
                f"{decl.label} ({grant.location}): {' '.join(wanted) or 'no scope'}"
            )
    conflicts: dict[str, str] = {}
    for key, found in scopes.items():
        live = ids.grants.get(key)
        if len(found) > 1 and live is not None:
            path = f"{API}/client-grants/{_seg(str(live['id']))}"
            conflicts[path] = (
                f"organizations declare different scopes for client grant {live['id']} "
                f"(client {key[0]}, audience {key[1]}): {'; '.join(declared[key])}. The grant "
                "is the client's, shared by every organization associated with it, so no "
                "request is planned: declare one scope for it in every organization"
            )
    return conflicts


def _shared_once(plans: Sequence[OrgPlan], conflicts: Mapping[str, str]) -> tuple[OrgPlan, ...]:
    """A tenant-wide request (a client grant's scope) that the findings of several organizations
    need is sent once, with the first of them, fixing every one; one on a grant in `conflicts`
    (path: reason) is a manual step for each finding instead."""
    first: dict[tuple[str, str, str], tuple[int, int]] = {}
    steps: list[list[Step]] = []
    manual: list[list[Manual]] = []
    for index, plan in enumerate(plans):
        kept: list[Step] = []
        manual.append(list(plan.manual))
        for step in plan.steps:
            key = (step.method, step.path, json.dumps(step.body, sort_keys=True))
            if step.path in conflicts:
                manual[-1].extend(Manual(fix, conflicts[step.path]) for fix in step.fixes)
            elif not step.path.startswith(f"{API}/client-grants/"):
                kept.append(step)
            elif key in first:
                at, position = first[key]
                earlier = steps[at][position]
                steps[at][position] = replace(earlier, fixes=earlier.fixes + step.fixes)
            else:
                first[key] = (index, len(kept))
                kept.append(step)
        steps.append(kept)
    return tuple(
        replace(plan, steps=tuple(s), manual=tuple(m))
        for plan, s, m in zip(plans, steps, manual, strict=True)
    )


def _decl_for(decls: Sequence[OrgDecl], result: OrgResult) -> OrgDecl | None:
    """The declaration a result came from (by id when it declares one, else by name, as the
    check matched them); None for an unmanaged organization."""
    if result.status is OrgStatus.UNMANAGED:
        return None
    return next(
        (d for d in decls if (d.id == result.id if d.id is not None else d.name == result.name)),
        None,
    )


_PartDecl = ConnectionDecl | ClientGrantDecl | DiscoveryDomainDecl


@dataclass
class _OrgPlanner:
    decl: OrgDecl | None
    org: LiveOrganization | None
    ids: Ids
    allow_delete: bool
    steps: list[Step] = field(default_factory=list)
    manual: list[Manual] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def plan(self, name: str | None, org_id: str | None, findings: Sequence[Finding]) -> OrgPlan:
        by_kind: dict[FindingKind, list[Finding]] = {}
        for finding in findings:
            reason = _no_action(finding)
            if reason is not None:
                self.skipped.append(Skipped(finding, reason))
            else:
                by_kind.setdefault(finding.kind, []).append(finding)
        for kind, handler in self._handlers():
            if by_kind.get(kind):
                handler(by_kind[kind])
        return OrgPlan(
            name, self.org_id or org_id, tuple(self.steps), tuple(self.manual), tuple(self.skipped)
        )

    def _handlers(self) -> Iterator[tuple[FindingKind, Callable[[list[Finding]], None]]]:
        """Dependency order: the organization, then its parts (deletes first in each)."""
        kinds = FindingKind
        yield kinds.ORGANIZATION_UNMANAGED, self._unmanaged
        yield kinds.ORGANIZATION_MISSING, self._missing
        yield kinds.FIELD_CHANGED, self._fields
        yield kinds.CONNECTION_NOT_ALLOWED, partial(self._deletes, "connections")
        yield kinds.CONNECTION_MISSING, partial(self._adds, "connections")
        yield kinds.CONNECTION_SETTING_CHANGED, partial(self._patches, "connections")
        yield kinds.CLIENT_GRANT_NOT_ALLOWED, partial(self._deletes, "client_grants")
        yield kinds.CLIENT_GRANT_MISSING, partial(self._adds, "client_grants")
        yield kinds.CLIENT_GRANT_SCOPE_CHANGED, partial(self._patches, "client_grants")
        yield kinds.DISCOVERY_DOMAIN_NOT_ALLOWED, partial(self._deletes, "discovery_domains")
        yield kinds.DISCOVERY_DOMAIN_MISSING, partial(self._adds, "discovery_domains")
        yield kinds.DISCOVERY_DOMAIN_CHANGED, partial(self._patches, "discovery_domains")

    # --- helpers --------------------------------------------------------------------------

    @property
    def org_id(self) -> str | None:
        return self.org.id if self.org is not None else None

    @property
    def view(self) -> bool:
        """Whether connections go through the Early Access `/connections` endpoints (the
        declaration has a field only they show, so the check read them there)."""
        return self.decl is not None and self.decl.needs_connection_view

    def _segment(self, part: str) -> str:
        """A part's path segment under the organization."""
        if part == "connections":
            return "connections" if self.view else "enabled_connections"
        return part.replace("_", "-")

    def _live_id(self, part: str, label: str) -> str | None:
        """The id of the live connection, client grant or discovery domain a finding names
        (None: the live state does not show it with an id)."""
        org = self.org
        if org is None:
            return None
        items = {
            "connections": org.connection_view if self.view else org.connections,
            "client_grants": org.client_grants,
            "discovery_domains": org.discovery_domains,
        }[part]
        key = "connection_id" if part == "connections" else "id"
        for item in items or ():
            if _names(part, item, label):
                value = item.get(key)
                return value if isinstance(value, str) else None
        return None

    def _delete(self, finding: Finding, step: Step, why: str | None = None) -> None:
        if self.allow_delete:
            self.steps.append(step)
        else:
            reason = f"{why}; {ALLOW_DELETE_HINT}" if why else ALLOW_DELETE_HINT
            self.manual.append(Manual(finding, reason, step))

    def _cannot(self, finding: Finding, reason: str) -> None:
        self.manual.append(Manual(finding, reason))

    def _unresolved(self, finding: Finding) -> None:
        """A finding whose object the live state does not show (never expected: said, not
        dropped)."""
        self._cannot(
            finding, f"{finding.path} is not in the live state read, so no request names it"
        )

    def _deletes(self, part: str, findings: list[Finding]) -> None:
        """A DELETE of each live connection, client-grant association or discovery domain the
        spec does not allow."""
        note = "removes the association only; the client grant stays"
        for finding in findings:
            item_id = self._live_id(part, str(finding.actual))
            if item_id is None:
                self._unresolved(finding)
                continue
            step = Step(
                "DELETE",
                _org_path(self.org_id, self._segment(part), item_id),
                None,
                f"delete:organization_{part}",
                (finding,),
                note=note if part == "client_grants" else None,
            )
            self._delete(finding, step)

    def _patches(self, part: str, findings: list[Finding]) -> None:
        """One PATCH of each live connection or discovery domain, with the settings that
        differ; of a client grant's scope, on the grant itself."""
        by_label: dict[str, list[Finding]] = {}
        for finding in findings:
            label = finding.path.removeprefix(f"{part}.").rpartition(".")[0]
            by_label.setdefault(label, []).append(finding)
        for label, group in by_label.items():
            item_id = self._live_id(part, label)
            if item_id is None:
                for finding in group:
                    self._unresolved(finding)
            elif part == "client_grants":
                self.steps += [self._scope_step(f, item_id, list(f.expected)) for f in group]
            else:
                self.steps.append(
                    Step(
                        "PATCH",
                        _org_path(self.org_id, self._segment(part), item_id),
                        {f.path.rpartition(".")[2]: f.expected for f in group},
                        f"update:organization_{part}",
                        tuple(group),
                    )
                )

    # --- the organization -----------------------------------------------------------------

    def _unmanaged(self, findings: list[Finding]) -> None:
        for finding in findings:
            step = Step(
                "DELETE",
                _org_path(str(finding.actual)),
                None,
                "delete:organizations",
                (finding,),
                note="deletes the organization, its members' memberships and its invitations",
            )
            self._delete(finding, step, "policy unmanaged_organizations is fail")

    def _missing(self, findings: list[Finding]) -> None:
        finding = findings[0]
        decl = self.decl
        if decl is None or decl.id is not None or decl.name is None:
            self._cannot(
                finding,
                "declared by id: the API gives a new organization a new id, so none can be "
                "created with this one (create it, then declare the new id)",
            )
            return
        body: RawObject = _without_null_metadata({"name": decl.name, **decl.fields})
        connections, later = self._initial_connections(finding, decl)
        if connections:
            body["enabled_connections"] = connections
        self.steps.append(
            Step(
                "POST",
                f"{API}/organizations",
                body,
                "create:organizations",
                (finding,),
                captures_id=True,
            )
        )
        grants = decl.client_grants if decl.client_grants_policy == "exact" else None
        parts: tuple[_PartDecl, ...] = (*later, *(grants or ()), *(decl.discovery_domains or ()))
        for item in parts:
            self._add(finding, item)

    def _initial_connections(
        self, finding: Finding, decl: OrgDecl
    ) -> tuple[list[RawObject], list[ConnectionDecl]]:
        """The connections a new organization needs (every declared one under `exact`, none
        under `allowlist`): in the create body when the GA fields say all, else one POST each
        to the Early Access endpoint after it."""
        if decl.connections is None or decl.connections_policy == "allowlist":
            return [], []
        inline: list[RawObject] = []
        later: list[ConnectionDecl] = []
        for conn in decl.connections:
            conn_id = self.ids.connection(conn)
            if conn_id is None:
                self._cannot(finding, _unknown_connection(conn))
            elif conn.view_fields:
                later.append(conn)
            else:
                inline.append({"connection_id": conn_id, **conn.flags})
        return inline, later

    def _fields(self, findings: list[Finding]) -> None:
        decl, org = self.decl, self.org
        if decl is None or org is None:
            return
        heads = sorted({f.path.partition(".")[0] for f in findings})
        body = {h: decl.name if h == "name" else _whole_value(decl, org.data, h) for h in heads}
        self.steps.append(
            Step(
                "PATCH",
                _org_path(self.org_id),
                _without_null_metadata(body),
                "update:organizations",
                tuple(findings),
            )
        )

    # --- connections, client grants, discovery domains -------------------------------------

    def _adds(self, part: str, findings: list[Finding]) -> None:
        """Each declared connection, client grant or discovery domain the organization lacks."""
        declared: Sequence[_PartDecl] = getattr(self.decl, part, None) or ()
        for finding in findings:
            item = next((d for d in declared if _declares(d, finding.expected)), None)
            if item is None:
                self._unresolved(finding)
            else:
                self._add(finding, item)

    def _add(self, finding: Finding, item: _PartDecl) -> None:
        if isinstance(item, ClientGrantDecl):
            self._associate(finding, item)
        elif isinstance(item, DiscoveryDomainDecl):
            body = {
                "domain": item.domain,
                "status": item.status,
                "use_for_organization_discovery": item.use_for_organization_discovery,
            }
            self.steps.append(
                Step(
                    "POST",
                    _org_path(self.org_id, "discovery-domains"),
                    {k: v for k, v in body.items() if v is not None},
                    "create:organization_discovery_domains",
                    (finding,),
                )
            )
        elif (conn_id := self.ids.connection(item)) is None:
            self._cannot(finding, _unknown_connection(item))
        else:
            part = "connections" if item.view_fields or self.view else "enabled_connections"
            self.steps.append(
                Step(
                    "POST",
                    _org_path(self.org_id, part),
                    {"connection_id": conn_id, **item.flags, **item.view_fields},
                    "create:organization_connections",
                    (finding,),
                )
            )

    def _associate(self, finding: Finding, grant: ClientGrantDecl) -> None:
        """The association; then the grant's scope when the spec declares another one (the
        association first: the scope is checked through it)."""
        live = self.ids.grants.get((grant.client_id, grant.audience))
        if live is None:
            self._cannot(
                finding,
                f"no organization read has a client grant of client {grant.client_id} for "
                f"audience {grant.audience}, so its id is unknown: find it with GET "
                "/api/v2/client-grants?client_id=...&audience=... (read:client_grants), or "
                "create one that allows organizations",
            )
            return
        grant_id = str(live["id"])
        self.steps.append(
            Step(
                "POST",
                _org_path(self.org_id, "client-grants"),
                {"grant_id": grant_id},
                "create:organization_client_grants",
                (finding,),
            )
        )
        wanted = sorted(set(grant.scope)) if grant.scope is not None else None
        if wanted is not None and wanted != sorted({str(s) for s in live.get("scope") or ()}):
            self.steps.append(self._scope_step(finding, grant_id, wanted))

    def _scope_step(self, finding: Finding, grant_id: str, scope: list[str]) -> Step:
        return Step(
            "PATCH",
            f"{API}/client-grants/{_seg(grant_id)}",
            {"scope": scope},
            "update:client_grants",
            (finding,),
            note="the grant is the client's: every organization associated with it gets this scope",
        )


def _declares(item: _PartDecl, expected: Any) -> bool:
    """Whether a missing item's finding (its `expected`) names the declared `item`."""
    if isinstance(item, DiscoveryDomainDecl):
        return item.domain.lower() == str(expected).lower()
    return item.label == str(expected)


def _names(part: str, item: RawObject, label: str) -> bool:
    """Whether a finding's `label` names the live `item`: a connection by name or id, a client
    grant by client and audience, a discovery domain in any case."""
    if part == "connections":
        return label in ((item.get("connection") or {}).get("name"), item.get("connection_id"))
    if part == "client_grants":
        return label == f"{item.get('client_id')}:{item.get('audience')}"
    return label.lower() == str(item.get("domain")).lower()


def _no_action(finding: Finding) -> str | None:
    """Why a finding needs no request (None: it does)."""
    if finding.accepted is not None:
        return finding.accepted.note()
    if finding.known:
        return "known: in the baseline report"
    if finding.severity is Severity.WARNING:
        return "reported only: policy unmanaged_organizations is report"
    return None


def _unknown_connection(conn: ConnectionDecl) -> str:
    return (
        f"connection {conn.label}: no organization read has it enabled, so its id is unknown "
        "(it may not exist in the tenant); declare its connection_id, or find it with GET "
        "/api/v2/connections?name=... (read:connections)"
    )


# --- organization fields -------------------------------------------------------------------


def _without_null_metadata(body: RawObject) -> RawObject:
    """`body` without the metadata keys declared null (a null value is a key not set)."""
    if isinstance(body.get("metadata"), dict):
        body["metadata"] = {k: v for k, v in body["metadata"].items() if v is not None}
    return body


def _whole_value(decl: OrgDecl, data: RawObject, head: str) -> Any:
    """A field the API replaces whole (`branding`, `token_quota`, `display_name`): the
    declared value, with the live value kept at each ignored path under it (`branding.logo_url`
    -> ["logo_url"]; a metadata key is one segment whatever it contains)."""
    value = copy.deepcopy(decl.fields.get(head))
    for path in decl.ignore:
        first, _, rest = path.partition(".")
        if first != head or not rest or not isinstance(value, dict):
            continue
        keys = [rest] if head == "metadata" else rest.split(".")
        found, live_value = _get(data.get(head), keys)
        if found:
            _set(value, keys, live_value)
    return value


def _get(value: Any, keys: Iterable[str]) -> tuple[bool, Any]:
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return False, None
        value = value[key]
    return True, value


def _set(target: RawObject, keys: list[str], value: Any) -> None:
    *parents, last = keys
    node: Any = target
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            return
    node[last] = value
