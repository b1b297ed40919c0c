"""Issue 7: any bytes given to the spec loader or the live-state loader give success or a typed
usage error (exit 2) with a message: never another exception, never a hang.
Set ORGDRIFT_SOAK=1 for a long run."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from orgdrift.errors import ExitCode, InputError, UsageError
from orgdrift.snapshot import parse_snapshot
from orgdrift.spec import load_specs

SOAK = os.environ.get("ORGDRIFT_SOAK") == "1"
FUZZ = settings(
    max_examples=3000 if SOAK else 150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=20)
)
KEYS = st.sampled_from(
    [
        "version",
        "organizations",
        "name",
        "id",
        "display_name",
        "connections",
        "policy",
        "defaults",
        "metadata",
        "branding",
        "tenant",
        "domain",
        "enabled_connections",
        "connection",
        "connection_id",
        "assign_membership_on_login",
        "unmanaged_organizations",
        "complete",
        "taken_at",
        "colors",
    ]
) | st.text(max_size=8)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)
YAMLISH = st.lists(
    st.sampled_from(
        [
            "version: 1\n",
            "organizations:\n",
            "  - name: a\n",
            "    connections: [{name: x}]\n",
            "&a [*a, *a]\n",
            "!!python/object:os.system {}\n",
            "${AUTH0_TOKEN}\n",
            "<<: *a\n",
            "\t- \n",
            "---\n",
            "key: [\n",
            "\xff\n",
            "? {a: 1}\n",
        ]
    ),
    max_size=8,
).map("".join)


def _spec(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "orgs.yaml"
        path.write_bytes(raw)
        try:
            load_specs([str(path)], {"REGION": "eu"})
        except UsageError as exc:
            assert exc.exit_code is ExitCode.USAGE and exc.message.strip()


def _snapshot(raw: bytes) -> None:
    try:
        parse_snapshot("live.json", raw)
    except UsageError as exc:
        assert exc.exit_code is ExitCode.USAGE and exc.message.strip()


@FUZZ
@given(st.binary(max_size=400))
def test_spec_loader_any_bytes(raw: bytes) -> None:
    _spec(raw)


@FUZZ
@given(YAMLISH)
def test_spec_loader_yamlish_text(text: str) -> None:
    _spec(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(DOCS)
def test_spec_loader_structured(doc: object) -> None:
    _spec(json.dumps(doc).encode())


@FUZZ
@given(st.binary(max_size=400))
def test_snapshot_loader_any_bytes(raw: bytes) -> None:
    _snapshot(raw)


@FUZZ
@given(DOCS)
def test_snapshot_loader_structured(doc: object) -> None:
    _snapshot(json.dumps(doc).encode())


def test_billion_laughs_is_bounded() -> None:
    """10**9 values by aliases: the document is refused, at the alias that passes the budget."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "orgs.yaml"
        path.write_text("\n".join(lines) + "\nversion: 1\norganizations: *a8\n")
        with pytest.raises(InputError) as caught:
            load_specs([str(path)], {})
    (problem,) = caught.value.problems
    assert problem.message == "aliases expand into too many values (alias bomb?)"
    assert problem.path.startswith("$.a") and 1 <= problem.line <= 9


# --- one value of a whole-model spec changed: validate and check never crash -----------------

ROOT = Path(__file__).resolve().parent.parent
FULL_MODEL = ROOT / "examples" / "full-model.yaml"
FULL_MODEL_TENANT = ROOT / "examples" / "full-model-tenant.json"


def _whole_model_spec() -> dict[str, object]:
    """examples/full-model.yaml with defaults, ignore rules and an exception, so every kind of
    value the schema knows is there to be changed."""
    import yaml

    spec = yaml.safe_load(FULL_MODEL.read_text(encoding="utf-8"))
    spec["tenant"] = {"domain": "full-model.example.auth0.com"}
    spec["defaults"] = {"connection": {"show_as_button": True}, "ignore": ["metadata.crm"]}
    spec["organizations"][0]["ignore"] = ["branding.logo_url"]
    spec["organizations"][1]["metadata"] = {"tier": "gold"}
    spec["exceptions"] = [
        {
            "organization": "acme",
            "kind": "connection_not_allowed",
            "path": "connections.google-oauth2",
            "reason": "SSO migration, SEC-142",
            "expires": "2099-01-31",
            "owner": "@platform",
        }
    ]
    return spec


