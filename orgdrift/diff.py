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
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from deepdiff import DeepDiff
from deepdiff.helper import notpresent

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
    model = [f for f in model_findings(decl, live) if not _ignored(decl, f.path)]
    if desired == actual:
        return sorted(model, key=lambda f: (f.path, f.kind.value))
    diff = DeepDiff(desired, actual, view="tree", threshold_to_diff_deeper=0)
    findings = [
        _finding(decl, level.path(output_format="list"), level.t1, level.t2)
        for level in _levels(diff)
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
        actual[key] = _live_field(live.data, key)
    if decl.connections is not None:
        view = decl.needs_connection_view
        live_connections = (live.connection_view if view else live.connections) or ()
        desired["connections"], actual["connections"] = _connections(decl, live_connections)
    for path in decl.ignore:
        desired, actual = _without(desired, path), _without(actual, path)
    return desired, actual


def _ignored(decl: OrgDecl, path: str) -> bool:
    """Whether `ignore:` covers a finding path of the client grants or discovery domains."""
    return any(path == p or path.startswith(p + ".") for p in decl.ignore)


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


def _live_field(data: RawObject, key: str) -> Any:
    value = data.get(key)
    if value is None and key in ("branding", "metadata"):
        return {}  # Auth0 omits unset objects; `metadata: {}` declared means none
    return value


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
    """The flags and Early Access fields `conn` declares, as the live association has them."""
    found = {flag: _live_flag(item, flag) for flag in conn.flags}
    return found | {name: _live_view_field(item, name) for name in conn.view_fields}


def _live_flag(item: RawObject, flag: str) -> Any:
    value = item.get(flag)
    return API_FLAG_DEFAULTS[flag] if value is None else value


def _live_view_field(item: RawObject, name: str) -> Any:
    """An Early Access connection field; an association without `is_enabled` is enabled."""
    value = item.get(name)
    return True if value is None and name == "is_enabled" else value


def _levels(diff: DeepDiff) -> Iterator[Any]:
    for levels in diff.values():
        yield from levels


# --- deepdiff levels -> findings -----------------------------------------------------------


def _finding(decl: OrgDecl, path: list[Any], expected: Any, actual: Any) -> Finding:
    expected = None if expected is notpresent else expected
    actual = None if actual is notpresent else actual
    org = decl.label
    if path[0] == "connections" and len(path) >= 2:
        return _connection_finding(decl, [str(p) for p in path[1:]], expected, actual)
    dotted = ".".join(str(p) for p in path)
    return Finding(
        FindingKind.FIELD_CHANGED,
        org,
        dotted,
        expected,
        actual,
        _changed_message(dotted, expected, actual),
        decl.locate(dotted),
    )


def _connection_finding(decl: OrgDecl, path: list[str], expected: Any, actual: Any) -> Finding:
    label = path[0]
    conn = _declared_connection(decl, label)
    org = decl.label
    if len(path) == 1 and expected is None:
        return Finding(
            FindingKind.CONNECTION_NOT_ALLOWED,
            org,
            f"connections.{label}",
            None,
            label,
            f"connection {label} is enabled but not allowed",
            decl.locate("connections"),
        )
    if len(path) == 1 and actual is None:
        return Finding(
            FindingKind.CONNECTION_MISSING,
            org,
            f"connections.{label}",
            label,
            None,
            f"connection {label} is declared but not enabled",
            conn.location if conn else decl.locate("connections"),
        )
    flag = path[1]
    source: Location | None = conn.flag_locations.get(flag) if conn else None
    return Finding(
        FindingKind.CONNECTION_SETTING_CHANGED,
        org,
        f"connections.{label}.{flag}",
        expected,
        actual,
        f"connection {label}: {flag} is {_show(actual)}, expected {_show(expected)}",
        source or (conn.location if conn else decl.location),
    )


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
    return Finding(
        FindingKind.ORGANIZATION_MISSING,
        decl.label,
        "",
        decl.id or decl.name,
        None,
        message,
        decl.location,
    )


def unmanaged(org: LiveOrganization, severity: Severity, source: Location | None) -> Finding:
    return Finding(
        FindingKind.ORGANIZATION_UNMANAGED,
        org.name or org.id,
        "",
        None,
        org.id,
        f"organization {org.name} ({org.id}) exists but is not declared",
        source,
        severity,
    )


# --- the whole organization model: client grants and discovery domains ---------------------


def model_findings(decl: OrgDecl, live: LiveOrganization) -> list[Finding]:
    """Findings for the client grants and discovery domains `decl` declares (none when it
    declares neither)."""
    findings: list[Finding] = []
    if decl.client_grants is not None:
        findings.extend(_grant_findings(decl, live.client_grants or ()))
    if decl.discovery_domains is not None:
        findings.extend(_domain_findings(decl, live.discovery_domains or ()))
    return findings


def _grant_findings(decl: OrgDecl, live: Sequence[RawObject]) -> list[Finding]:
    declared = {(g.client_id, g.audience): g for g in decl.client_grants or ()}
    found = {grant_key(g): g for g in live}
    org = decl.label
    findings: list[Finding] = []
    for key, item in found.items():
        label = f"{key[0]}:{key[1]}"
        grant = declared.get(key)
        if grant is None:
            findings.append(
                Finding(
                    FindingKind.CLIENT_GRANT_NOT_ALLOWED,
                    org,
                    f"client_grants.{label}",
                    None,
                    label,
                    f"client grant {label} is associated but not allowed",
                    decl.locate("client_grants"),
                )
            )
            continue
        if grant.scope is None:
            continue
        expected = sorted(set(grant.scope))
        actual = sorted({str(s) for s in item.get("scope") or ()})
        if expected != actual:
            shown_expected, shown_actual = _show_pair(expected, actual)
            findings.append(
                Finding(
                    FindingKind.CLIENT_GRANT_SCOPE_CHANGED,
                    org,
                    f"client_grants.{label}.scope",
                    expected,
                    actual,
                    f"client grant {label}: scope is {shown_actual}, expected {shown_expected}",
                    grant.location,
                )
            )
    if decl.client_grants_policy == "exact":
        for key, grant in declared.items():
            if key not in found:
                findings.append(
                    Finding(
                        FindingKind.CLIENT_GRANT_MISSING,
                        org,
                        f"client_grants.{grant.label}",
                        grant.label,
                        None,
                        f"client grant {grant.label} is declared but not associated",
                        grant.location,
                    )
                )
    return findings


def _domain_findings(decl: OrgDecl, live: Sequence[RawObject]) -> list[Finding]:
    declared = {d.domain.lower(): d for d in decl.discovery_domains or ()}
    found = {str(d.get("domain")).lower(): d for d in live}
    org = decl.label
    findings: list[Finding] = []
    for name, item in found.items():
        domain = declared.get(name)
        if domain is None:
            findings.append(
                Finding(
                    FindingKind.DISCOVERY_DOMAIN_NOT_ALLOWED,
                    org,
                    f"discovery_domains.{name}",
                    None,
                    name,
                    f"discovery domain {name} is set but not declared",
                    decl.locate("discovery_domains"),
                )
            )
            continue
        live_values = {
            "status": item.get("status"),
            "use_for_organization_discovery": item.get("use_for_organization_discovery", True),
        }
        wanted = {
            "status": domain.status,
            "use_for_organization_discovery": domain.use_for_organization_discovery,
        }
        for key, expected in wanted.items():
            if expected is None or live_values[key] == expected:
                continue
            findings.append(
                Finding(
                    FindingKind.DISCOVERY_DOMAIN_CHANGED,
                    org,
                    f"discovery_domains.{name}.{key}",
                    expected,
                    live_values[key],
                    f"discovery domain {name}: {key} is {_show(live_values[key])}, "
                    f"expected {_show(expected)}",
                    domain.location,
                )
            )
    for name, domain in declared.items():
        if name not in found:
            findings.append(
                Finding(
                    FindingKind.DISCOVERY_DOMAIN_MISSING,
                    org,
                    f"discovery_domains.{name}",
                    domain.domain,
                    None,
                    f"discovery domain {domain.domain} is declared but not set",
                    domain.location,
                )
            )
    return findings
