"""The write operations of the Management API on the parts of an organization orgdrift reads,
as Auth0's OpenAPI file describes them (paths, request bodies, scopes, statuses): each checks
its body, changes the tenant state and says what to log; the app adds authentication, scopes,
rate limits and the `sapi` log entry.

Pure apart from the tenant state: `WRITES` is the table of operations, `Written` what a
successful one answers, `Refused` an error answer (Auth0's envelope).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from orgdrift.emulator.tenant import FLAGS, TenantOrg, TenantState, enabled_view
from orgdrift.models import RawObject

NOT_FOUND_ORG = "No organization found by that id or name"


@dataclass(frozen=True, slots=True)
class Written:
    status: int  # 200, 201, 202 or 204
    payload: RawObject  # the response body ({} for 204)
    description: str  # the log entry's description


@dataclass
class Refused(Exception):
    """An error answer: status, message, errorCode."""

    status: int
    message: str
    error_code: str | None = None


# --- request bodies (the OAS schemas, `$ref`s inlined) ----------------------------------------

_BOOL = {"type": "boolean"}
_STR = {"type": "string"}
_FLAGS = dict.fromkeys(FLAGS, _BOOL)
_COLOR = {"type": "string", "pattern": r"^#(?:[0-9a-fA-F]{3}){1,2}$"}
_COUNT = {"type": "integer", "minimum": 1, "maximum": 2147483647}
_LEVEL = {"type": "string", "enum": ["none", "readonly", "limited", "full"]}
_STATUS = {"type": "string", "enum": ["pending", "verified"]}
_METADATA = {
    "type": "object",
    "additionalProperties": {"type": ["string", "null"], "maxLength": 255},
    "maxProperties": 25,
}


def _object(properties: Mapping[str, Any], *required: str, **more: Any) -> RawObject:
    schema = {"type": "object", "additionalProperties": False, "properties": dict(properties)}
    if required:
        schema["required"] = list(required)
    return {**schema, **more}


def _string(min_length: int, max_length: int, pattern: str | None = None) -> RawObject:
    schema = {"type": "string", "minLength": min_length, "maxLength": max_length}
    return schema if pattern is None else {**schema, "pattern": pattern}


def _nullable(schema: RawObject) -> RawObject:
    """`schema`, or null."""
    nullable = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


_NAME = _string(1, 50, "^[a-z0-9_-]+$")
_DISPLAY_NAME = _string(1, 255)
_CONNECTION_NAME = _string(1, 50, "^[^\u0000]*$")
_COLORS = _object({"primary": _COLOR, "page_background": _COLOR}, "primary", "page_background")
_BRANDING = _object({"logo_url": _STR, "colors": _COLORS})
_CREDENTIALS = _object({"enforce": _BOOL, "per_day": _COUNT, "per_hour": _COUNT}, minProperties=1)
_QUOTA = _object({"client_credentials": _CREDENTIALS}, "client_credentials")
_CONNECTION = _object({"connection_id": _STR, **_FLAGS}, "connection_id")
_DISCOVERY = {"status": _STATUS, "use_for_organization_discovery": _BOOL}

BODIES: Mapping[str, RawObject] = {
    "CreateOrganizationRequestContent": _object(
        {
            "name": _NAME,
            "display_name": _DISPLAY_NAME,
            "branding": _BRANDING,
            "metadata": _METADATA,
            "enabled_connections": {"type": "array", "items": _CONNECTION},
            "token_quota": _QUOTA,
        },
        "name",
    ),
    "UpdateOrganizationRequestContent": _object(
        {
            "display_name": _DISPLAY_NAME,
            "name": _NAME,
            "branding": _BRANDING,
            "metadata": _METADATA,
            "token_quota": _nullable(_QUOTA),
        }
    ),
    "AddOrganizationConnectionRequestContent": _CONNECTION,
    "UpdateOrganizationConnectionRequestContent": _object(_FLAGS),
    "CreateOrganizationAllConnectionRequestContent": _object(
        {
            "organization_connection_name": _CONNECTION_NAME,
            **_FLAGS,
            "organization_access_level": _LEVEL,
            "is_enabled": _BOOL,
            "connection_id": _string(1, 50),
        },
        "connection_id",
    ),
    "UpdateOrganizationAllConnectionRequestContent": _object(
        {
            "organization_connection_name": _nullable(_CONNECTION_NAME),
            **_FLAGS,
            "organization_access_level": _nullable(_LEVEL),
            "is_enabled": _nullable(_BOOL),
        }
    ),
    "AssociateOrganizationClientGrantRequestContent": _object({"grant_id": _STR}, "grant_id"),
    "CreateOrganizationDiscoveryDomainRequestContent": _object(
        {"domain": _string(3, 255), **_DISCOVERY}, "domain"
    ),
    "UpdateOrganizationDiscoveryDomainRequestContent": _object(_DISCOVERY),
    "UpdateClientGrantRequestContent": _object(
        {
            "scope": _nullable({"type": "array", "items": _string(1, 280)}),
            "organization_usage": _nullable(
                {"type": "string", "enum": ["deny", "allow", "require"]}
            ),
            "allow_any_organization": _nullable(_BOOL),
            "authorization_details_types": {"type": "array", "items": _string(1, 255)},
            "allow_all_scopes": _nullable(_BOOL),
        },
        minProperties=1,
    ),
}
_VALIDATORS = {name: Draft202012Validator(schema) for name, schema in BODIES.items()}


def check_body(schema: str | None, body: RawObject) -> None:
    """Refuse (400 invalid_body) a body its schema does not allow; no schema: no body read."""
    if schema is None:
        return
    error = next(iter(sorted(_VALIDATORS[schema].iter_errors(body), key=str)), None)
    if error is not None:
        raise Refused(400, _payload_message(error), "invalid_body")


def _payload_message(error: ValidationError) -> str:
    """Auth0's wording: `Payload validation error: '<what>' on property <path>.`"""
    keyword = str(error.validator)  # the schema keyword that failed (typed loosely by some stubs)
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = set(schema.get("properties", {}))
        extra = ",".join(sorted(set(error.instance) - allowed))
        what = f"Additional properties not allowed: {extra}"
    elif keyword == "required":
        what = f"Missing required property: {str(error.message).split(chr(39))[1]}"
    else:
        what = str(error.message)
    where = ".".join(str(p) for p in error.absolute_path)
    return f"Payload validation error: '{what}'" + (f" on property {where}." if where else ".")


