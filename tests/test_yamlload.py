"""Safe YAML loading: refused constructs, limits, encodings, YAML 1.1 scalars, and marks."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orgdrift import yamlload
from orgdrift.errors import InputError, Location, Problem
from orgdrift.yamlload import json_path, load_yaml, read_text


def refusal(text: str) -> tuple[int, int, str, str]:
    with pytest.raises(InputError) as caught:
        load_yaml("f.yaml", text)
    (problem,) = caught.value.problems
    assert problem.file == "f.yaml"
    return problem.line, problem.column, problem.path, problem.message


def billion_laughs(levels: int, width: int) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


REFUSED: dict[str, tuple[str, tuple[int, int, str, str]]] = {
    "python object/apply": (
        'version: !!python/object/apply:os.system ["touch PWNED"]\n',
        (
            1,
            10,
            "$.version",
            "tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed",
        ),
    ),
    "python name": (
        "x: !!python/name:os.system\n",
        (1, 4, "$.x", "tag 'tag:yaml.org,2002:python/name:os.system' is not allowed"),
    ),
    "python tuple": (
        "x: !!python/tuple [1, 2]\n",
        (1, 4, "$.x", "tag 'tag:yaml.org,2002:python/tuple' is not allowed"),
    ),
    "custom scalar tag": ("x: !env HOME\n", (1, 4, "$.x", "tag '!env' is not allowed")),
    "custom mapping tag": ("x: !Ref {a: 1}\n", (1, 4, "$.x", "tag '!Ref' is not allowed")),
    "binary": (
        "x: !!binary aGVsbG8=\n",
        (1, 4, "$.x", "tag 'tag:yaml.org,2002:binary' is not allowed"),
    ),
    "set": ("x: !!set {a, b}\n", (1, 4, "$.x", "tag 'tag:yaml.org,2002:set' is not allowed")),
    "omap": ("x: !!omap [a: 1]\n", (1, 4, "$.x", "tag 'tag:yaml.org,2002:omap' is not allowed")),
    "duplicate key": ("a: 1\nb: 2\na: 3\n", (3, 1, "$.a", "duplicate key 'a'")),
    "nested duplicate key": (
        "a:\n  b: 1\n  b: 2\n",
        (3, 3, "$.a.b", "duplicate key 'b'"),
    ),
    "boolean key": ("yes: 1\n", (1, 1, "$", "mapping key 'yes' must be a string (quote it)")),
    "integer key": ("a:\n  1: x\n", (2, 3, "$.a", "mapping key '1' must be a string (quote it)")),
    "null key": ("~: x\n", (1, 1, "$", "mapping key '~' must be a string (quote it)")),
    "collection key": (
        "? [a]\n: x\n",
        (1, 3, "$", "a mapping key must be a string, not a collection"),
    ),
    "recursive alias": ("a: &a [1, *a]\n", (1, 4, "$.a[1]", "recursive alias")),  # at the anchor
    "recursive merge": ("a: &a {b: 1, <<: *a}\n", (1, 4, "$.a", "recursive alias")),
    "merge of a scalar": ("<<: 1\n", (1, 5, "$", "a merge key (<<) must name a mapping")),
    "undefined alias": (
        "a: *nope\n",
        (1, 4, "", "YAML syntax error: found undefined alias 'nope'"),
    ),
    "multiple documents": (
        "a: 1\n---\nb: 2\n",
        (
            2,
            1,
            "",
            "YAML syntax error: expected a single document in the stream, but found another document",
        ),
    ),
    "empty": ("", (1, 1, "", "the file is empty: expected a YAML mapping")),
    "only comments": (
        "# nothing\n\n# here\n",
        (1, 1, "", "the file is empty: expected a YAML mapping"),
    ),
    "invalid timestamp": (
        "a: 2024-02-30\n",
        (1, 4, "$.a", "invalid timestamp: day is out of range for month"),
    ),
    "nested too deep (flow)": (
        "a: " + "[" * 70 + "]" * 70 + "\n",
        (1, 68, "$.a" + "[0]" * 64, "values are nested more than 64 levels deep"),
    ),
    "two merge keys": (
        "one: &o {a: 1}\ntwo: &t {a: 2, b: 2}\nm: {<<: *o, <<: *t}\n",
        (3, 13, "$.m['<<']", "duplicate key '<<'"),
    ),
    "two merge keys (block)": (
        "one: &o {a: 1}\ntwo: &t {a: 2, b: 2}\nm:\n  <<: *o\n  c: 3\n  <<: *t\n",
        (6, 3, "$.m['<<']", "duplicate key '<<'"),
    ),
    "nested too deep (flow, past libyaml's own limit)": (
        "a: " + "[" * 2000 + "]" * 2000 + "\n",
        (1, 68, "$.a" + "[0]" * 64, "values are nested more than 64 levels deep"),
    ),
    "nested too deep (block, past libyaml's own limit)": (
        "".join("  " * i + f"k{i}:\n" for i in range(1500)) + "  " * 1500 + "v\n",
        (
            66,
            131,
            json_path(tuple(f"k{i}" for i in range(65))),
            "values are nested more than 64 levels deep",
        ),
    ),
    "nested too deep (block)": (
        "".join("  " * i + f"k{i}:\n" for i in range(70)),
        (
            66,
            131,
            json_path(tuple(f"k{i}" for i in range(65))),
            "values are nested more than 64 levels deep",
        ),
    ),
}


PARSERS = {"default": yamlload._Parser, "pure-python": yamlload._PyParser}


@pytest.mark.parametrize("parser", PARSERS.values(), ids=PARSERS.keys())
@pytest.mark.parametrize(("text", "expected"), REFUSED.values(), ids=REFUSED.keys())
def test_refused(
    text: str, expected: tuple[int, int, str, str], parser: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same problem at the same place whichever parser reads the text (libyaml where PyYAML
    # was built with it, the pure-Python one otherwise, whatever the version of either).
    monkeypatch.setattr(yamlload, "_Parser", parser)
    assert refusal(text) == expected


SYNTAX_ERRORS: dict[str, tuple[str, int, int, str]] = {
    "tab indentation": ("a:\n\tb: 1\n", 2, 1, "while scanning for the next token"),
    "unclosed flow": ("a: [1, 2\n", 2, 1, "while parsing a flow sequence"),
    "bad indentation": ("a:\n  b: 1\n c: 2\n", 3, 2, "while parsing a block mapping"),
    "unclosed quote": ('a: "x\n', 2, 1, "while scanning a quoted scalar"),
}


@pytest.mark.parametrize(
    ("text", "line", "column", "context"), SYNTAX_ERRORS.values(), ids=SYNTAX_ERRORS.keys()
)
def test_syntax_errors_are_located(text: str, line: int, column: int, context: str) -> None:
    # The wording after the context comes from libyaml (or PyYAML's pure-Python parser).
    found_line, found_column, path, message = refusal(text)
    assert (found_line, found_column, path) == (line, column, "")
    assert message.startswith(f"YAML syntax error: {context}, ")


def test_python_tag_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(InputError):
        load_yaml("f.yaml", f'x: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(InputError):
        load_yaml(
            "f.yaml",
            f'x: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ["{marker}"]]\n',
        )
    assert not marker.exists()


def test_billion_laughs_is_refused_within_budget() -> None:
    # 9 levels of 9 aliases expand to 9**9 (387 million) values; the budget stops at 100,000.
    text = billion_laughs(levels=9, width=9)
    line, column, path, message = refusal(text)
    assert message == "aliases expand into too many values (alias bomb?)"
    assert path.startswith("$.a")
    assert 1 <= line <= 9
    assert column > 1


def test_merge_of_empty_mappings_costs_what_it_builds() -> None:
    # Values are built once per anchor and merged, never re-expanded: nine levels of ten merged
    # aliases cost some 200 values, not 10**9 walks (the node-tree loader had to refuse this).
    lines = ["a0: &a0 {}"]
    lines += [f"a{i}: &a{i} {{<<: [" + ", ".join([f"*a{i - 1}"] * 10) + "]}" for i in range(1, 10)]
    assert load_yaml("f.yaml", "\n".join(lines)).data["a9"] == {}


def test_alias_bomb_through_merges_is_refused() -> None:
    # Each level holds ten copies of the one before under a merged key: 10**9 values.
    lines = ["a0: &a0 {k: [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]}"]
    lines += [
        f"a{i}: &a{i} {{<<: *a{i - 1}, k{i}: [" + ", ".join([f"*a{i - 1}"] * 10) + "]}"
        for i in range(1, 10)
    ]
    assert refusal("\n".join(lines))[3] == "aliases expand into too many values (alias bomb?)"


def test_modest_alias_use_is_fine() -> None:
    doc = load_yaml("f.yaml", billion_laughs(levels=3, width=10))
    assert len(doc.data["a2"]) == 10
    assert doc.data["a2"][0] == ["lol"] * 10 * 0 + [["lol"] * 10] * 10
    assert doc.data["a2"][0] is not doc.data["a2"][1]  # expanded copies, safe to mutate


@pytest.mark.parametrize("depth", [100_000, 1_000_000])
def test_extreme_nesting_is_an_error_not_a_crash(depth: int) -> None:
    # libyaml's C composer overflows the C stack (SIGSEGV) somewhere near 50,000 levels; its
    # parser has no recursion, and the builder stops at the 65th level.
    line, column, path, message = refusal("a: " + "[" * depth + "]" * depth)
    assert (line, column, path) == (1, 68, "$.a" + "[0]" * 64)
    assert message == "values are nested more than 64 levels deep"


def test_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlload, "MAX_BYTES", 10)
    with pytest.raises(InputError) as caught:
        read_text("f.yaml", b"version: 1\n")
    assert [p.message for p in caught.value.problems] == ["file is larger than 10 bytes"]


ENCODINGS: dict[str, tuple[bytes, tuple[int, int, str] | str]] = {
    "latin-1 byte on line 3": (b"a: 1\nb: 2\nc: caf\xe9\n", (3, 7, "not valid UTF-8 (byte 0xe9)")),
    "first byte": (b"\xff\xfea", (1, 1, "not valid UTF-8 (byte 0xff)")),
    "UTF-8 BOM accepted": (b"\xef\xbb\xbfa: 1\n", "a: 1\n"),
    "UTF-8 accepted": ("a: café\n".encode(), "a: café\n"),
}


@pytest.mark.parametrize(("raw", "expected"), ENCODINGS.values(), ids=ENCODINGS.keys())
def test_encoding(raw: bytes, expected: tuple[int, int, str] | str) -> None:
    if isinstance(expected, str):
        assert read_text("f.yaml", raw) == expected
        return
    with pytest.raises(InputError) as caught:
        read_text("f.yaml", raw)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.message) == expected


@pytest.mark.parametrize("text", ["[1, 2]\n", "hello\n", "42\n"], ids=["list", "string", "int"])
def test_non_mapping_documents_load_and_are_left_to_the_schema(text: str) -> None:
    assert not isinstance(load_yaml("f.yaml", text).data, dict)


# PyYAML's safe loader (YAML 1.1) gives these values; orgdrift must mean the same thing.
SCALARS: dict[str, tuple[str, Any]] = {
    "yes": ("yes", True),
    "On": ("On", True),
    "off": ("off", False),
    "no": ("no", False),
    "y stays a string": ("y", "y"),
    "~": ("~", None),
    "empty": ("", None),
    "null": ("null", None),
    "0o17 is a string in YAML 1.1": ("0o17", "0o17"),
    "017 is octal": ("017", 15),
    "0x1f": ("0x1f", 31),
    "1_000": ("1_000", 1000),
    "sexagesimal": ("1:30", 90),
    "float": ("1.5", 1.5),
    "1e3 is a string (no dot)": ("1e3", "1e3"),
    ".inf": (".inf", float("inf")),
    "date": ("2024-01-31", datetime.date(2024, 1, 31)),
    "quoted yes": ('"yes"', "yes"),
    "quoted number": ("'017'", "017"),
    "explicit str tag": ("!!str 017", "017"),
    "explicit int tag": ("!!int '7'", 7),
    "hash inside a word": ("a#b", "a#b"),
    "folded": (">-\n  a\n  b", "a b"),
}


@pytest.mark.parametrize(("scalar", "expected"), SCALARS.values(), ids=SCALARS.keys())
def test_yaml_1_1_scalars_keep_pyyaml_meaning(scalar: str, expected: Any) -> None:
    value = load_yaml("f.yaml", f"v: {scalar}\n").data["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_merge_keys() -> None:
    text = (
        "base: &base {x: 1, y: 2}\n"
        "more: &more {y: 3, z: 4}\n"
        "one:\n  <<: *base\n  x: 10\n"
        "two:\n  x: 20\n  <<: [*more, *base]\n"
    )
    doc = load_yaml("f.yaml", text)
    assert doc.data["one"] == {"x": 10, "y": 2}
    assert doc.data["two"] == {"x": 20, "y": 3, "z": 4}
    # An explicit key wins, and so does its mark, wherever the merge key stands.
    assert doc.location(("one", "x")) == Location("f.yaml", 5, 6)
    assert doc.location(("two", "x")) == Location("f.yaml", 7, 6)
    assert doc.location(("one", "y")) == Location(
        "f.yaml", 1, 23
    )  # merged: where the value is written
    assert doc.location(("two", "y")) == Location("f.yaml", 2, 17)


def test_marks_of_values_and_keys() -> None:
    text = "version: 1\norganizations:\n  - name: acme\n    metadata: {tier: gold}\n"
    doc = load_yaml("f.yaml", text)
    assert doc.location(("organizations", 0, "name")) == Location("f.yaml", 3, 11)
    assert doc.location(("organizations", 0, "name"), key=True) == Location("f.yaml", 3, 5)
    assert doc.location(("organizations", 0, "metadata", "tier")) == Location("f.yaml", 4, 22)
    assert doc.location(("organizations", 0, "metadata", "tier"), key=True) == Location(
        "f.yaml", 4, 16
    )
    assert doc.location(("organizations", 0, "nope"), key=True) == Location("f.yaml", 3, 5)
    assert doc.location(("nope",)) == Location("f.yaml", 1, 1)
    assert doc.problem(("organizations", 0, "nope"), "m", key=True) == Problem(
        "f.yaml", 3, 5, "$.organizations[0].nope", "m"
    )


JSON_PATHS: dict[str, tuple[tuple[str | int, ...], str]] = {
    "root": ((), "$"),
    "keys and indexes": (("organizations", 0, "name"), "$.organizations[0].name"),
    "non-identifier key": (("metadata", "a-b"), "$.metadata['a-b']"),
    "empty key": (("metadata", ""), "$.metadata['']"),
    "$schema": (("$schema",), "$['$schema']"),
}


@pytest.mark.parametrize(("path", "expected"), JSON_PATHS.values(), ids=JSON_PATHS.keys())
def test_json_path(path: tuple[str | int, ...], expected: str) -> None:
    assert json_path(path) == expected


# --- the event builder means what PyYAML's safe loader means -------------------------------------

SOAK = os.environ.get("ORGDRIFT_SOAK") == "1"
JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=3000 if SOAK else 300, deadline=None, derandomize=True, database=None)
@given(data=JSON_LIKE, flow=st.sampled_from([False, True, None]), unicode=st.booleans())
def test_values_agree_with_pyyaml_safe_load(data: Any, flow: bool | None, unicode: bool) -> None:
    text = yaml.safe_dump({"root": data}, default_flow_style=flow, allow_unicode=unicode)
    assert load_yaml("f.yaml", text).data == yaml.safe_load(text)


ANCHORED = [
    "a: &x {b: [1, 2, {c: d}]}\ne: *x\nf: [*x, *x]\n",
    "base: &b {x: 1, y: [2, 3]}\nm: {<<: *b, y: 4}\nn: {z: 0, <<: [*b, {x: 9, w: 8}]}\n",
    "k: &k key\nm: {*k : v}\n",
    "s: &s yes\nt: *s\nl: &l [a, b]\nu: [*l, *s]\n",
    "- &a 1\n- *a\n- {<<: {p: 1}, q: 2}\n",
]


LOADERS = {"SafeLoader": yaml.SafeLoader, "CSafeLoader": getattr(yaml, "CSafeLoader", None)}


@pytest.mark.parametrize("loader", [v for v in LOADERS.values() if v], ids=lambda v: v.__name__)
@pytest.mark.parametrize("text", ANCHORED)
def test_anchors_aliases_and_merges_agree_with_pyyaml(text: str, loader: type) -> None:
    assert load_yaml("f.yaml", text).data == yaml.load(text, Loader=loader)


def test_marks_of_an_alias_are_those_of_its_anchor() -> None:
    doc = load_yaml("f.yaml", "a: &x {b: [1, 2]}\nc: *x\n")
    assert doc.location(("c",)) == doc.location(("a",)) == Location("f.yaml", 1, 4)
    assert doc.location(("c", "b", 1)) == Location("f.yaml", 1, 15)
    assert doc.location(("c", "b"), key=True) == Location("f.yaml", 1, 8)


HANDWRITTEN = st.lists(
    st.sampled_from(
        [
            "a: 1\n",
            "b: &x {c: [1, 2], d: yes}\n",
            "e: *x\n",
            "f:\n  <<: *x\n  g: 3\n",
            "h: [*x, *x]\n",
            "i: 'quoted: yes'\n",
            "j: |\n  line one\n  line two\n",
            "k: >-\n  folded\n  text\n",
            "# comment\n",
            "l:\n  - m: 1\n    n: [a, b]\n  - o\n",
            "p: {q: 1, r: {s: null}}\n",
            "t: 2024-01-31\n",
            "u: 0x1f\n",
            "v: ~\n",
            "w: 1.5e3\n",
            'x: "esc\\tape"\n',
            "y: &y scalar\n",
            "z: *y\n",
            "aa: {<<: [*x, {c: 9}], c: 0}\n",
            "ab: &ab\n  - &ac {k: v}\n  - *ac\n",
            "ac: *ab\n",
            "ad: !!str 12\n",
            "ae: on\n",
            "af: [1, [2, [3, {g: h}]]]\n",
            "? ag\n: complex\n",
            "ah: {*y : 1}\n",
            "1: one\n",
        ]
    ),
    max_size=8,
).map("".join)

OUR_EXTRA_RULES = ("duplicate key", "must be a string", "file is empty")


@settings(max_examples=3000 if SOAK else 300, deadline=None, derandomize=True, database=None)
@given(text=HANDWRITTEN)
def test_handwritten_documents_agree_with_pyyaml_or_break_a_stated_rule(text: str) -> None:
    """Whatever PyYAML's safe loader accepts, orgdrift reads as the same values, unless the
    document breaks one of orgdrift's own stricter rules; what PyYAML refuses, orgdrift refuses."""
    try:
        expected, accepted = yaml.safe_load(text), True
    except yaml.YAMLError:
        expected, accepted = None, False
    try:
        got = load_yaml("f.yaml", text).data
    except InputError as exc:
        message = exc.problems[0].message
        if accepted:  # refused by orgdrift alone: only for one of its own stated rules
            assert any(rule in message for rule in OUR_EXTRA_RULES), message
        return
    assert accepted, "orgdrift accepted what PyYAML refuses"
    assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "'" + "k " * 5_000 + "': 1\n'" + "k " * 5_000 + "': 2\n",  # a duplicate key
        "? " + "9" * 10_000 + "\n: x\n",  # a key that is no string
        "x: !" + "t" * 10_000 + " y\n",  # a tag outside the safe set
        "x: *" + "a" * 10_000 + "\n",  # an undefined alias
    ],
)
def test_an_error_quotes_only_a_short_excerpt(text: str) -> None:
    _, _, path, message = refusal(text)
    assert len(path) < 80 and len(message) < 140, (path, message)
