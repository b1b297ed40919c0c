"""Normalize a declared organization and its live counterpart into the same shape, compare them,
and explain the differences as findings. The only module that imports deepdiff.

Normalized documents hold only what the spec declares: `name` (when looked up by id),
`display_name`, `branding` and `metadata` (whole values), and `connections` keyed by the label the
spec uses (name or connection_id), each with only the declared flags. Most organizations are in
sync, so documents are compared with `==` first and deepdiff runs only on those that differ.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from orgdrift.errors import Location
from orgdrift.models import (
    API_FLAG_DEFAULTS,
    ConnectionDecl,
    Finding,
    FindingKind,
    LiveOrganization,
    OrgDecl,
    RawObject,
    Severity,
    grant_key,
)

Doc = dict[str, Any]


def compare(decl: OrgDecl, live: LiveOrganization) -> list[Finding]:
    """Findings for one declared organization that exists live (empty when in sync)."""
    desired, actual = normalize(decl, live)
    model = [  # the client grants and discovery domains `ignore:` leaves compared
        f
        for f in model_findings(decl, live)
        if not any(f.path == p or f.path.startswith(p + ".") for p in decl.ignore)
    ]
    if desired == actual:
        return sorted(model, key=lambda f: (f.path, f.kind.value))
    from deepdiff import DeepDiff  # here: `validate` never compares, so never imports it

    diff = DeepDiff(desired, actual, view="tree", threshold_to_diff_deeper=0)
    findings = [
        _finding(decl, level.path(output_format="list"), level.t1, level.t2)
        for levels in diff.values()
        for level in levels
    ]
    return sorted(findings + model, key=lambda f: (f.path, f.kind.value))


def normalize(decl: OrgDecl, live: LiveOrganization) -> tuple[Doc, Doc]:
    """The declared and the live organization as comparable documents of the same shape."""
    desired: Doc = {}
    actual: Doc = {}
    if decl.name is not None and decl.id is not None:  # found by id: the name is checked too
        desired["name"] = decl.name
        actual["name"] = live.data.get("name")
    for key, value in decl.fields.items():
        desired[key] = value
        actual[key] = live.data.get(key)
        if actual[key] is None and key in ("branding", "metadata"):
            actual[key] = {}  # Auth0 omits unset objects; `metadata: {}` declared means none
    if decl.connections is not None:
        view = decl.needs_connection_view
        live_connections = (live.connection_view if view else live.connections) or ()
        desired["connections"], actual["connections"] = _connections(decl, live_connections)
    for path in decl.ignore:
        desired, actual = _without(desired, path), _without(actual, path)
    return desired, actual


def _without(doc: Doc, path: str) -> Doc:
    """`doc` less the value at the dotted `path` (`ignore:`), copied along the path only.
    A metadata key is one segment whatever it contains (`metadata.a.b` is the key `a.b`)."""
    head, _, rest = path.partition(".")
    if head not in doc:
        return doc
    keys = [rest] if head == "metadata" and rest else rest.split(".") if rest else []
    return _drop(doc, [head, *keys])


def _drop(doc: Doc, keys: list[str]) -> Doc:
    key, *rest = keys
    if key not in doc:
        return doc
    copy = dict(doc)
    if not rest:
        del copy[key]
    elif isinstance(copy[key], dict):
        copy[key] = _drop(copy[key], rest)
    return copy


def _connections(decl: OrgDecl, live: Sequence[RawObject]) -> tuple[Doc, Doc]:
    declared = decl.connections or ()
    by_id = {c.connection_id: c for c in declared if c.connection_id is not None}
    by_name = {c.name: c for c in declared if c.name is not None}
    actual: Doc = {}
    for item in live:
        conn_id = item.get("connection_id")
        name = (item.get("connection") or {}).get("name")
        match = by_id.get(str(conn_id)) or by_name.get(str(name))
        if match is None:
            actual[name if isinstance(name, str) else str(conn_id)] = {}
        else:
            actual[match.label] = _live_connection(match, item)
    allowlist = decl.connections_policy == "allowlist"  # a declared connection may stay disabled
    desired: Doc = {
        conn.label: {**conn.flags, **conn.view_fields}
        for conn in declared
        if not allowlist or conn.label in actual
    }
    return desired, actual


def _live_connection(conn: ConnectionDecl, item: RawObject) -> Doc:
    """The flags and Early Access fields `conn` declares, as the live association has them: an
    omitted flag has its API default, an association without `is_enabled` is enabled."""
    defaults = {**API_FLAG_DEFAULTS, "is_enabled": True}
    names = [*conn.flags, *conn.view_fields]
    return {n: defaults.get(n) if item.get(n) is None else item[n] for n in names}


# --- deepdiff levels -> findings -----------------------------------------------------------


def _finding(decl: OrgDecl, path: list[Any], expected: Any, actual: Any) -> Finding:
    from deepdiff.helper import notpresent

    expected = None if expected is notpresent else expected
    actual = None if actual is notpresent else actual
    if path[0] == "connections" and len(path) >= 2:
        return _connection_finding(decl, [str(p) for p in path[1:]], expected, actual)
    dotted = ".".join(str(p) for p in path)
    message = _changed_message(dotted, expected, actual)
    kind, source = FindingKind.FIELD_CHANGED, decl.locate(dotted)
    return Finding(kind, decl.label, dotted, expected, actual, message, source)


def _connection_finding(decl: OrgDecl, path: list[str], expected: Any, actual: Any) -> Finding:
    label = path[0]
    if len(path) == 1 and expected is None:
        return _extra(decl, "connections", label)
    # Declared, since the spec's side has it (both sides hold a mapping under each label).
    conn = next(c for c in decl.connections or () if c.label == label)
    if len(path) == 1:
        return _absent(decl, "connections", label, label, conn.location)
    where = conn.flag_locations.get(path[1]) or conn.location
    return _changed(decl, "connections", label, path[1], (expected, actual), where)


def with_unknown_connection_hints(
    decl: OrgDecl, findings: Sequence[Finding], names: frozenset[str] | None
) -> list[Finding]:
    """`findings` where a connection declared by name is missing and the tenant (`names`: every
    connection it has, when read) has no connection of that name: said, with the nearest name."""
    if names is None:
        return list(findings)
    out = []
    for finding in findings:
        conn = _declared_connection(decl, finding.path.removeprefix("connections."))
        if (
            finding.kind is FindingKind.CONNECTION_MISSING
            and conn is not None
            and conn.name is not None
            and conn.name not in names
        ):
            near = difflib.get_close_matches(conn.name, sorted(names), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            message = (
                f"connection {conn.name} is declared but the tenant has no connection of that "
                f"name{hint}"
            )
            finding = replace(finding, message=message)
        out.append(finding)
    return out


def _declared_connection(decl: OrgDecl, label: str) -> ConnectionDecl | None:
    return next((c for c in decl.connections or () if c.label == label), None)


def _changed_message(path: str, expected: Any, actual: Any) -> str:
    if actual is None:
        return f"{path} is not set, expected {_show(expected)}"
    if expected is None:
        return f"{path} is {_show(actual)}, which the spec does not declare"
    shown_expected, shown_actual = _show_pair(expected, actual)
    return f"{path} is {shown_actual}, expected {shown_expected}"


SHOWN = 120
"""Characters of a value shown in a message; the finding's `expected`/`actual` keep it whole."""
_CONTEXT = 40


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _show_pair(expected: Any, actual: Any) -> tuple[str, str]:
    """Two long values cut the same way around their first difference, which stays visible."""
    a = json.dumps(expected, ensure_ascii=False, sort_keys=True)
    b = json.dumps(actual, ensure_ascii=False, sort_keys=True)
    if len(a) <= SHOWN and len(b) <= SHOWN:
        return a, b
    start = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    lo = max(0, start - _CONTEXT)
    return _window(a, lo), _window(b, lo)