# --- the operations ---------------------------------------------------------------------------

Params = Mapping[str, str]
Operation = Callable[[TenantState, Params, RawObject], Written]


@dataclass(frozen=True, slots=True)
class WriteOperation:
    method: str
    path: str  # under /api/v2, Starlette path parameters
    group: str  # the stats and scope key
    scopes: tuple[str, ...]  # any one of them
    body: str | None  # its schema in BODIES; None: no body read
    run: Operation
    early_access: bool = False  # the Early Access connections endpoint


_ORG = "/organizations/{id}"
# What each kind of write works on: the collection's path, the parameter naming one of its
# items, the resource its scopes name.
_KINDS = {
    "organization": ("/organizations", "id", "organizations"),
    "enabled_connection": (f"{_ORG}/enabled_connections", "cid", "organization_connections"),
    "organization_connection": (f"{_ORG}/connections", "cid", "organization_connections"),
    "organization_client_grant": (
        f"{_ORG}/client-grants",
        "grant_id",
        "organization_client_grants",
    ),
    "discovery_domain": (
        f"{_ORG}/discovery-domains",
        "domain_id",
        "organization_discovery_domains",
    ),
    "client_grant": ("/client-grants", "grant_id", "client_grants"),
    "connection": ("/connections", "cid", "connections"),
}
_VERBS = {"POST": "create", "PATCH": "update", "DELETE": "delete"}
_WRITES: list[WriteOperation] = []


def _write(method: str, kind: str, body: str | None = None) -> Callable[[Operation], Operation]:
    """Registers an operation: a POST to the collection of `kind`, or a PATCH or DELETE of one of
    its items, counted as `<kind>_<verb>`, needing the scope `<verb>:<resource>`; `body` names
    its request schema in BODIES."""
    collection, item, resource = _KINDS[kind]
    verb = _VERBS[method]
    path = collection if method == "POST" else f"{collection}/{{{item}}}"
    scopes = (f"{verb}:{resource}",)

    def register(run: Operation) -> Operation:
        early_access = kind == "organization_connection"
        _WRITES.append(
            WriteOperation(method, path, f"{kind}_{verb}", scopes, body, run, early_access)
        )
        return run

    return register


def find_org(tenant: TenantState, params: Params) -> TenantOrg:
    org = tenant.by_id(params["id"])
    if org is None:
        raise Refused(404, NOT_FOUND_ORG)
    return org


def _connection_item(tenant: TenantState, data: RawObject) -> RawObject:
    """A new association: the connection as the tenant has it, enabled, access level `none`."""
    conn_id = str(data["connection_id"])
    if conn_id not in tenant.connections:
        raise Refused(404, "No connection found by that id")
    item: RawObject = {"connection_id": conn_id, "is_enabled": True}
    item["organization_access_level"] = "none"
    item.update({k: v for k, v in data.items() if k != "connection_id" and v is not None})
    item["connection"] = dict(tenant.connections[conn_id])
    return item


