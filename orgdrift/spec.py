"""Spec files -> `Spec`: safe YAML, `${VAR}` interpolation, JSON Schema, semantic checks.

Every problem of every file is collected and raised together as one `InputError`, each located at
`file:line:column` with its JSON path.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path as FsPath
from typing import Any, cast

import jsonschema
import jsonschema_rs
from jsonschema.exceptions import ValidationError

from orgdrift.errors import InputError, Location, Problem
from orgdrift.inputs import read_input
from orgdrift.models import (
    CONNECTION_FLAGS,
    CONNECTION_VIEW_FIELDS,
    ClientGrantDecl,
    ConnectionDecl,
    DiscoveryDomainDecl,
    ExceptionRule,
    FindingKind,
    OrgDecl,
    Spec,
    SpecFile,
    UnmanagedPolicy,
)
from orgdrift.resources import SPEC_SCHEMA, load_schema
from orgdrift.yamlload import MAX_BYTES, LoadedDocument, Path, excerpt, load_yaml, read_text

_VAR = re.compile(r"\$\$|\$\{([^}]*)\}")
_ALLOWED_VAR = re.compile(r"^(AUTH0_DOMAIN|ORGDRIFT_[A-Z0-9_]+)$")
_UNMANAGED_ORDER: tuple[UnmanagedPolicy, ...] = ("ignore", "report", "fail")


@dataclass(frozen=True, slots=True)
class _Source:
    doc: LoadedDocument
    sha256: str


def load_specs(paths: Sequence[str], env: Mapping[str, str]) -> Spec:
    """Read, check and merge spec files. Raises InputError listing every problem."""
    files: list[tuple[str, bytes]] = []
    unread: list[Problem] = []
    for path in paths:
        try:
            files.append((path, read_input(path, MAX_BYTES, confined=True)))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            unread.append(Problem(path, 0, 0, "", f"cannot read file: {reason}"))
    return load_spec_sources(files, env, unread)


def load_spec_groups(
    paths: Sequence[str], env: Mapping[str, str], *, per_directory: bool = False
) -> list[Spec]:
    """`load_specs` on all the files together, or on the files of each directory apart (one
    tenant's spec per directory: `auth0/prod/orgs.yaml`, `auth0/staging/orgs.yaml`). Raises one
    InputError listing the problems of every group."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(str(FsPath(path).parent) if per_directory else "", []).append(path)
    specs: list[Spec] = []
    problems: list[Problem] = []
    for group in groups.values():
        try:
            specs.append(load_specs(group, env))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return specs


def load_spec_bytes(label: str, raw: bytes, env: Mapping[str, str]) -> Spec:
    """One spec from bytes already read (the demo's packaged spec), labelled `label`."""
    return load_spec_sources([(label, raw)], env)


def load_spec_sources(
    files: Sequence[tuple[str, bytes]], env: Mapping[str, str], unread: Sequence[Problem] = ()
) -> Spec:
    """A spec from files already read, each `(label, bytes)` (a git revision, the demo), and
    the problems of those that could not be read."""
    problems = list(unread)
    sources: list[_Source] = []
    for label, raw in files:
        try:
            source, found = _parse(label, raw, env)
        except InputError as exc:  # not UTF-8, not YAML: nothing more to check
            problems.extend(exc.problems)
            continue
        sources.append(source)
        problems.extend(found)
    problems.extend(_cross_file_problems(sources))
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.file, p.line, p.column, p.message)))
    return _build(sources)


def _parse(path: str, raw: bytes, env: Mapping[str, str]) -> tuple[_Source, list[Problem]]:
    doc = load_yaml(path, read_text(path, raw))
    for _, rule in _dicts(_items(doc.data, "exceptions")):
        if isinstance(rule.get("expires"), date):  # unquoted: the schema sees its ISO text
            rule["expires"] = rule["expires"].isoformat()
    problems = _interpolate(doc, env)
    unresolved = {p.path for p in problems}  # a placeholder left in place is not also a bad value
    problems.extend(p for p in _schema_problems(doc) if p.path not in unresolved)
    problems.extend(_listed_twice(doc))
    problems.extend(_expiry_problems(doc))
    return _Source(doc, hashlib.sha256(raw).hexdigest()), problems


def _expiry_problems(doc: LoadedDocument) -> list[Problem]:
    """A quoted `expires` that looks like a date but is none (2027-02-30)."""
    problems: list[Problem] = []
    for i, rule in _dicts(_items(doc.data, "exceptions")):
        text = rule.get("expires")
        if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            continue  # the schema reports it
        try:
            date.fromisoformat(text)
        except ValueError:
            message = f"{text!r} is not a date (YYYY-MM-DD)"
            problems.append(doc.problem(("exceptions", i, "expires"), message))
    return problems


