"""Issue 7: any bytes given to the spec loader or the live-state loader give success or a typed
usage error (exit 2) with a message: never another exception, never a hang.
Set ORGDRIFT_SOAK=1 for a long run."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
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
