"""Every rule of schemas/orgdrift.schema.json, with a passing and a failing case, through `load_specs`.

Each case is a whole spec; the expected outcome is the exact list of `(line:col, JSON path, message)`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgdrift import spec as spec_module
from orgdrift.errors import InputError
from orgdrift.resources import SPEC_SCHEMA, load_schema
from orgdrift.spec import load_specs
from orgdrift.yamlload import load_yaml

ROOT = Path(__file__).resolve().parent.parent

Outcome = list[tuple[str, str, str]]
NAME_RULE = "(lowercase letters, digits, '_' and '-', 1 to 50 characters)"
COLOR_RULE = "(#rgb or #rrggbb)"
ORG_FIELDS = (
    "branding, client_grants, connections, discovery_domains, display_name, id, ignore, metadata, "
    "name, policy, token_quota"
)


def outcome(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Outcome:
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(text, encoding="utf-8")
    try:
        load_specs([str(spec_file)], env or {})
    except InputError as exc:
        assert all(p.file == str(spec_file) for p in exc.problems)
        return [(f"{p.line}:{p.column}", p.path, p.message) for p in exc.problems]
    return []


def org(body: str) -> str:
    """A spec with one organization; `body` starts on line 3, column 5."""
    return "version: 1\norganizations:\n  - " + body.replace("\n", "\n    ") + "\n"


def conn(body: str) -> str:
    """A spec with one connection; `body` starts on line 5, column 9."""
    return org("name: acme\nconnections:\n  - " + body.replace("\n", "\n    "))


CASES: dict[str, tuple[str, Outcome]] = {
    # --- top level -----------------------------------------------------------------------
    "minimal": ("version: 1\norganizations: []\n", []),
    "$schema is allowed": ('$schema: "x.json"\nversion: 1\norganizations: []\n', []),
    "version 2": ("version: 2\norganizations: []\n", [("1:10", "$.version", "1 was expected")]),
    "version as a string": (
        'version: "1"\norganizations: []\n',
        [("1:10", "$.version", "1 was expected")],
    ),
    "version true is not 1": (
        "version: true\norganizations: []\n",
        [("1:10", "$.version", "1 was expected")],
    ),
    "version missing": ("organizations: []\n", [("1:1", "$", "'version' is required")]),
    "organizations missing": ("version: 1\n", [("1:1", "$", "'organizations' is required")]),
    "organizations not a list": (
        "version: 1\norganizations: {}\n",
        [("2:16", "$.organizations", "{} is not of type 'array'")],
    ),
    "top-level typo": (
        "version: 1\norganisations: []\n",
        [
            ("1:1", "$", "'organizations' is required"),
            (
                "2:1",
                "$.organisations",
                "unknown field 'organisations'; did you mean 'organizations'?",
            ),
        ],
    ),
    # --- tenant ----------------------------------------------------------------------------
    "tenant.domain": ("version: 1\ntenant: {domain: a.eu.auth0.com}\norganizations: []\n", []),
    "tenant.domain empty": (
        'version: 1\ntenant: {domain: ""}\norganizations: []\n',
        [("2:18", "$.tenant.domain", "'' should be non-empty")],
    ),
    "tenant.domain too long": (
        f"version: 1\ntenant: {{domain: {'a' * 254}}}\norganizations: []\n",
        [("2:18", "$.tenant.domain", f"'{'a' * 56}... is too long")],
    ),
    "tenant typo": (
        "version: 1\ntenant: {domian: x}\norganizations: []\n",
        [("2:10", "$.tenant.domian", "unknown field 'domian'; did you mean 'domain'?")],
    ),
    # --- policy ----------------------------------------------------------------------------
    "policy values": (
        (
            "version: 1\npolicy: {connections: allowlist, unmanaged_organizations: fail}\n"
            "organizations: []\n"
        ),
        [],
    ),
    "policy.connections enum": (
        "version: 1\npolicy: {connections: strict}\norganizations: []\n",
        [("2:23", "$.policy.connections", "'strict' is not one of ['exact', 'allowlist']")],
    ),
    "policy.unmanaged_organizations enum": (
        "version: 1\npolicy: {unmanaged_organizations: warn}\norganizations: []\n",
        [
            (
                "2:35",
                "$.policy.unmanaged_organizations",
                "'warn' is not one of ['ignore', 'report', 'fail']",
            )
        ],
    ),
    "policy typo": (
        "version: 1\npolicy: {conections: exact}\norganizations: []\n",
        [
            (
                "2:10",
                "$.policy.conections",
                "unknown field 'conections'; did you mean 'connections'?",
            )
        ],
    ),
    # --- defaults.connection -----------------------------------------------------------------
    "defaults.connection flags": (
        (
            "version: 1\ndefaults:\n  connection: {show_as_button: false, is_signup_enabled: true,"
            " assign_membership_on_login: true}\norganizations: []\n"
        ),
        [],
    ),
    "defaults.connection flag not boolean": (
        'version: 1\ndefaults:\n  connection: {show_as_button: "true"}\norganizations: []\n',
        [("3:32", "$.defaults.connection.show_as_button", "'true' is not of type 'boolean'")],
    ),
    "defaults.connection cannot hold a name": (
        "version: 1\ndefaults:\n  connection: {name: x}\norganizations: []\n",
        [
            (
                "3:16",
                "$.defaults.connection.name",
                (
                    "unknown field 'name' (allowed: assign_membership_on_login, is_signup_enabled,"
                    " show_as_button)"
                ),
            )
        ],
    ),
    "defaults typo": (
        "version: 1\ndefaults:\n  connections: {}\norganizations: []\n",
        [
            (
                "3:3",
                "$.defaults.connections",
                "unknown field 'connections'; did you mean 'connection'?",
            )
        ],
    ),
    # --- organization name and id ----------------------------------------------------------------
    "name lowercase": (org("name: acme"), []),
    "name digits first, _ and -": (org("name: 0acme_corp-eu"), []),
    "name of 50 characters": (org("name: " + "a" * 50), []),
    "name uppercase": (
        org("name: Acme"),
        [
            (
                "3:11",
                "$.organizations[0].name",
                f"'Acme' is not a valid Auth0 organization name {NAME_RULE}",
            )
        ],
    ),
    "name with a space": (
        org('name: "ac me"'),
        [
            (
                "3:11",
                "$.organizations[0].name",
                f"'ac me' is not a valid Auth0 organization name {NAME_RULE}",
            )
        ],
    ),
    "name of 51 characters": (
        org("name: " + "a" * 51),
        [
            (
                "3:11",
                "$.organizations[0].name",
                f"'{'a' * 51}' is not a valid Auth0 organization name {NAME_RULE}",
            )
        ],
    ),
    "name empty": (
        org('name: ""'),
        [
            (
                "3:11",
                "$.organizations[0].name",
                f"'' is not a valid Auth0 organization name {NAME_RULE}",
            )
        ],
    ),
    "name a number": (
        org("name: 123"),
        [("3:11", "$.organizations[0].name", "123 is not of type 'string'")],
    ),
    "id": (org("id: org_W8ptrr1BXH1qvVm0"), []),
    "id and name": (org("id: org_W8ptrr1BXH1qvVm0\nname: acme"), []),
    "id without prefix": (
        org("id: W8ptrr1BXH1qvVm0"),
        [
            (
                "3:9",
                "$.organizations[0].id",
                "'W8ptrr1BXH1qvVm0' is not a valid Auth0 organization id, such as org_W8ptrr1BXH1qvVm0",
            )
        ],
    ),
    "id with a dash": (
        org("id: org_W8ptrr-1"),
        [
            (
                "3:9",
                "$.organizations[0].id",
                "'org_W8ptrr-1' is not a valid Auth0 organization id, such as org_W8ptrr1BXH1qvVm0",
            )
        ],
    ),
    "neither name nor id": (
        org("display_name: Acme"),
        [("3:5", "$.organizations[0]", "needs 'name' or 'id'")],
    ),
    "organization not a mapping": (
        org("acme"),
        [("3:5", "$.organizations[0]", "'acme' is not of type 'object'")],
    ),
    "organization typo": (
        org("name: acme\ndisplayname: Acme"),
        [
            (
                "4:5",
                "$.organizations[0].displayname",
                "unknown field 'displayname'; did you mean 'display_name'?",
            )
        ],
    ),
    "organization unknown field lists the allowed ones": (
        org("name: acme\ntenant: x"),
        [("4:5", "$.organizations[0].tenant", f"unknown field 'tenant' (allowed: {ORG_FIELDS})")],
    ),
    # --- display_name ------------------------------------------------------------------------
    "display_name of 1 and 255 characters": (
        (
            "version: 1\norganizations:\n  - {name: a, display_name: A}\n"
            f"  - {{name: b, display_name: {'B' * 255}}}\n"
        ),
        [],
    ),
    "display_name empty": (
        org('name: acme\ndisplay_name: ""'),
        [("4:19", "$.organizations[0].display_name", "'' should be non-empty")],
    ),
    "display_name of 256 characters": (
        org("name: acme\ndisplay_name: " + "D" * 256),
        [("4:19", "$.organizations[0].display_name", f"'{'D' * 56}... is too long")],
    ),
    "display_name a number": (
        org("name: acme\ndisplay_name: 42"),
        [("4:19", "$.organizations[0].display_name", "42 is not of type 'string'")],
    ),
    # --- branding ----------------------------------------------------------------------------
    "branding": (
        org(
            "name: acme\nbranding:\n  logo_url: https://cdn.example.com/a.png\n"
            '  colors: {primary: "#abc", page_background: "#AABBCC"}'
        ),
        [],
    ),
    "branding.logo_url over http": (
        org("name: acme\nbranding: {logo_url: http://cdn.example.com/a.png}"),
        [
            (
                "4:26",
                "$.organizations[0].branding.logo_url",
                "'http://cdn.example.com/a.png' is not a valid HTTPS URL of the organization's logo",
            )
        ],
    ),
    "branding.logo_url with a space": (
        org('name: acme\nbranding: {logo_url: "https://cdn.example.com/a b.png"}'),
        [
            (
                "4:26",
                "$.organizations[0].branding.logo_url",
                "'https://cdn.example.com/a b.png' is not a valid HTTPS URL of the organization's logo",
            )
        ],
    ),
    "branding.colors needs both": (
        org('name: acme\nbranding:\n  colors: {primary: "#abc"}'),
        [("5:15", "$.organizations[0].branding.colors", "'page_background' is required")],
    ),
    "branding.colors named color": (
        org('name: acme\nbranding:\n  colors: {primary: blue, page_background: "#fff"}'),
        [
            (
                "5:25",
                "$.organizations[0].branding.colors.primary",
                f"'blue' is not a valid HTML color {COLOR_RULE}",
            )
        ],
    ),
    "branding.colors four digits": (
        org('name: acme\nbranding:\n  colors: {primary: "#fff", page_background: "#abcd"}'),
        [
            (
                "5:50",
                "$.organizations[0].branding.colors.page_background",
                f"'#abcd' is not a valid HTML color {COLOR_RULE}",
            )
        ],
    ),
    "branding typo": (
        org('name: acme\nbranding:\n  logo: "https://x"'),
        [
            (
                "5:7",
                "$.organizations[0].branding.logo",
                "unknown field 'logo'; did you mean 'logo_url'?",
            )
        ],
    ),
    "branding.colors typo": (
        org(
            'name: acme\nbranding:\n  colors: {primary: "#fff", page_background: "#000", link: "#00f"}'
        ),
        [
            (
                "5:58",
                "$.organizations[0].branding.colors.link",
                "unknown field 'link' (allowed: page_background, primary)",
            )
        ],
    ),
    # --- metadata ----------------------------------------------------------------------------
    "metadata strings and null, 25 keys": (
        org("name: acme\nmetadata: {" + ", ".join(f"k{i}: v" for i in range(24)) + ", z: null}"),
        [],
    ),
    "metadata value of 255 characters": (org("name: acme\nmetadata: {k: " + "v" * 255 + "}"), []),
    "metadata 26 keys": (
        org("name: acme\nmetadata: {" + ", ".join(f"k{i}: v" for i in range(26)) + "}"),
        [("4:15", "$.organizations[0].metadata", "has 26 keys; at most 25 are allowed")],
    ),
    "metadata value of 256 characters": (
        org("name: acme\nmetadata: {k: " + "v" * 256 + "}"),
        [("4:19", "$.organizations[0].metadata.k", f"'{'v' * 56}... is too long")],
    ),
    "metadata value a number": (
        org("name: acme\nmetadata: {k: 1}"),
        [("4:19", "$.organizations[0].metadata.k", "1 is not of type 'string', 'null'")],
    ),
    "metadata value a boolean": (
        org("name: acme\nmetadata: {k: yes}"),
        [("4:19", "$.organizations[0].metadata.k", "True is not of type 'string', 'null'")],
    ),
    "metadata value a list": (
        org("name: acme\nmetadata: {k: [a]}"),
        [("4:19", "$.organizations[0].metadata.k", "['a'] is not of type 'string', 'null'")],
    ),
    "metadata empty key": (
        org('name: acme\nmetadata: {"": v}'),
        [("4:16", "$.organizations[0].metadata['']", "invalid key: '' should be non-empty")],
    ),
    "metadata not a mapping": (
        org("name: acme\nmetadata: [a]"),
        [("4:15", "$.organizations[0].metadata", "['a'] is not of type 'object'")],
    ),
    # --- per-organization policy ---------------------------------------------------------------
    "organization policy": (org("name: acme\npolicy: {connections: allowlist}"), []),
    "organization policy enum": (
        org("name: acme\npolicy: {connections: any}"),
        [
            (
                "4:27",
                "$.organizations[0].policy.connections",
                "'any' is not one of ['exact', 'allowlist']",
            )
        ],
    ),
    "organization policy cannot set unmanaged_organizations": (
        org("name: acme\npolicy: {unmanaged_organizations: fail}"),
        [
            (
                "4:14",
                "$.organizations[0].policy.unmanaged_organizations",
                "unknown field 'unmanaged_organizations' (allowed: client_grants, connections)",
            )
        ],
    ),
    # --- connections ---------------------------------------------------------------------------
    "connections empty": (org("name: acme\nconnections: []"), []),
    "connections not a list": (
        org("name: acme\nconnections: google-oauth2"),
        [("4:18", "$.organizations[0].connections", "'google-oauth2' is not of type 'array'")],
    ),
    "connection by name with flags": (
        conn(
            "name: acme-saml\nassign_membership_on_login: true\nshow_as_button: false\nis_signup_enabled: no"
        ),
        [],
    ),
    "connection by id": (conn("connection_id: con_J9VZdQRJkbgExhXl"), []),
    "connection needs name or connection_id": (
        conn("show_as_button: true"),
        [("5:9", "$.organizations[0].connections[0]", "needs 'name' or 'connection_id'")],
    ),
    "connection_id pattern": (
        conn("connection_id: J9VZdQRJkbgExhXl"),
        [
            (
                "5:24",
                "$.organizations[0].connections[0].connection_id",
                "'J9VZdQRJkbgExhXl' is not a valid Connection id, such as con_J9VZdQRJkbgExhXl",
            )
        ],
    ),
    "connection name empty": (
        conn('name: ""'),
        [("5:15", "$.organizations[0].connections[0].name", "'' should be non-empty")],
    ),
    "connection flag not boolean": (
        conn('name: x\nis_signup_enabled: "false"'),
        [
            (
                "6:28",
                "$.organizations[0].connections[0].is_signup_enabled",
                "'false' is not of type 'boolean'",
            )
        ],
    ),
    "connection typo": (
        conn("name: x\nshow_as_buton: true"),
        [
            (
                "6:9",
                "$.organizations[0].connections[0].show_as_buton",
                "unknown field 'show_as_buton'; did you mean 'show_as_button'?",
            )
        ],
    ),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_schema_rule(tmp_path: Path, text: str, expected: Outcome) -> None:
    assert outcome(tmp_path, text) == expected


def test_every_positive_case_is_valid_for_jsonschema_too() -> None:
    """The table's expectations agree with a plain validator on the same data (no drift in _validation_problems)."""
    validator = jsonschema.Draft202012Validator(load_schema(SPEC_SCHEMA))
    jsonschema.Draft202012Validator.check_schema(load_schema(SPEC_SCHEMA))
    assert validator.is_valid({"version": 1, "organizations": [{"name": "acme"}]})
    assert not validator.is_valid({"version": 1, "organizations": [{"name": "Acme"}]})