# --- ${VAR} interpolation ------------------------------------------------------------------


def _interpolate(doc: LoadedDocument, env: Mapping[str, str]) -> list[Problem]:
    """Replace `${VAR}` in string values in place; `$$` is a literal `$`."""
    problems: list[Problem] = []

    def substitute(text: str, path: Path) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group(1)
            if not _ALLOWED_VAR.match(name):
                problem = (
                    f"${{{name}}} cannot be interpolated: only AUTH0_DOMAIN and ORGDRIFT_* "
                    "variables may appear in a spec"
                )
            elif name not in env:
                problem = f"environment variable {name} is not set"
            else:
                return env[name]
            problems.append(doc.problem(path, problem))
            return match.group(0)

        return _VAR.sub(one, text) if "$" in text else text

    def walk(value: Any, path: Path) -> Any:
        if isinstance(value, str):
            return substitute(value, path)
        if isinstance(value, list):
            for i, item in enumerate(value):
                value[i] = walk(item, (*path, i))
        elif isinstance(value, dict):
            for key, item in value.items():
                value[key] = walk(item, (*path, key))
        return value

    walk(doc.data, ())
    return problems


# --- JSON Schema ---------------------------------------------------------------------------
#
# jsonschema is the authority: every problem is found and described by it. It takes some 8 s to
# validate 10,000 organizations, though, against 0.06 s for jsonschema-rs (a compiled
# implementation of the same standard), so jsonschema-rs answers "valid?" first, for the whole
# document and then for each organization, and jsonschema describes only what it refused.
# A document jsonschema-rs cannot take (a YAML date, an integer past 64 bits) goes to jsonschema
# whole. tests/test_spec_schema.py checks that the two agree on generated documents.
#
# The schema's patterns end in `$(?!\n)`: JSON Schema's regexes are ECMA-262, where `$` is the
# end of the string, but jsonschema uses Python's `re`, where `$` also matches before a final
# newline ("acme\n" would pass `^[a-z0-9_-]{1,50}$`). Not before a newline means the same in both.


@cache
def _validator() -> Any:
    return jsonschema.Draft202012Validator(load_schema(SPEC_SCHEMA))


@cache
def _gates() -> tuple[Any, Any]:
    """jsonschema-rs validators for (the whole document, one organization)."""
    schema = load_schema(SPEC_SCHEMA)
    organization = {
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "$ref": "#/$defs/organization",
    }
    return jsonschema_rs.validator_for(schema), jsonschema_rs.validator_for(organization)


def _known_valid(gate: Any, value: Any) -> bool:
    try:
        return bool(gate.is_valid(value))
    except (ValueError, TypeError, OverflowError):  # not a JSON value: jsonschema will say why
        return False


def _schema_problems(doc: LoadedDocument) -> list[Problem]:
    """jsonschema's problems; organizations jsonschema-rs finds valid are not re-validated."""
    whole, one = _gates()
    if _known_valid(whole, doc.data):
        return []
    data, keep = doc.data, None
    orgs = data.get("organizations") if isinstance(data, dict) else None
    if isinstance(orgs, list):
        keep = [i for i, org in enumerate(orgs) if not _known_valid(one, org)]
        data = {**data, "organizations": [orgs[i] for i in keep]}
    problems: list[Problem] = []
    for error in _validator().iter_errors(data):
        path: Path = tuple(error.absolute_path)
        if keep is not None and len(path) > 1 and path[0] == "organizations":
            path = ("organizations", keep[cast(int, path[1])], *path[2:])
        problems.extend(_validation_problems(doc, error, path))
    return problems


