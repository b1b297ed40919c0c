"""Query-string validation with the Management API's z-schema style messages.

Each endpoint declares its parameters (from the OAS); anything else is refused with
`Query validation error: 'Additional properties not allowed: X'.`, as the Management API does.
Range and type messages follow the z-schema wording the API uses elsewhere (inferred,
not confirmed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

QueryValue = int | bool | str


@dataclass(frozen=True, slots=True)
class IntParam:
    description: str
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, slots=True)
class BoolParam:
    description: str


@dataclass(frozen=True, slots=True)
class StrParam:
    description: str
    max_length: int | None = None
    pattern: str | None = None


Param = IntParam | BoolParam | StrParam


@dataclass(frozen=True, slots=True)
class QueryError:
    message: str


_PAGE = "Page index of the results to return. First page is 0."
_PER_PAGE = "Number of results per page. Defaults to 50."
_TOTALS = (
    "Return results inside an object that contains the total result count (true) or as a "
    "direct array of results (false, default)."
)

_OFFSET: Mapping[str, Param] = {
    "page": IntParam(_PAGE, minimum=0),
    "per_page": IntParam(_PER_PAGE, minimum=1, maximum=100),
    "include_totals": BoolParam(_TOTALS),
}
_CHECKPOINT: Mapping[str, Param] = {
    "from": StrParam("Optional Id from which to start selection."),
    "take": IntParam(_PER_PAGE, minimum=1, maximum=100),
}

ORGANIZATIONS_QUERY: Mapping[str, Param] = {
    **_OFFSET,
    "page": IntParam(_PAGE, minimum=0, maximum=1000),
    **_CHECKPOINT,
    "sort": StrParam(
        "Field to sort by. Use field:order where order is 1 for ascending and -1 for "
        "descending. Defaults to created_at:1.",
        max_length=15,
        pattern=r"^((name)|(display_name)|(created_at)):(1|-1)$",
    ),
    # Sent by auth0-python v6; no effect here.
    "include_client_association_for": StrParam("Client ID to include client associations for."),
}

ENABLED_CONNECTIONS_QUERY: Mapping[str, Param] = _OFFSET

NO_QUERY: Mapping[str, Param] = {}

# GET /api/v2/logs: checkpoint mode (`from`, `take`) or search mode (the rest).
LOGS_QUERY: Mapping[str, Param] = {
    "from": StrParam("Log Event Id from which to start selection from."),
    "take": IntParam(
        "Number of entries to retrieve when using the from parameter.", minimum=1, maximum=100
    ),
    "page": IntParam(_PAGE, minimum=0),
    "per_page": IntParam(
        "Number of results per page. Paging is disabled if parameter not sent.",
        minimum=0,
        maximum=100,
    ),
    "sort": StrParam(
        "Field to use for sorting appended with ':1' for ascending and ':-1' for descending.",
        pattern=r"^(date|log_id):(1|-1)$",
    ),
    "fields": StrParam("Comma-separated list of fields to include or exclude."),
    "include_fields": BoolParam("Whether specified fields are to be included (true) or excluded."),
    "include_totals": BoolParam(_TOTALS),
    "q": StrParam("Query in Lucene query string syntax."),
    "search": StrParam("Retrieves logs that match the specified search criteria."),
}

_INT_RE = re.compile(r"^-?\d+$")


def _on(name: str, param: Param, problem: str) -> QueryError:
    return QueryError(
        f"Query validation error: '{problem}' on property {name} ({param.description})."
    )


def _parse_one(name: str, param: Param, raw: str) -> QueryValue | QueryError:
    if isinstance(param, BoolParam):
        if raw in ("true", "false"):
            return raw == "true"
        return _on(name, param, "Expected type boolean but found type string")
    if isinstance(param, IntParam):
        if not _INT_RE.match(raw):
            return _on(name, param, "Expected type integer but found type string")
        value = int(raw)
        if param.minimum is not None and value < param.minimum:
            return _on(name, param, f"Value {value} is less than minimum {param.minimum}")
        if param.maximum is not None and value > param.maximum:
            return _on(name, param, f"Value {value} is greater than maximum {param.maximum}")
        return value
    if param.max_length is not None and len(raw) > param.max_length:
        return _on(
            name, param, f"String is too long ({len(raw)} chars), maximum {param.max_length}"
        )
    if param.pattern is not None and not re.match(param.pattern, raw):
        return _on(name, param, f"String does not match pattern {param.pattern}: {raw}")
    return raw


def parse_query(
    pairs: Sequence[tuple[str, str]], spec: Mapping[str, Param]
) -> dict[str, QueryValue] | QueryError:
    """Validated, typed parameters (last value of a repeated one wins), or the first error."""
    unknown = list(dict.fromkeys(name for name, _ in pairs if name not in spec))
    if unknown:
        return QueryError(
            f"Query validation error: 'Additional properties not allowed: {','.join(unknown)}'."
        )
    values: dict[str, QueryValue] = {}
    for name, raw in dict(pairs).items():
        parsed = _parse_one(name, spec[name], raw)
        if isinstance(parsed, QueryError):
            return parsed
        values[name] = parsed
    return values


# --- the whole organization model (OAS excerpt in tests/data) -----------------------------------

ORGANIZATION_CONNECTIONS_QUERY: Mapping[str, Param] = {
    **_OFFSET,
    "is_enabled": BoolParam("Filter connections by enabled status."),
}

CLIENT_GRANTS_QUERY: Mapping[str, Param] = {
    "audience": StrParam("Optional filter on audience of the client grant."),
    "client_id": StrParam("Optional filter on client_id of the client grant."),
    "grant_ids": StrParam("Optional filter on the ID of the client grant."),
    **_OFFSET,
}

TENANT_CLIENT_GRANTS_QUERY: Mapping[str, Param] = {
    "audience": StrParam("Optional filter on audience."),
    "client_id": StrParam("Optional filter on client_id."),
    **_OFFSET,
    **_CHECKPOINT,
}

DISCOVERY_DOMAINS_QUERY: Mapping[str, Param] = _CHECKPOINT