def test_packaged_schema_loader_reads_the_source_schema() -> None:
    source = json.loads((ROOT / "schemas" / "orgdrift.schema.json").read_text(encoding="utf-8"))
    assert load_schema(SPEC_SCHEMA) == source


def _objects(schema: object, path: str = "#") -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            found.append((path, schema))
        for key, value in schema.items():
            found += _objects(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found += _objects(value, f"{path}/{i}")
    return found


def test_every_object_is_closed() -> None:
    """additionalProperties is false everywhere except metadata (whose values are typed)."""
    objects = _objects(load_schema(SPEC_SCHEMA))
    assert len(objects) >= 9
    for path, schema in objects:
        if path.endswith("/metadata"):
            assert isinstance(schema["additionalProperties"], dict), path
        else:
            assert schema.get("additionalProperties") is False, path


# --- the compiled fast check agrees with jsonschema ---------------------------------------------


def maybe(*values: Any) -> st.SearchStrategy[Any]:
    odd: st.SearchStrategy[Any] = st.sampled_from([None, True, False, 0, 1, 1.0, "", "x", [], {}])
    return st.one_of(st.sampled_from(values), odd)


NAMES = maybe("acme", "a_b-1", "Acme", "a" * 50, "a" * 51, "acme\n", "ac me")
COLORS = maybe("#abc", "#AABBCC", "#abcd", "blue")
FLAG = maybe(True, False, "true")
CONNECTION = st.fixed_dictionaries(
    {},
    optional={
        "name": maybe("google-oauth2", "x" * 129),
        "connection_id": maybe("con_abc", "con_", "abc"),
        "show_as_button": FLAG,
        "is_signup_enabled": FLAG,
        "assign_membership_on_login": FLAG,
        "show_as_buton": FLAG,
    },
)
ORGANIZATION = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "name": NAMES,
            "id": maybe("org_abc", "org_", "org_a-b"),
            "display_name": maybe("Acme", "D" * 255, "D" * 256),
            "branding": st.fixed_dictionaries(
                {},
                optional={
                    "logo_url": maybe("https://x/a.png", "http://x", "https://a b"),
                    "colors": st.fixed_dictionaries(
                        {}, optional={"primary": COLORS, "page_background": COLORS, "link": COLORS}
                    ),
                    "logo": maybe("x"),
                },
            ),
            "metadata": st.dictionaries(
                st.sampled_from(["", "tier", "k" * 256, *(f"k{i}" for i in range(30))]),
                maybe("gold", None, "v" * 256),
                max_size=30,
            ),
            "policy": st.fixed_dictionaries(
                {}, optional={"connections": maybe("exact", "allowlist", "strict")}
            ),
            "connections": st.one_of(st.lists(CONNECTION, max_size=3), maybe("x")),
            "tenant": maybe("x"),
        },
    ),
    maybe("acme"),
)
DOCUMENT = st.fixed_dictionaries(
    {"organizations": st.lists(ORGANIZATION, max_size=3)},
    optional={
        "version": maybe(1, 2, "1"),
        "tenant": st.fixed_dictionaries({}, optional={"domain": maybe("a.auth0.com", "x" * 254)}),
        "policy": st.fixed_dictionaries(
            {},
            optional={
                "connections": maybe("exact", "strict"),
                "unmanaged_organizations": maybe("ignore", "report", "fail", "warn"),
            },
        ),
        "defaults": st.fixed_dictionaries(
            {},
            optional={"connection": st.fixed_dictionaries({}, optional={"show_as_button": FLAG})},
        ),
        "$schema": maybe("x.json"),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_jsonschema_rs_agrees_with_jsonschema(document: dict[str, Any]) -> None:
    """The fast yes/no of jsonschema-rs and jsonschema's verdict agree, whole and per org."""
    whole, one = spec_module._gates()
    validator = spec_module._validator()
    assert spec_module._known_valid(whole, document) == validator.is_valid(document)
    for org in document["organizations"]:
        alone = {"version": 1, "organizations": [org]}
        assert spec_module._known_valid(one, org) == validator.is_valid(alone)


def test_values_jsonschema_rs_cannot_take_go_to_jsonschema() -> None:
    text = "version: 1\norganizations:\n  - name: acme\n    display_name: 2024-01-31\n"
    found = spec_module._schema_problems(load_yaml("f.yaml", text))
    assert [(p.line, p.column, p.path) for p in found] == [
        (4, 19, "$.organizations[0].display_name")
    ]
    assert found[0].message == "datetime.date(2024, 1, 31) is not of type 'string'"


class _NeverSure:
    def is_valid(self, value: Any) -> bool:
        return False


def test_narrowed_validation_reports_what_full_validation_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orgs = []
    for i in range(40):
        orgs.append(f"  - name: org-{i}\n    display_name: Org {i}\n")
        if i % 7 == 3:
            orgs.append(
                f"  - name: Bad{i}\n    colour: red\n    connections: [{{name: x, y: 1}}]\n"
            )
    text = "version: 1\npolicy: {connections: strict}\norganizations:\n" + "".join(orgs)
    fast = spec_module._schema_problems(load_yaml("f.yaml", text))
    monkeypatch.setattr(spec_module, "_gates", lambda: (_NeverSure(), _NeverSure()))
    full = spec_module._schema_problems(load_yaml("f.yaml", text))
    assert fast == full
    assert len(full) == 1 + 3 * 6
    assert {p.path for p in full if p.path.endswith(".colour")} == {
        f"$.organizations[{i}].colour" for i in (4, 12, 20, 28, 36, 44)
    }


SAMPLES = {
    "^[a-z0-9_-]": "acme",
    "^org_": "org_Ac7mEq2LxT9pRz4K",
    "^#": "#0059d6",
    "^https://": "https://cdn.example.com/a.png",
    "^con_": "con_Ab12",
    "^(display_name|branding": "metadata.crm_synced_at",
    "^[0-9]{4}": "2027-01-31",
}


def _patterns(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        if isinstance(schema.get("pattern"), str):
            yield schema["pattern"]
        for value in schema.values():
            yield from _patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _patterns(value)


def test_no_pattern_accepts_a_trailing_newline() -> None:
    """Each pattern ends in `$(?!\\n)`: Python's `$`, which jsonschema uses, also matches before
    a final newline, where JSON Schema's (ECMA-262) `$` does not."""
    patterns = list(_patterns(load_schema(SPEC_SCHEMA)))
    assert len(patterns) == len(SAMPLES)
    for pattern in patterns:
        sample = next(v for k, v in SAMPLES.items() if pattern.startswith(k))
        assert pattern.endswith("$(?!\\n)")
        assert re.search(pattern, sample) is not None
        assert re.search(pattern, sample + "\n") is None
    document = {"version": 1, "organizations": [{"name": "acme\n"}]}
    assert not spec_module._validator().is_valid(document)
    assert not spec_module._known_valid(spec_module._gates()[0], document)