def _unique_name(tenant: TenantState, name: str, org: TenantOrg | None = None) -> None:
    other = tenant.by_name(name)
    if other is not None and other is not org:
        raise Refused(409, "An organization with this name already exists.")


@_write("POST", "organization", "CreateOrganizationRequestContent")
def create_organization(tenant: TenantState, params: Params, data: RawObject) -> Written:
    _unique_name(tenant, str(data["name"]))
    items = [_connection_item(tenant, e) for e in data.get("enabled_connections") or ()]
    body = {"id": "org_" + secrets.token_hex(8)}
    body.update({k: v for k, v in data.items() if k != "enabled_connections"})
    created = tenant.add(body, items)
    return Written(201, created.body, "Create an Organization")


@_write("PATCH", "organization", "UpdateOrganizationRequestContent")
def update_organization(tenant: TenantState, params: Params, data: RawObject) -> Written:
    org = find_org(tenant, params)
    if "name" in data:
        _unique_name(tenant, str(data["name"]), org)
    body = {**org.body, **data}  # each field whole: token_quota null removes it
    if isinstance(body.get("metadata"), dict):  # metadata replaced whole; a null value: no key
        body["metadata"] = {k: v for k, v in body["metadata"].items() if v is not None}
    tenant.set_body(org, body)
    return Written(200, org.body, "Update an Organization")


@_write("DELETE", "organization")
def delete_organization(tenant: TenantState, params: Params, data: RawObject) -> Written:
    tenant.remove(find_org(tenant, params))
    return Written(204, {}, "Delete an Organization")


@_write("POST", "enabled_connection", "AddOrganizationConnectionRequestContent")
def add_enabled_connection(tenant: TenantState, params: Params, data: RawObject) -> Written:
    org = find_org(tenant, params)
    item = _connection_item(tenant, data)
    if org.association(item["connection_id"]) is not None:
        raise Refused(409, "The connection is already enabled for the organization.")
    org.associate(item)
    return Written(201, enabled_view(item), "Add connections to an Organization")


def find_association(
    tenant: TenantState, params: Params, *, enabled_only: bool
) -> tuple[TenantOrg, RawObject]:
    """The organization and its association with the connection `cid`, or 404."""
    org = find_org(tenant, params)
    item = org.association(params["cid"])
    if item is None or (enabled_only and item.get("is_enabled", True) is False):
        raise Refused(404, "No connection found for that organization")
    return org, item


@_write("PATCH", "enabled_connection", "UpdateOrganizationConnectionRequestContent")
def update_enabled_connection(tenant: TenantState, params: Params, data: RawObject) -> Written:
    item = find_association(tenant, params, enabled_only=True)[1]
    item.update(data)
    return Written(200, enabled_view(item), "Modify an Organizations Connection")


@_write("DELETE", "enabled_connection")
def remove_enabled_connection(tenant: TenantState, params: Params, data: RawObject) -> Written:
    org, current = find_association(tenant, params, enabled_only=True)
    org.associations.remove(current)
    return Written(204, {}, "Delete connections from an Organization")


@_write("POST", "organization_connection", "CreateOrganizationAllConnectionRequestContent")
def add_organization_connection(tenant: TenantState, params: Params, data: RawObject) -> Written:
    org = find_org(tenant, params)
    item = _connection_item(tenant, data)
    if org.association(item["connection_id"]) is not None:
        raise Refused(409, "The organization connection already exists.")
    org.associate(item)
    return Written(201, item, "Add a connection to an Organization")


@_write("PATCH", "organization_connection", "UpdateOrganizationAllConnectionRequestContent")
def update_organization_connection(tenant: TenantState, params: Params, data: RawObject) -> Written:
    item = find_association(tenant, params, enabled_only=False)[1]
    item.update(data)
    # null resets: an unnamed association, the default access level, enabled
    if item.get("organization_connection_name") is None:
        item.pop("organization_connection_name", None)
    if item.get("organization_access_level") is None:
        item["organization_access_level"] = "none"
    if item.get("is_enabled") is None:
        item["is_enabled"] = True
    return Written(200, item, "Update a connection of an Organization")


@_write("DELETE", "organization_connection")
def remove_organization_connection(tenant: TenantState, params: Params, data: RawObject) -> Written:
    org, current = find_association(tenant, params, enabled_only=False)
    org.associations.remove(current)
    return Written(204, {}, "Delete a connection from an Organization")


