"""Spec files -> `Spec`: safe YAML, `${VAR}` interpolation, JSON Schema, semantic checks.

Every problem of every file is collected and raised together as one `SpecError`, each located at
`file:line:column` with its JSON path.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path as FsPath
from typing import Any, cast

import jsonschema
from jsonschema.exceptions import ValidationError

from orgdrift.errors import Problem, SpecError
from orgdrift.models import (
    CONNECTION_FLAGS,
    ConnectionDecl,
    ConnectionsPolicy,
    ExceptionRule,
    FindingKind,
    Location,
    OrgDecl,
    Spec,
    SpecFile,
    UnmanagedPolicy,
)
from orgdrift.resources import SPEC_SCHEMA, load_schema
from orgdrift.yamlload import LoadedDocument, Path, json_path, load_yaml, read_text

_VAR = re.compile(r"\$\$|\$\{([^}]*)\}")
_ALLOWED_VAR = re.compile(r"^(AUTH0_DOMAIN|ORGDRIFT_[A-Z0-9_]+)$")
_UNMANAGED_ORDER: tuple[UnmanagedPolicy, ...] = ("ignore", "report", "fail")


@dataclass(frozen=True, slots=True)
class _Source:
    doc: LoadedDocument
    sha256: str


def load_specs(paths: Sequence[str], env: Mapping[str, str]) -> Spec:
    """Read, check and merge spec files. Raises SpecError listing every problem."""
    problems: list[Problem] = []
    sources: list[_Source] = []
    for path in paths:
        try:
            source, found = _load_one(path, env)
        except SpecError as exc:  # unreadable, not UTF-8, not YAML: nothing more to check
            problems.extend(exc.problems)
            continue
        sources.append(source)
        problems.extend(found)
    problems.extend(_cross_file_problems(sources))
    if problems:
        raise SpecError(sorted(problems, key=lambda p: (p.file, p.line, p.column, p.message)))
    return _build(sources)


def load_spec_bytes(label: str, raw: bytes, env: Mapping[str, str]) -> Spec:
    """One spec from bytes already read (the demo's packaged spec), labelled `label`."""
    return load_spec_sources([(label, raw)], env)


def load_spec_sources(files: Sequence[tuple[str, bytes]], env: Mapping[str, str]) -> Spec:
    """A spec from files already read, each `(label, bytes)` (a git revision, the demo)."""
    sources: list[_Source] = []
    problems: list[Problem] = []
    for label, raw in files:
        source, found = _parse(label, raw, env)
        sources.append(source)
        problems.extend(found)
    problems.extend(_cross_file_problems(sources))
    if problems:
        raise SpecError(problems)
    return _build(sources)


def _load_one(path: str, env: Mapping[str, str]) -> tuple[_Source, list[Problem]]:
    try:
        raw = FsPath(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SpecError([Problem(path, 0, 0, "", f"cannot read file: {reason}")]) from None
    return _parse(path, raw, env)


def _parse(path: str, raw: bytes, env: Mapping[str, str]) -> tuple[_Source, list[Problem]]:
    doc = load_yaml(path, read_text(path, raw))
    _dates_as_text(doc)
    problems = _interpolate(doc, env)
    unresolved = {p.path for p in problems}  # a placeholder left in place is not also a bad value
    problems.extend(p for p in _schema_problems(doc) if p.path not in unresolved)
    problems.extend(_file_problems(doc))
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
            path: Path = ("exceptions", i, "expires")
            mark = doc.mark_for(path)
            message = f"{text!r} is not a date (YYYY-MM-DD)"
            problems.append(Problem(doc.file, mark.line, mark.column, json_path(path), message))
    return problems


def _dates_as_text(doc: LoadedDocument) -> None:
    """An unquoted `expires: 2027-01-31` is a YAML date; the schema sees its ISO text."""
    for _, rule in _dicts(_items(doc.data, "exceptions")):
        if isinstance(rule.get("expires"), date):
            rule["expires"] = rule["expires"].isoformat()


# --- ${VAR} interpolation ------------------------------------------------------------------


def _interpolate(doc: LoadedDocument, env: Mapping[str, str]) -> list[Problem]:
    """Replace `${VAR}` in string values in place; `$$` is a literal `$`."""
    problems: list[Problem] = []

    def substitute(text: str, path: Path) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group(1)
            problem = _variable_problem(name, env)
            if problem:
                mark = doc.mark_for(path)
                problems.append(Problem(doc.file, mark.line, mark.column, json_path(path), problem))
                return match.group(0)
            return env[name]

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


def _variable_problem(name: str, env: Mapping[str, str]) -> str | None:
    if not _ALLOWED_VAR.match(name):
        return (
            f"${{{name}}} cannot be interpolated: only AUTH0_DOMAIN and ORGDRIFT_* variables "
            "may appear in a spec"
        )
    if name not in env:
        return f"environment variable {name} is not set"
    return None


# --- JSON Schema ---------------------------------------------------------------------------


@cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` with JSON Schema's (ECMA-262) meaning of a final `$`: the very end of the
    string. Python's `$` also matches before a final newline, so "acme\\n" would pass
    `^[a-z0-9_-]{1,50}$`; the schema's patterns end in `$` only in that sense."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_SpecValidator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern}
)


@cache
def _validator() -> Any:
    schema = load_schema(SPEC_SCHEMA)
    return _SpecValidator(schema)


def _schema_problems(doc: LoadedDocument) -> list[Problem]:
    """jsonschema's problems; organizations the compiled check passes are not re-validated."""
    checks = _fast_checks()
    if checks is not None and checks[0](doc.data):
        return []
    data, keep = doc.data, None
    orgs = data.get("organizations") if isinstance(data, dict) else None
    if checks is not None and isinstance(orgs, list):
        keep = [i for i, org in enumerate(orgs) if not checks[1](org)]
        data = {**data, "organizations": [orgs[i] for i in keep]}
    problems: list[Problem] = []
    for error in _validator().iter_errors(data):
        path: Path = tuple(error.absolute_path)
        if keep is not None and len(path) > 1 and path[0] == "organizations":
            path = ("organizations", keep[cast(int, path[1])], *path[2:])
        problems.extend(_describe(doc, error, path))
    return problems


# A boolean check equivalent to jsonschema's `is_valid` for the keywords this schema uses, about
# 40 times faster: validating 10,000 organizations with jsonschema takes some 10 s. It only says
# "valid"; every problem is still described by jsonschema itself.

_Check = Callable[[Any], bool]
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description", "default"})
_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "object": dict,
    "array": list,
    "boolean": bool,
    "null": type(None),
}


class _Unsupported(Exception):
    """The schema uses a keyword the compiled check does not implement."""


@cache
def _fast_checks() -> tuple[_Check, _Check] | None:
    """(whole document, one organization), or None to always use jsonschema."""
    schema = load_schema(SPEC_SCHEMA)
    try:
        refs: dict[str, _Check] = {}
        return _compile(schema, schema, refs), _compile_ref("#/$defs/organization", schema, refs)
    except _Unsupported:  # pragma: no cover - only if the schema grows a new keyword
        return None


def _compile_ref(ref: str, root: dict[str, Any], refs: dict[str, _Check]) -> _Check:
    if ref not in refs:
        if not ref.startswith("#/"):
            raise _Unsupported(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        refs[ref] = lambda value: False  # placeholder while compiling a recursive reference
        compiled = _compile(target, root, refs)
        refs[ref] = compiled
    return lambda value: refs[ref](value)


def _compile(schema: Any, root: dict[str, Any], refs: dict[str, _Check]) -> _Check:
    if not isinstance(schema, dict):
        raise _Unsupported(repr(schema))
    checks: list[_Check] = []
    for keyword, arg in schema.items():
        if keyword not in _ANNOTATIONS and keyword != "properties":
            checks.append(_keyword(keyword, arg, schema, root, refs))
    if "properties" in schema and "additionalProperties" not in schema:
        checks.append(_properties(schema["properties"], True, root, refs))
    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    return lambda value: all(check(value) for check in checks)


def _keyword(
    keyword: str, arg: Any, schema: dict[str, Any], root: dict[str, Any], refs: dict[str, _Check]
) -> _Check:
    if keyword == "type":
        kinds = tuple(_TYPES[t] for t in ([arg] if isinstance(arg, str) else arg))
        return lambda value: isinstance(value, kinds)
    if keyword in ("const", "enum"):
        options = [arg] if keyword == "const" else list(arg)
        if not all(isinstance(o, str | int) and not isinstance(o, bool) for o in options):
            raise _Unsupported(keyword)  # jsonschema's equality treats bools apart; keep it simple
        return lambda value: not isinstance(value, bool) and value in options
    if keyword == "pattern":
        search = ecma_regex(arg).search
        return lambda value: not isinstance(value, str) or search(value) is not None
    if keyword == "minLength":
        return lambda value: not isinstance(value, str) or len(value) >= arg
    if keyword == "maxLength":
        return lambda value: not isinstance(value, str) or len(value) <= arg
    if keyword == "maxProperties":
        return lambda value: not isinstance(value, dict) or len(value) <= arg
    if keyword == "required":
        return lambda value: not isinstance(value, dict) or all(k in value for k in arg)
    if keyword == "anyOf":
        options_ = [_compile(sub, root, refs) for sub in arg]
        return lambda value: any(check(value) for check in options_)
    if keyword == "items":
        item = _compile(arg, root, refs)
        return lambda value: not isinstance(value, list) or all(item(v) for v in value)
    if keyword == "propertyNames":
        name = _compile(arg, root, refs)
        return lambda value: not isinstance(value, dict) or all(name(k) for k in value)
    if keyword == "additionalProperties":
        return _properties(schema.get("properties", {}), arg, root, refs)
    if keyword == "$ref":
        return _compile_ref(arg, root, refs)
    raise _Unsupported(keyword)


def _properties(
    properties: dict[str, Any], additional: Any, root: dict[str, Any], refs: dict[str, _Check]
) -> _Check:
    known = {key: _compile(sub, root, refs) for key, sub in properties.items()}
    if additional is True:
        additional = {}
    extra = None if additional is False else _compile(additional, root, refs)

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for key, item in value.items():
            sub = known.get(key)
            if sub is None:
                if extra is None or not extra(item):
                    return False
            elif not sub(item):
                return False
        return True

    return check


def _describe(doc: LoadedDocument, error: ValidationError, path: Path) -> Iterator[Problem]:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(cast(dict[str, Any], error.schema).get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed)):
            mark = doc.mark_for((*path, key), key=True)
            hint = difflib.get_close_matches(key, allowed, n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else f" (allowed: {', '.join(allowed)})"
            msg = f"unknown field {key!r}{extra}"
            yield Problem(doc.file, mark.line, mark.column, json_path((*path, key)), msg)
        return
    if error.schema_path and "propertyNames" in error.schema_path:  # the key itself is bad
        key = str(error.instance)
        mark = doc.mark_for((*path, key), key=True)
        msg = "invalid key: " + _message(error)
        yield Problem(doc.file, mark.line, mark.column, json_path((*path, key)), msg)
        return
    mark = doc.mark_for(path)
    yield Problem(doc.file, mark.line, mark.column, json_path(path), _message(error))


def _message(error: ValidationError) -> str:
    validator = error.validator
    schema = cast(dict[str, Any], error.schema)
    if validator == "anyOf" and all("required" in s for s in schema.get("anyOf", [])):
        keys = [s["required"][0] for s in schema["anyOf"]]
        return "needs " + " or ".join(repr(k) for k in keys)
    if validator == "required":
        return str(error.message).replace("is a required property", "is required")
    if validator == "pattern":
        what, _, rule = schema.get("description", "").rstrip(".").partition(": ")
        what = re.sub(r"^(An?|The) ", "", what) or f"value (pattern {schema['pattern']})"
        return f"{_short(error.instance)} is not a valid {what}" + (f" ({rule})" if rule else "")
    if validator == "maxProperties":
        count = len(cast(dict[str, Any], error.instance))
        return f"has {count} keys; at most {schema['maxProperties']} are allowed"
    if validator in ("type", "enum", "const", "maxLength", "minLength"):
        return str(error.message).replace(repr(error.instance), _short(error.instance), 1)
    return str(error.message)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- semantic checks -----------------------------------------------------------------------


def _file_problems(doc: LoadedDocument) -> list[Problem]:
    """Checks within one valid document: connections listed twice in an organization."""
    problems: list[Problem] = []
    for i, org in _dicts(_items(doc.data, "organizations")):
        seen: dict[tuple[str, str], int] = {}
        for j, conn in _dicts(_items(org, "connections")):
            for field in ("name", "connection_id"):
                if not isinstance(conn.get(field), str):
                    continue
                ident = (field, conn[field])
                if ident in seen:
                    path: Path = ("organizations", i, "connections", j, field)
                    mark = doc.mark_for(path)
                    msg = f"connection {conn[field]!r} is listed twice (first at item {seen[ident]})"
                    problems.append(Problem(doc.file, mark.line, mark.column, json_path(path), msg))
                else:
                    seen[ident] = j
    return problems


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
            mark = doc.mark_for(("tenant", "domain"))
            if first_domain is None:
                first_domain = (domain, f"{doc.file}:{mark.line}")
            elif domain.lower() != first_domain[0].lower():
                msg = (
                    f"spec files name different tenants: {domain!r} here, "
                    f"{first_domain[0]!r} at {first_domain[1]}"
                )
                problems.append(Problem(doc.file, mark.line, mark.column, "$.tenant.domain", msg))
        for i, org in _dicts(_items(doc.data, "organizations")):
            for field in ("name", "id"):
                if not isinstance(org.get(field), str):
                    continue
                ident = (field, org[field])
                path: Path = ("organizations", i, field)
                mark = doc.mark_for(path)
                where = f"{doc.file}:{mark.line}"
                if ident in first:
                    msg = f"organization {field} {org[field]!r} is declared twice (first at {first[ident]})"
                    problems.append(Problem(doc.file, mark.line, mark.column, json_path(path), msg))
                else:
                    first[ident] = where
    return problems


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
    domain: str | None = None
    for source in sources:
        data = source.doc.data
        policy = data.get("policy", {})
        file_unmanaged = policy.get("unmanaged_organizations", "ignore")
        if _UNMANAGED_ORDER.index(file_unmanaged) > _UNMANAGED_ORDER.index(unmanaged):
            unmanaged = file_unmanaged  # several files: the strictest policy applies
        domain = domain or data.get("tenant", {}).get("domain")
        conn_policy: ConnectionsPolicy = policy.get("connections", "exact")
        defaults = data.get("defaults", {})
        for i, org in enumerate(data.get("organizations", [])):
            orgs.append(_org(source.doc, i, org, conn_policy, defaults))
        rules.extend(_exception(source.doc, i, rule) for i, rule in enumerate(data.get("exceptions", [])))
    files = tuple(SpecFile(s.doc.file, s.sha256) for s in sources)
    return Spec(files, tuple(orgs), domain, unmanaged, tuple(rules))


def _exception(doc: LoadedDocument, index: int, rule: dict[str, Any]) -> ExceptionRule:
    kind = rule.get("kind")
    kinds = None if kind is None else frozenset(FindingKind(k) for k in ([kind] if isinstance(kind, str) else kind))
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
    mark = doc.mark_for(path, key=isinstance(path[-1], str))
    return Location(doc.file, mark.line, mark.column)


def _org(
    doc: LoadedDocument,
    index: int,
    org: dict[str, Any],
    policy: ConnectionsPolicy,
    defaults: Mapping[str, Any],
) -> OrgDecl:
    base: Path = ("organizations", index)
    fields: dict[str, Any] = {k: org[k] for k in ("display_name", "branding", "metadata") if k in org}
    locations: dict[str, Location] = {}
    for key in ("name", "id", *fields):
        if key in org:
            locations[key] = _loc(doc, (*base, key))
            for sub_path, _ in _leaves(org[key], (key,)):
                locations[".".join(map(str, sub_path))] = _loc(doc, (*base, *sub_path))
    connections: tuple[ConnectionDecl, ...] | None = None
    if "connections" in org:
        locations["connections"] = _loc(doc, (*base, "connections"))
        connections = tuple(
            _connection(doc, (*base, "connections", j), conn, defaults.get("connection", {}))
            for j, conn in enumerate(org["connections"])
        )
    org_policy: ConnectionsPolicy = org.get("policy", {}).get("connections", policy)
    return OrgDecl(
        name=org.get("name"),
        id=org.get("id"),
        fields=fields,
        connections=connections,
        connections_policy=org_policy,
        location=_loc(doc, base),
        locations=locations,
        ignore=tuple(dict.fromkeys([*defaults.get("ignore", ()), *org.get("ignore", ())])),
    )


def _leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), item
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
    return ConnectionDecl(
        name=conn.get("name"),
        connection_id=conn.get("connection_id"),
        flags=flags,
        location=_loc(doc, path),
        flag_locations=flag_locations,
    )
