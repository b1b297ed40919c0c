"""The JSON files orgdrift reads back (snapshots, and reports: history runs and baselines):
bytes -> a document valid against its shipped JSON Schema.

Every problem names the file and the JSON path, and the line and column of a syntax error.
Nesting is bounded before anything recurses over the document: the decoder's own recursion limit
and any depth past the caller's bound are the same located problem (exit 2).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from orgdrift.errors import InputError, Problem
from orgdrift.inputs import read_input
from orgdrift.resources import load_schema
from orgdrift.sansio import HostileBodyError, depth_within, loads

MAX_BYTES = 512 * 1024 * 1024


def problem(file: str, path: str, message: str) -> Problem:
    return Problem(file, 0, 0, path, message)


def read_bytes(file: str) -> bytes:
    """The regular file's bytes, at most MAX_BYTES (`inputs.read_input`: a FIFO or a device is
    refused before it is read); InputError naming the file when it cannot be read."""
    try:
        return read_input(file, MAX_BYTES)
    except OSError as exc:
        raise InputError([problem(file, "", f"cannot read file: {exc.strerror}")]) from None


def parse(file: str, raw: bytes, max_depth: int) -> Any:
    """UTF-8 (a BOM is allowed) JSON nested at most `max_depth` containers deep."""
    too_deep = InputError([problem(file, "", f"JSON nested more than {max_depth} levels deep")])
    try:
        document = loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError([problem(file, "", f"not valid UTF-8 at byte {exc.start}")]) from None
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc.msg}"
        raise InputError([Problem(file, exc.lineno, exc.colno, "", msg)]) from None
    except RecursionError:  # the decoder's own limit, far past any bound given here
        raise too_deep from None
    except HostileBodyError as exc:  # a number no reader agrees on (sansio.loads)
        raise InputError([problem(file, "", f"not valid JSON: {exc.message}")]) from None
    if not depth_within(document, max_depth):
        raise too_deep
    return document


@cache
def _validators(schema: str) -> tuple[Any, Any]:
    """(jsonschema-rs: is it valid?, jsonschema: what is wrong) for a shipped schema.

    jsonschema-rs answers in a fraction of the time for a 10,000-organization snapshot;
    jsonschema, the authority, describes only what it refused."""
    import jsonschema  # here, not at the top: `orgdrift --version` and the parser need neither
    import jsonschema_rs

    document = load_schema(schema)
    return jsonschema_rs.validator_for(document), jsonschema.Draft202012Validator(document)


def schema_problems(file: str, document: Any, schema: str) -> list[Problem]:
    """Every problem of `document` against the shipped `schema`, at its JSON path."""
    from orgdrift.spec import schema_message  # (and yaml with it) only when a file is read
    from orgdrift.yamlload import json_path

    fast, full = _validators(schema)
    try:
        if fast.is_valid(document):
            return []
    except (ValueError, TypeError, OverflowError):  # not a JSON value: jsonschema says why
        pass
    found = [
        problem(file, json_path(tuple(error.absolute_path)), _shortened(schema_message(error)))
        for error in full.iter_errors(document)
    ]
    return sorted(found, key=lambda p: p.path)


def _shortened(message: str, limit: int = 200) -> str:
    """A message quoting a whole organization (`... is not valid under any of the given
    schemas`) cut to a line."""
    return message if len(message) <= limit else message[: limit - 3] + "..."