@_write("POST", "organization_client_grant", "AssociateOrganizationClientGrantRequestContent")
def associate_client_grant(tenant: TenantState, params: Params, data: RawObject) -> Written:
    org = find_org(tenant, params)
    grant_id = str(data["grant_id"])
    if grant_id not in tenant.client_grants:
        raise Refused(404, "The grant does not exist.")
    if grant_id in org.grant_ids:
        raise Refused(409, "The client grant has already been added to this organization.")
    org.grant_ids.append(grant_id)
    shown = next(g for g in tenant.client_grants_of(org) if g["id"] == grant_id)
    return Written(201, shown, "Associate a client grant with an Organization")


@_write("DELETE", "organization_client_grant")
def dissociate_client_grant(tenant: TenantState, params: Params, data: RawObject) -> Written:
    org = find_org(tenant, params)
    if params["grant_id"] not in org.grant_ids:
        raise Refused(404, "The client grant is not associated with this organization.")
    org.grant_ids = [g for g in org.grant_ids if g != params["grant_id"]]
    return Written(204, {}, "Remove a client grant from an Organization")


@_write("POST", "discovery_domain", "CreateOrganizationDiscoveryDomainRequestContent")
def create_discovery_domain(tenant: TenantState, params: Params, data: RawObject) -> Written:
    org = find_org(tenant, params)
    domain = str(data["domain"]).lower()
    if any(d.get("domain") == domain for d in org.discovery_domains):
        raise Refused(
            409,
            "An organization discovery domain with this domain is already registered to this organization.",
        )
    item: RawObject = {
        "id": "dd_" + secrets.token_hex(8),
        "domain": domain,
        "status": data.get("status", "pending"),
        "verification_txt": "auth0-domain-verification=" + secrets.token_hex(16),
        "verification_host": f"_auth0-challenge.{domain}",
    }
    if "use_for_organization_discovery" in data:
        item["use_for_organization_discovery"] = data["use_for_organization_discovery"]
    org.discovery_domains.append(item)
    return Written(201, item, "Create a discovery domain of an Organization")


def find_domain(tenant: TenantState, params: Params) -> tuple[TenantOrg, RawObject]:
    """The organization and its discovery domain `domain_id`, or 404."""
    org = find_org(tenant, params)
    found = next((d for d in org.discovery_domains if d.get("id") == params["domain_id"]), None)
    if found is None:
        raise Refused(404, "Discovery domain not found.")
    return org, found


@_write("PATCH", "discovery_domain", "UpdateOrganizationDiscoveryDomainRequestContent")
def update_discovery_domain(tenant: TenantState, params: Params, data: RawObject) -> Written:
    item = find_domain(tenant, params)[1]
    item.update(data)
    return Written(200, item, "Update a discovery domain of an Organization")


@_write("DELETE", "discovery_domain")
def delete_discovery_domain(tenant: TenantState, params: Params, data: RawObject) -> Written:
    org, current = find_domain(tenant, params)
    org.discovery_domains.remove(current)
    return Written(204, {}, "Delete a discovery domain of an Organization")


def _grant(tenant: TenantState, params: Params) -> RawObject:
    grant = tenant.client_grants.get(params["grant_id"])
    if grant is None:
        raise Refused(404, "The client grant does not exist.", "inexistent_client_grant")
    return grant


@_write("PATCH", "client_grant", "UpdateClientGrantRequestContent")
def update_client_grant(tenant: TenantState, params: Params, data: RawObject) -> Written:
    grant = _grant(tenant, params)
    updated = {**grant, **{k: v for k, v in data.items() if v is not None}}
    if data.get("scope", ()) is None:
        updated["scope"] = []
    tenant.client_grants[params["grant_id"]] = updated
    return Written(200, updated, "Update client grant")


@_write("DELETE", "client_grant")
def delete_client_grant(tenant: TenantState, params: Params, data: RawObject) -> Written:
    _grant(tenant, params)
    tenant.delete_client_grant(params["grant_id"])
    return Written(204, {}, "Delete client grant")


@_write("DELETE", "connection")
def delete_connection(tenant: TenantState, params: Params, data: RawObject) -> Written:
    if params["cid"] not in tenant.connections:
        raise Refused(404, "The connection does not exist", "inexistent_connection")
    tenant.delete_connection(params["cid"])
    return Written(204, {}, "Delete a connection")


WRITES: tuple[WriteOperation, ...] = tuple(_WRITES)
WRITE_SCOPES: frozenset[str] = frozenset(s for w in WRITES for s in w.scopes)
