"""Every body the emulator gives for the four operations validates against Auth0's OAS schemas.

The schemas come from `tests/data/auth0-oas-organizations.json` (an excerpt of Auth0's OpenAPI
file); `$ref`s are resolved with `referencing`. The OAS formats (organization-id, html-color,
...) are checked too, with the regexes the API's documentation implies.

Two deliberate choices:
* A checkpoint page without `next` (`{"organizations": [...]}`) matches *both* object branches
  of `ListOrganizationsResponseContent.oneOf` (neither has required keys), so the real API's
  own last page fails that `oneOf`. Such bodies are checked against the branch of their mode.
* The OAS has no schema for 404 bodies; they are checked against the same envelope as the
  other errors (statusCode/error/message required).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from orgdrift.emulator import EmulatorApp, EmulatorConfig, create_app
from orgdrift.models import LiveOrganization, LiveState

from .support import FakeClock, example_state, get, make_state

OAS_PATH = Path(__file__).resolve().parents[1] / "data" / "auth0-oas-organizations.json"

OAS_URI = "urn:auth0:management-api-oas"
ORGS = "/api/v2/organizations"
ACME = "org_Ac7mEq2LxT9pRz4K"

ERROR_SCHEMAS = {
    400: "BadRequestSchema",
    401: "UnauthorizedSchema",
    403: "ForbiddenSchema",
    429: "TooManyRequestsSchema",
}
NOT_FOUND_SCHEMA = {
    "type": "object",
    "required": ["statusCode", "error", "message"],
    "properties": {
        "statusCode": {"const": 404},
        "error": {"const": "Not Found"},
        "message": {"type": "string"},
    },
}
ALIASES = {
    "GetOrganizationResponseContent": "Organization",
    "GetOrganizationByNameResponseContent": "Organization",
}


def _format_checker() -> FormatChecker:
    checker = FormatChecker()
    patterns = {
        "organization-id": r"^org_[A-Za-z0-9]{16}$",
        "organization-name": r"^[a-z0-9_-]{1,50}$",
        "html-color": r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$",
        "strict-https-uri-or-null": r"^https://\S+$",
    }
    for name, pattern in patterns.items():
        compiled = re.compile(pattern)

        def check(value: object, compiled: re.Pattern[str] = compiled) -> bool:
            return not isinstance(value, str) or compiled.match(value) is not None

        checker.checks(name)(check)
    return checker


def _oas() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OAS_PATH.read_text(encoding="utf-8"))
    return loaded


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    oas = _oas()
    document = {"components": {"schemas": oas["schemas"]}}
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(OAS_URI, resource)
    return Draft202012Validator(schema, registry=registry, format_checker=_format_checker())


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"{OAS_URI}#/components/schemas/{ALIASES.get(name, name)}"}


def _assert_valid(body: Any, schema: dict[str, Any]) -> None:
    errors = sorted(_validator(schema).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def _operation(name: str) -> dict[str, Any]:
    operation: dict[str, Any] = _oas()["operations"][name]
    return operation


def _tenant() -> EmulatorApp:
    return create_app(example_state())


def _limited() -> EmulatorApp:
    clock = FakeClock()
    config = EmulatorConfig.enterprise()
    return create_app(
        example_state(),
        EmulatorConfig(global_bucket=config.global_bucket, buckets=config.buckets, clock=clock),
    )


# (operation, url, token, how many times to send it); the last answer is checked.
Case = tuple[str, str, str | None, int, Callable[[], EmulatorApp]]
CASES: dict[str, Case] = {
    "list bare": ("GET /organizations", f"{ORGS}?per_page=3", "emulator-token", 1, _tenant),
    "list totals": (
        "GET /organizations",
        f"{ORGS}?include_totals=true",
        "emulator-token",
        1,
        _tenant,
    ),
    "list checkpoint": ("GET /organizations", f"{ORGS}?take=2", "emulator-token", 1, _tenant),
    "list checkpoint last": ("GET /organizations", f"{ORGS}?take=50", "emulator-token", 1, _tenant),
    "list 400 paging": (
        "GET /organizations",
        f"{ORGS}?page=10&per_page=100",
        "emulator-token",
        1,
        _tenant,
    ),
    "list 400 query": ("GET /organizations", f"{ORGS}?q=x", "emulator-token", 1, _tenant),
    "list 401": ("GET /organizations", ORGS, "bad", 1, _tenant),
    "list 401 missing": ("GET /organizations", ORGS, None, 1, _tenant),
    "list 429": ("GET /organizations", ORGS, "emulator-token", 11, _limited),
    "id 200": ("GET /organizations/{id}", f"{ORGS}/{ACME}", "emulator-token", 1, _tenant),
    "id 404": (
        "GET /organizations/{id}",
        f"{ORGS}/org_XXXXXXXXXXXXXXXX",
        "emulator-token",
        1,
        _tenant,
    ),
    "id 400": ("GET /organizations/{id}", f"{ORGS}/{ACME}?x=1", "emulator-token", 1, _tenant),
    "id 401": ("GET /organizations/{id}", f"{ORGS}/{ACME}", "bad", 1, _tenant),
    "id 429": ("GET /organizations/{id}", f"{ORGS}/{ACME}", "emulator-token", 11, _limited),
    "name 200": (
        "GET /organizations/name/{name}",
        f"{ORGS}/name/hooli",
        "emulator-token",
        1,
        _tenant,
    ),
    "name 404": (
        "GET /organizations/name/{name}",
        f"{ORGS}/name/nobody",
        "emulator-token",
        1,
        _tenant,
    ),
    "name 400": (
        "GET /organizations/name/{name}",
        f"{ORGS}/name/{'x' * 51}",
        "emulator-token",
        1,
        _tenant,
    ),
    "name 429": (
        "GET /organizations/name/{name}",
        f"{ORGS}/name/acme",
        "emulator-token",
        21,
        _limited,
    ),
    "conns bare": (
        "GET /organizations/{id}/enabled_connections",
        f"{ORGS}/{ACME}/enabled_connections",
        "emulator-token",
        1,
        _tenant,
    ),
    "conns totals": (
        "GET /organizations/{id}/enabled_connections",
        f"{ORGS}/org_In1tech6Vb2Qm8Ts/enabled_connections?include_totals=true&per_page=1&page=1",
        "emulator-token",
        1,
        _tenant,
    ),
    "conns 404": (
        "GET /organizations/{id}/enabled_connections",
        f"{ORGS}/org_XXXXXXXXXXXXXXXX/enabled_connections?include_totals=true",
        "emulator-token",
        1,
        _tenant,
    ),
    "conns 400": (
        "GET /organizations/{id}/enabled_connections",
        f"{ORGS}/{ACME}/enabled_connections?take=5",
        "emulator-token",
        1,
        _tenant,
    ),
    "conns 401": (
        "GET /organizations/{id}/enabled_connections",
        f"{ORGS}/{ACME}/enabled_connections",
        "bad",
        1,
        _tenant,
    ),
}

SCOPE_CASES = {
    "GET /organizations": ORGS,
    "GET /organizations/{id}": f"{ORGS}/{ACME}",
    "GET /organizations/name/{name}": f"{ORGS}/name/acme",
    "GET /organizations/{id}/enabled_connections": f"{ORGS}/{ACME}/enabled_connections",
}


def _success_schema(operation: str, body: Any) -> dict[str, Any]:
    name = _operation(operation)["responses"]["200"]["schema"]
    if (
        operation == "GET /organizations"
        and isinstance(body, dict)
        and set(body) == {"organizations"}
    ):
        return _ref("ListOrganizationsPaginatedResponseContent")
    return _ref(name)


def _check(operation: str, status: int, body: Any) -> None:
    assert str(status) in _operation(operation)["responses"], f"{operation} never answers {status}"
    if status == 200:
        _assert_valid(body, _success_schema(operation, body))
    elif status == 404:
        _assert_valid(body, NOT_FOUND_SCHEMA)
    else:
        _assert_valid(body, _ref(ERROR_SCHEMAS[status]))


@pytest.mark.parametrize("case", list(CASES))
def test_bodies_validate_against_the_oas(case: str) -> None:
    operation, url, token, times, factory = CASES[case]
    app = factory()
    response = None
    for _ in range(times):
        response = get(app, url, token=token)
    assert response is not None
    _check(operation, response.status_code, response.json())


@pytest.mark.parametrize("operation", list(SCOPE_CASES))
def test_403_bodies_validate_against_the_oas(operation: str) -> None:
    app = create_app(example_state(), EmulatorConfig(tokens={"none": frozenset()}))
    response = get(app, SCOPE_CASES[operation], token="none")
    assert response.status_code == 403
    _check(operation, 403, response.json())


def test_every_example_and_generated_organization_validates() -> None:
    bodies = get(_tenant(), f"{ORGS}?per_page=100").json()
    bodies += get(create_app(make_state(30)), f"{ORGS}?per_page=100").json()
    _assert_valid(bodies, {"type": "array", "items": _ref("Organization")})


def test_checkpoint_pages_with_next_satisfy_the_full_one_of() -> None:
    body = get(_tenant(), f"{ORGS}?take=2").json()
    assert "next" in body
    _assert_valid(body, _ref("ListOrganizationsResponseContent"))


def test_the_format_checker_rejects_bad_values() -> None:
    bad = LiveState(
        organizations=(
            LiveOrganization(
                {"id": "org_1", "name": "Bad Name", "branding": {"colors": {"primary": "blue"}}},
                None,
            ),
        )
    )
    body = get(create_app(bad), ORGS).json()
    errors = list(_validator({"type": "array", "items": _ref("Organization")}).iter_errors(body))
    assert len(errors) >= 3  # id format, name format, colors (format + missing page_background)
