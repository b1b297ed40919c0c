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
class Param:
    description: str
    type: str = "string"  # "integer", "boolean" or "string", as the messages name it
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    pattern: str | None = None


class QueryError(Exception):
    """A query the Management API refuses, with its message."""


_PAGE = "Page index of the results to return. First page is 0."
_PER_PAGE = "Number of results per page. Defaults to 50."
_TOTALS = (
    "Return results inside an object that contains the total result count (true) or as a "
    "direct array of results (false, default)."
)

_OFFSET: Mapping[str, Param] = {
    "page": Param(_PAGE, "integer", minimum=0),
    "per_page": Param(_PER_PAGE, "integer", minimum=1, maximum=100),
    "include_totals": Param(_TOTALS, "boolean"),
}
_CHECKPOINT: Mapping[str, Param] = {
    "from": Param("Optional Id from which to start selection."),
    "take": Param(_PER_PAGE, "integer", minimum=1, maximum=100),
}

ORGANIZATIONS_QUERY: Mapping[str, Param] = {
    **_OFFSET,
    "page": Param(_PAGE, "integer", minimum=0, maximum=1000),
    **_CHECKPOINT,
    "sort": Param(
        "Field to sort by. Use field:order where order is 1 for ascending and -1 for "
        "descending. Defaults to created_at:1.",
        max_length=15,
        pattern=r"^((name)|(display_name)|(created_at)):(1|-1)$",
    ),
    # Sent by auth0-python v6; no effect here.
    "include_client_association_for": Param("Client ID to include client associations for."),
}

ENABLED_CONNECTIONS_QUERY: Mapping[str, Param] = _OFFSET

NO_QUERY: Mapping[str, Param] = {}

# GET /api/v2/logs: checkpoint mode (`from`, `take`) or search mode (the rest).
LOGS_QUERY: Mapping[str, Param] = {
    "from": Param("Log Event Id from which to start selection from."),
    "take": Param(
        "Number of entries to retrieve when using the from parameter.",
        "integer",
        minimum=1,
        maximum=100,
    ),
    "page": Param(_PAGE, "integer", minimum=0),
    "per_page": Param(
        "Number of results per page. Paging is disabled if parameter not sent.",
        "integer",
        minimum=0,
        maximum=100,
    ),
    "sort": Param(
        "Field to use for sorting appended with ':1' for ascending and ':-1' for descending.",
        pattern=r"^(date|log_id):(1|-1)$",
    ),
    "fields": Param("Comma-separated list of fields to include or exclude."),
    "include_fields": Param(
        "Whether specified fields are to be included (true) or excluded.", "boolean"
    ),
    "include_totals": Param(_TOTALS, "boolean"),
    "q": Param("Query in Lucene query string syntax."),
    "search": Param("Retrieves logs that match the specified search criteria."),
}

_INT_RE = re.compile(r"^-?\d+$")


def _parse_one(name: str, param: Param, raw: str) -> QueryValue:
    def refused(problem: str) -> QueryError:
        where = f"on property {name} ({param.description})"
        return QueryError(f"Query validation error: '{problem}' {where}.")

    if (param.type, raw) in (("boolean", "true"), ("boolean", "false")):
        return raw == "true"
    if param.type == "boolean" or (param.type == "integer" and not _INT_RE.match(raw)):
        raise refused(f"Expected type {param.type} but found type string")
    if param.type == "integer":
        value = int(raw)
        if param.minimum is not None and value < param.minimum:
            raise refused(f"Value {value} is less than minimum {param.minimum}")
        if param.maximum is not None and value > param.maximum:
            raise refused(f"Value {value} is greater than maximum {param.maximum}")
        return value
    if param.max_length is not None and len(raw) > param.max_length:
        raise refused(f"String is too long ({len(raw)} chars), maximum {param.max_length}")
    if param.pattern is not None and not re.match(param.pattern, raw):
        raise refused(f"String does not match pattern {param.pattern}: {raw}")
    return raw


def parse_query(
    pairs: Sequence[tuple[str, str]], spec: Mapping[str, Param]
) -> dict[str, QueryValue]:
    """Validated, typed parameters (last value of a repeated one wins); raises `QueryError`
    for the first one refused."""
    unknown = list(dict.fromkeys(name for name, _ in pairs if name not in spec))
    if unknown:
        raise QueryError(
            f"Query validation error: 'Additional properties not allowed: {','.join(unknown)}'."
        )
    return {name: _parse_one(name, spec[name], raw) for name, raw in dict(pairs).items()}


# --- the whole organization model (OAS excerpt in tests/data) -----------------------------------

ORGANIZATION_CONNECTIONS_QUERY: Mapping[str, Param] = {
    **_OFFSET,
    "is_enabled": Param("Filter connections by enabled status.", "boolean"),
}

CLIENT_GRANTS_QUERY: Mapping[str, Param] = {
    "audience": Param("Optional filter on audience of the client grant."),
    "client_id": Param("Optional filter on client_id of the client grant."),
    "grant_ids": Param("Optional filter on the ID of the client grant."),
    **_OFFSET,
}

TENANT_CLIENT_GRANTS_QUERY: Mapping[str, Param] = {
    "audience": Param("Optional filter on audience."),
    "client_id": Param("Optional filter on client_id."),
    **_OFFSET,
    **_CHECKPOINT,
}

DISCOVERY_DOMAINS_QUERY: Mapping[str, Param] = _CHECKPOINT