def _validation_problems(
    doc: LoadedDocument, error: ValidationError, path: Path
) -> Iterator[Problem]:
    """The problems one jsonschema error stands for, located in `doc`: one per unknown field."""
    keyword = str(error.validator)  # the schema keyword that failed (typed loosely by some stubs)
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(cast(dict[str, Any], error.schema).get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed)):
            hint = difflib.get_close_matches(key, allowed, n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else f" (allowed: {', '.join(allowed)})"
            yield doc.problem((*path, key), f"unknown field {key!r}{extra}", key=True)
        return
    if error.schema_path and "propertyNames" in error.schema_path:  # the key itself is bad
        key = str(error.instance)
        yield doc.problem((*path, key), "invalid key: " + schema_message(error), key=True)
        return
    yield doc.problem(path, schema_message(error))


def schema_message(error: ValidationError) -> str:
    validator = str(error.validator)
    schema = cast(dict[str, Any], error.schema)
    if validator == "anyOf" and all("required" in s for s in schema.get("anyOf", [])):
        keys = [s["required"][0] for s in schema["anyOf"]]
        return "needs " + " or ".join(repr(k) for k in keys)
    if validator == "required":
        return str(error.message).replace("is a required property", "is required")
    if validator == "pattern":
        what, _, rule = schema.get("description", "").rstrip(".").partition(": ")
        what = re.sub(r"^(An?|The) ", "", what) or f"value (pattern {schema['pattern']})"
        return f"{excerpt(error.instance)} is not a valid {what}" + (f" ({rule})" if rule else "")
    if validator == "maxProperties":
        count = len(cast(dict[str, Any], error.instance))
        return f"has {count} keys; at most {schema['maxProperties']} are allowed"
    if validator in ("type", "enum", "const", "maxLength", "minLength"):
        return str(error.message).replace(repr(error.instance), excerpt(error.instance), 1)
    return str(error.message)


# --- semantic checks -----------------------------------------------------------------------


def _listed_twice(doc: LoadedDocument) -> list[Problem]:
    """A connection (by name or by connection_id), a client grant (client_id and audience) or a
    discovery domain listed twice in one organization."""
    problems: list[Problem] = []
    for i, org in _dicts(_items(doc.data, "organizations")):
        seen: dict[Any, str] = {}
        for key in ("connections", "client_grants", "discovery_domains"):
            for j, item in _dicts(_items(org, key)):
                for ident, field, message in _identities(key, item):
                    path: Path = ("organizations", i, key, j, *field)
                    problems += _again(doc, seen, (key, *ident), path, message)
    return problems


def _identities(key: str, item: dict[str, Any]) -> list[tuple[tuple[Any, ...], Path, str]]:
    """How an item of `key` is told apart: each identity, the field holding it, the problem of
    a repeat."""
    if key == "client_grants":
        ident = (item.get("client_id"), item.get("audience"))
        if not all(isinstance(part, str) for part in ident):
            return []  # the schema reports it
        return [(ident, (), "client grant is listed twice")]
    if key == "discovery_domains":
        return [((str(item.get("domain")).lower(),), (), "discovery domain is listed twice")]
    return [
        ((field, item[field]), (field,), f"connection {item[field]!r} is listed twice")
        for field in ("name", "connection_id")
        if isinstance(item.get(field), str)
    ]


def _cross_file_problems(sources: Sequence[_Source]) -> list[Problem]:
    """An organization declared twice (by name or id, in one file or across files); tenants."""
    problems: list[Problem] = []
    first: dict[tuple[str, str], str] = {}
    first_domain: tuple[str, str] | None = None  # (domain, where)
    for source in sources:
        doc = source.doc
        tenant = doc.data.get("tenant") if isinstance(doc.data, dict) else None
        domain = tenant.get("domain") if isinstance(tenant, dict) else None
        if isinstance(domain, str):
            if first_domain is None:
                first_domain = (domain, str(doc.location(("tenant", "domain"))))
            elif domain.lower() != first_domain[0].lower():
                msg = (
                    f"spec files name different tenants: {domain!r} here, "
                    f"{first_domain[0]!r} at {first_domain[1]}"
                )
                problems.append(doc.problem(("tenant", "domain"), msg))
        for i, org in _dicts(_items(doc.data, "organizations")):
            for field in ("name", "id"):
                if isinstance(org.get(field), str):
                    path: Path = ("organizations", i, field)
                    msg = f"organization {field} {org[field]!r} is declared twice"
                    problems += _again(doc, first, (field, org[field]), path, msg)
    return problems


def _again(
    doc: LoadedDocument, seen: dict[Any, str], ident: Any, path: Path, message: str
) -> list[Problem]:
    """`message` with where `ident` was seen first, if it was; else where it is, remembered."""
    if ident in seen:
        return [doc.problem(path, f"{message} (first at {seen[ident]})")]
    seen[ident] = str(doc.location(path))
    return []


def _items(container: Any, key: str) -> list[Any]:
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, list) else []