def _window(text: str, lo: int) -> str:
    hi = min(len(text), lo + SHOWN)
    return ("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else "")


# --- organizations that are missing or not declared ----------------------------------------


def missing(decl: OrgDecl) -> Finding:
    if decl.id is not None:
        message = f"no organization with id {decl.id} exists"
    else:
        message = f"organization {decl.name} does not exist"
    kind = FindingKind.ORGANIZATION_MISSING
    return Finding(kind, decl.label, "", decl.id or decl.name, None, message, decl.location)


def unmanaged(org: LiveOrganization, severity: Severity, source: Location | None) -> Finding:
    message = f"organization {org.name} ({org.id}) exists but is not declared"
    kind = FindingKind.ORGANIZATION_UNMANAGED
    return Finding(kind, org.name or org.id, "", None, org.id, message, source, severity)


# --- the whole organization model: client grants and discovery domains ---------------------


def model_findings(decl: OrgDecl, live: LiveOrganization) -> list[Finding]:
    """Findings for the client grants and discovery domains `decl` declares (none when it
    declares neither)."""
    findings: list[Finding] = []
    if decl.client_grants is not None:
        grants: dict[Any, _Item] = {}
        for g in decl.client_grants:
            wanted: Doc = {} if g.scope is None else {"scope": sorted(set(g.scope))}
            grants[(g.client_id, g.audience)] = (g.label, g.label, g.location, wanted)
        found: dict[Any, tuple[str, RawObject]]
        found = {(k := grant_key(g)): (":".join(k), g) for g in live.client_grants or ()}
        exact = decl.client_grants_policy == "exact"
        findings += _keyed(decl, "client_grants", grants, found, _live_grant, exact=exact)
    if decl.discovery_domains is not None:
        domains: dict[Any, _Item] = {}
        for d in decl.discovery_domains:
            wanted = {"status": d.status, _DISCOVERY: d.use_for_organization_discovery}
            wanted = {k: v for k, v in wanted.items() if v is not None}
            domains[d.domain.lower()] = (d.domain.lower(), d.domain, d.location, wanted)
        found = {(n := str(i.get("domain")).lower()): (n, i) for i in live.discovery_domains or ()}
        findings += _keyed(decl, "discovery_domains", domains, found, _live_domain, exact=True)
    return findings


_DISCOVERY = "use_for_organization_discovery"
_Item = tuple[str, str, Location, Doc]
"""A declared item: its label in finding paths, in messages, where it is, its declared values."""


def _live_grant(item: RawObject) -> Doc:
    return {"scope": sorted({str(s) for s in item.get("scope") or ()})}


def _live_domain(item: RawObject) -> Doc:
    return {"status": item.get("status"), _DISCOVERY: item.get(_DISCOVERY, True)}


def _keyed(
    decl: OrgDecl,
    part: str,
    declared: Mapping[Any, _Item],
    found: Mapping[Any, tuple[str, RawObject]],
    values: Callable[[RawObject], Doc],
    *,
    exact: bool,
) -> list[Finding]:
    """The items of `part` found that are not declared, the declared values that differ (as
    `values` reads them), and (`exact`) the declared items not found."""
    findings: list[Finding] = []
    for key, (label, item) in found.items():
        if key not in declared:
            findings.append(_extra(decl, part, label))
            continue
        _, _, source, wanted = declared[key]
        for name, expected in wanted.items():
            actual = values(item)[name]
            if actual != expected:
                findings.append(_changed(decl, part, label, name, (expected, actual), source))
    if exact:
        for key, (label, shown, source, _) in declared.items():
            if key not in found:
                findings.append(_absent(decl, part, label, shown, source))
    return findings


_WORDS = {  # part: what an item is; what one the spec does not declare is; one the tenant lacks
    "connections": ("connection", "enabled but not allowed", "declared but not enabled"),
    "client_grants": ("client grant", "associated but not allowed", "declared but not associated"),
    "discovery_domains": ("discovery domain", "set but not declared", "declared but not set"),
}
_KINDS = {  # part: the kind of finding of an item not allowed, missing, changed
    "connections": (
        FindingKind.CONNECTION_NOT_ALLOWED,
        FindingKind.CONNECTION_MISSING,
        FindingKind.CONNECTION_SETTING_CHANGED,
    ),
    "client_grants": (
        FindingKind.CLIENT_GRANT_NOT_ALLOWED,
        FindingKind.CLIENT_GRANT_MISSING,
        FindingKind.CLIENT_GRANT_SCOPE_CHANGED,
    ),
    "discovery_domains": (
        FindingKind.DISCOVERY_DOMAIN_NOT_ALLOWED,
        FindingKind.DISCOVERY_DOMAIN_MISSING,
        FindingKind.DISCOVERY_DOMAIN_CHANGED,
    ),
}


def _extra(decl: OrgDecl, part: str, label: str) -> Finding:
    what, extra, _ = _WORDS[part]
    kind, path = _KINDS[part][0], f"{part}.{label}"
    return Finding(
        kind, decl.label, path, None, label, f"{what} {label} is {extra}", decl.locate(part)
    )


def _absent(decl: OrgDecl, part: str, label: str, shown: str, source: Location) -> Finding:
    what, _, absent = _WORDS[part]
    kind, path = _KINDS[part][1], f"{part}.{label}"
    return Finding(kind, decl.label, path, shown, None, f"{what} {shown} is {absent}", source)


def _changed(
    decl: OrgDecl, part: str, label: str, name: str, values: tuple[Any, Any], source: Location
) -> Finding:
    expected, actual = values
    # Scopes are long lists, cut around their first difference; other values from their start.
    shown = _show_pair(*values) if part == "client_grants" else (_show(expected), _show(actual))
    message = f"{_WORDS[part][0]} {label}: {name} is {shown[1]}, expected {shown[0]}"
    path = f"{part}.{label}.{name}"
    return Finding(_KINDS[part][2], decl.label, path, expected, actual, message, source)