def _paths(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every place in `value` that holds a value (the root excluded)."""
    found: list[tuple[object, ...]] = [path] if path else []
    if isinstance(value, dict | list):
        for key, child in value.items() if isinstance(value, dict) else enumerate(value):
            found += _paths(child, (*path, key))
    return found


def _with_one_change(
    document: object, path: tuple[object, ...], replacement: object, drop: bool
) -> object:
    """A copy of `document` with the value at `path` replaced (or its key or item dropped)."""
    import copy

    changed = copy.deepcopy(document)
    parent: object = changed
    for key in path[:-1]:
        parent = parent[key]  # type: ignore[index]
    if drop:
        del parent[path[-1]]  # type: ignore[attr-defined]
    else:
        parent[path[-1]] = replacement  # type: ignore[index]
    return changed


WHOLE_MODEL = _whole_model_spec()
WHOLE_MODEL_PATHS = _paths(WHOLE_MODEL)
PLAUSIBLE = st.sampled_from(
    [
        "acme", "globex", "Acme", "ACME.COM", "acme.com", "acme-saml", "google-oauth2",
        "cli_AcmePortal0000001", "https://api.acme.example/", "read:orders", ["read:orders"], [],
        {}, True, False, None, 0, 1000, "none", "readonly", "limited", "full", "verified",
        "pending", "exact", "allowlist", "fail", "warn", "ignore", "2099-12-31", "2027-02-30",
        "", "x" * 300, "${MISSING}", "org_0000000000000001", "con_Unknown", "connections",
        "connection_not_allowed", "client_grant_missing", "field_changed",
    ]
)  # fmt: skip
"""Values a spec's fields take (and near misses): most changed specs stay valid, so the check
runs on them."""
REPLACEMENTS = st.one_of(
    PLAUSIBLE,
    PLAUSIBLE,
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(KEYS, SCALARS, max_size=3),
)


@FUZZ
@given(st.sampled_from(WHOLE_MODEL_PATHS), REPLACEMENTS, st.booleans())
def test_one_changed_value_of_a_whole_model_spec_is_valid_or_a_located_problem(
    path: tuple[object, ...], replacement: object, drop: bool
) -> None:
    """Any one value of a spec declaring the whole model replaced by any JSON value (or its key
    dropped): `validate` exits 0 or 2 with a located problem, and a spec still valid is
    checked against the example tenant (exit 0, 1 or 3; 2 for another tenant), never an
    internal error (4). It found a client grant whose client_id was a list: exit 4,
    unhashable type."""
    from orgdrift import pipeline

    document = _with_one_change(WHOLE_MODEL, path, replacement, drop)
    with tempfile.TemporaryDirectory() as directory:
        spec = Path(directory) / "orgs.yaml"
        spec.write_text(json.dumps(document), encoding="utf-8")
        valid = pipeline.run_validate(pipeline.ValidateOptions(specs=(str(spec),), env={}))
        event("invalid" if valid.failure is not None else "valid, then checked")
        if valid.failure is not None:
            assert valid.exit_code is ExitCode.USAGE and valid.failure.problems, valid.failure
            return
        checked = pipeline.run_check(
            pipeline.CheckOptions(specs=(str(spec),), env={}, snapshot=str(FULL_MODEL_TENANT))
        )
    event(f"check exit {int(checked.exit_code)}")
    # 2 only for what a valid spec can still be refused for: a tenant.domain not the snapshot's.
    if checked.exit_code is ExitCode.USAGE:
        assert checked.failure is not None and "tenant" in checked.failure.message, checked
    else:
        assert checked.exit_code in (ExitCode.IN_SYNC, ExitCode.DRIFT, ExitCode.INCOMPLETE)


WHOLE_TENANT = json.loads(FULL_MODEL_TENANT.read_text(encoding="utf-8"))
WHOLE_TENANT_PATHS = _paths(WHOLE_TENANT)


@FUZZ
@given(st.sampled_from(WHOLE_TENANT_PATHS), REPLACEMENTS, st.booleans())
def test_one_changed_value_of_a_whole_model_snapshot_is_checked_or_refused(
    path: tuple[object, ...], replacement: object, drop: bool
) -> None:
    """The same for the live state: any one value of examples/full-model-tenant.json changed
    (or dropped), checked against examples/full-model.yaml: the snapshot refused with located
    problems (2), or a verdict (0, 1) or an incomplete read (3); never an internal error."""
    from orgdrift import pipeline

    document = _with_one_change(WHOLE_TENANT, path, replacement, drop)
    with tempfile.TemporaryDirectory() as directory:
        live = Path(directory) / "live.json"
        live.write_text(json.dumps(document), encoding="utf-8")
        checked = pipeline.run_check(
            pipeline.CheckOptions(specs=(str(FULL_MODEL),), env={}, snapshot=str(live))
        )
    event(f"check exit {int(checked.exit_code)}")
    if checked.exit_code is ExitCode.USAGE:
        assert checked.failure is not None and checked.failure.message, checked
    else:
        assert checked.exit_code in (ExitCode.IN_SYNC, ExitCode.DRIFT, ExitCode.INCOMPLETE)