def _dicts(items: list[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    return ((i, item) for i, item in enumerate(items) if isinstance(item, dict))


# --- building the Spec ---------------------------------------------------------------------


def _build(sources: Sequence[_Source]) -> Spec:
    orgs: list[OrgDecl] = []
    rules: list[ExceptionRule] = []
    unmanaged: UnmanagedPolicy = "ignore"
    unmanaged_source: Location | None = None
    domain: str | None = None
    for source in sources:
        data = source.doc.data
        policy = data.get("policy", {})
        file_unmanaged = policy.get("unmanaged_organizations", "ignore")
        if _UNMANAGED_ORDER.index(file_unmanaged) > _UNMANAGED_ORDER.index(unmanaged):
            unmanaged = file_unmanaged  # several files: the strictest policy applies
            unmanaged_source = _loc(source.doc, ("policy", "unmanaged_organizations"))
        domain = domain or data.get("tenant", {}).get("domain")
        defaults = data.get("defaults", {})
        for i, org in enumerate(data.get("organizations", [])):
            orgs.append(_org(source.doc, i, org, policy, defaults))
        rules.extend(_exception(source.doc, i, r) for i, r in enumerate(data.get("exceptions", [])))
    files = tuple(SpecFile(s.doc.file, s.sha256) for s in sources)
    return Spec(files, tuple(orgs), domain, unmanaged, unmanaged_source, tuple(rules))


def _exception(doc: LoadedDocument, index: int, rule: dict[str, Any]) -> ExceptionRule:
    kind = rule.get("kind")
    listed: list[str] | None = [kind] if isinstance(kind, str) else kind
    kinds = None if listed is None else frozenset(FindingKind(k) for k in listed)
    return ExceptionRule(
        organization=rule["organization"],
        kinds=kinds,
        path=rule.get("path"),
        reason=rule["reason"],
        expires=date.fromisoformat(rule["expires"]),
        owner=rule.get("owner"),
        location=_loc(doc, ("exceptions", index)),
    )


def _loc(doc: LoadedDocument, path: Path) -> Location:
    """Where `path` is declared: its key when it has one (a block value starts a line later)."""
    return doc.location(path, key=isinstance(path[-1], str))


def _org(
    doc: LoadedDocument,
    index: int,
    org: dict[str, Any],
    policy: Mapping[str, Any],
    defaults: Mapping[str, Any],
) -> OrgDecl:
    base: Path = ("organizations", index)
    fields: dict[str, Any] = {
        k: org[k] for k in ("display_name", "branding", "metadata", "token_quota") if k in org
    }
    locations: dict[str, Location] = {}
    for key in ("name", "id", *fields, "connections", "client_grants", "discovery_domains"):
        if key in org:
            locations[key] = _loc(doc, (*base, key))
            for sub_path in _leaves(org[key], (key,)):
                locations[".".join(sub_path)] = _loc(doc, (*base, *sub_path))
    connections: tuple[ConnectionDecl, ...] | None = None
    if "connections" in org:
        connections = tuple(
            _connection(doc, (*base, "connections", j), conn, defaults.get("connection", {}))
            for j, conn in enumerate(org["connections"])
        )
    grants: tuple[ClientGrantDecl, ...] | None = None
    if "client_grants" in org:
        grants = tuple(
            ClientGrantDecl(
                g["client_id"],
                g["audience"],
                None if "scope" not in g else tuple(g["scope"]),
                _loc(doc, (*base, "client_grants", j)),
            )
            for j, g in enumerate(org["client_grants"])
        )
    domains: tuple[DiscoveryDomainDecl, ...] | None = None
    if "discovery_domains" in org:
        domains = tuple(
            DiscoveryDomainDecl(
                d["domain"],
                d.get("status"),
                d.get("use_for_organization_discovery"),
                _loc(doc, (*base, "discovery_domains", j)),
            )
            for j, d in enumerate(org["discovery_domains"])
        )
    own = org.get("policy", {})
    # A declaration's value (--changed-from) holds its client grant policy: "exact" where it
    # declares neither grants nor domains, so that a file policy change leaves it unchanged.
    model = grants is not None or domains is not None
    grants_policy = own.get("client_grants", policy.get("client_grants", "exact"))
    return OrgDecl(
        name=org.get("name"),
        id=org.get("id"),
        fields=fields,
        connections=connections,
        connections_policy=own.get("connections", policy.get("connections", "exact")),
        location=_loc(doc, base),
        locations=locations,
        ignore=tuple(dict.fromkeys([*defaults.get("ignore", ()), *org.get("ignore", ())])),
        client_grants=grants,
        client_grants_policy=grants_policy if model else "exact",
        discovery_domains=domains,
    )


def _leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _leaves(item, (*path, key))


def _connection(
    doc: LoadedDocument, path: Path, conn: dict[str, Any], defaults: Mapping[str, bool]
) -> ConnectionDecl:
    flags: dict[str, bool] = {}
    flag_locations: dict[str, Location] = {}
    for flag in CONNECTION_FLAGS:
        if flag in conn:
            flags[flag] = conn[flag]
            flag_locations[flag] = _loc(doc, (*path, flag))
        elif flag in defaults:
            flags[flag] = defaults[flag]
            flag_locations[flag] = _loc(doc, ("defaults", "connection", flag))
    for name in CONNECTION_VIEW_FIELDS:
        if name in conn:
            flag_locations[name] = _loc(doc, (*path, name))
    return ConnectionDecl(
        name=conn.get("name"),
        connection_id=conn.get("connection_id"),
        flags=flags,
        location=_loc(doc, path),
        flag_locations=flag_locations,
        view_fields={k: conn[k] for k in CONNECTION_VIEW_FIELDS if k in conn},
    )
