"""`load_specs`: interpolation, duplicates, several files, the Spec model; and `orgdrift validate`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orgdrift import __version__
from orgdrift.cli import main
from orgdrift.errors import InputError, Location
from orgdrift.spec import load_specs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOT_ALLOWED = (
    "cannot be interpolated: only AUTH0_DOMAIN and ORGDRIFT_* variables may appear in a spec"
)

Found = list[tuple[str, str, str]]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems(paths: list[str], env: dict[str, str] | None = None) -> Found:
    with pytest.raises(InputError) as caught:
        load_specs(paths, env or {})
    return [
        (f"{Path(p.file).name}:{p.line}:{p.column}", p.path, p.message)
        for p in caught.value.problems
    ]


# --- several problems, located and sorted ------------------------------------------------------


def test_every_problem_of_a_file_is_reported_sorted(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "s.yaml",
        "version: 1\n"
        "organizations:\n"
        "  - name: b\n"
        "    connections:\n"
        "      - {name: x, show_as_button: 1}\n"
        "  - {name: B, colour: red}\n"
        "policy: {connections: strict}\n",
    )
    assert problems([spec]) == [
        (
            "s.yaml:5:35",
            "$.organizations[0].connections[0].show_as_button",
            "1 is not of type 'boolean'",
        ),
        (
            "s.yaml:6:12",
            "$.organizations[1].name",
            "'B' is not a valid Auth0 organization name (lowercase letters, digits, '_' and '-', 1 to 50 characters)",
        ),
        (
            "s.yaml:6:15",
            "$.organizations[1].colour",
            "unknown field 'colour' (allowed: branding, client_grants, connections, discovery_domains, display_name, id, ignore, metadata, name, policy, token_quota)",
        ),
        ("s.yaml:7:23", "$.policy.connections", "'strict' is not one of ['exact', 'allowlist']"),
    ]


def test_problems_of_several_files_are_all_reported(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "version: 1\norganizations: [{name: A}]\n")
    b = write(tmp_path, "b.yaml", "version: 1\norganizations: [{name: b, id: x}]\n")
    missing = str(tmp_path / "c.yaml")
    assert [where for where, _, _ in problems([b, missing, a])] == [
        "a.yaml:2:24",
        "b.yaml:2:31",
        "c.yaml:0:0",
    ]


# --- duplicates -------------------------------------------------------------------------------


DUPLICATES: dict[str, tuple[list[str], Found]] = {
    "organization name twice in one file": (
        ["version: 1\norganizations:\n  - name: acme\n  - name: globex\n  - name: acme\n"],
        [
            (
                "0.yaml:5:11",
                "$.organizations[2].name",
                "organization name 'acme' is declared twice (first at {0}:3)",
            )
        ],
    ),
    "organization id twice in one file": (
        ["version: 1\norganizations:\n  - id: org_1\n  - {name: b, id: org_1}\n"],
        [
            (
                "0.yaml:4:19",
                "$.organizations[1].id",
                "organization id 'org_1' is declared twice (first at {0}:3)",
            )
        ],
    ),
    "organization across two files": (
        [
            "version: 1\norganizations:\n  - name: globex\n  - name: acme\n",
            "version: 1\norganizations:\n  - name: acme\n",
        ],
        [
            (
                "1.yaml:3:11",
                "$.organizations[0].name",
                "organization name 'acme' is declared twice (first at {0}:4)",
            )
        ],
    ),
    "connection twice by name": (
        [
            "version: 1\norganizations:\n  - name: a\n    connections: [{name: x}, {name: y}, {name: x}]\n"
        ],
        [
            (
                "0.yaml:4:48",
                "$.organizations[0].connections[2].name",
                "connection 'x' is listed twice (first at {0}:4)",
            )
        ],
    ),
    "connection twice by connection_id": (
        [
            (
                "version: 1\norganizations:\n  - name: a\n    connections:\n"
                "      - connection_id: con_1\n      - connection_id: con_1\n"
            )
        ],
        [
            (
                "0.yaml:6:24",
                "$.organizations[0].connections[1].connection_id",
                "connection 'con_1' is listed twice (first at {0}:5)",
            )
        ],
    ),
    "same connection in two organizations is fine": (
        [
            "version: 1\norganizations:\n  - {name: a, connections: [{name: x}]}\n  - {name: b, connections: [{name: x}]}\n"
        ],
        [],
    ),
    "name of one org equal to another's id field is fine": (
        ["version: 1\norganizations:\n  - {name: a, id: org_a}\n  - {name: b, id: org_b}\n"],
        [],
    ),
}


@pytest.mark.parametrize(("texts", "expected"), DUPLICATES.values(), ids=DUPLICATES.keys())
def test_duplicates(tmp_path: Path, texts: list[str], expected: Found) -> None:
    paths = [write(tmp_path, f"{i}.yaml", text) for i, text in enumerate(texts)]
    if not expected:
        load_specs(paths, {})
        return
    assert problems(paths) == [(w, p, m.format(*paths)) for w, p, m in expected]


def test_different_tenants_across_files(tmp_path: Path) -> None:
    a = write(
        tmp_path, "a.yaml", "version: 1\ntenant: {domain: a.eu.auth0.com}\norganizations: []\n"
    )
    b = write(
        tmp_path, "b.yaml", "version: 1\ntenant:\n  domain: A.EU.AUTH0.COM\norganizations: []\n"
    )
    c = write(
        tmp_path, "c.yaml", "version: 1\ntenant:\n  domain: c.eu.auth0.com\norganizations: []\n"
    )
    assert load_specs([a, b], {}).tenant_domain == "a.eu.auth0.com"  # domains are case-insensitive
    assert problems([a, c]) == [
        (
            "c.yaml:3:11",
            "$.tenant.domain",
            f"spec files name different tenants: 'c.eu.auth0.com' here, 'a.eu.auth0.com' at {a}:2",
        )
    ]


# --- ${VAR} interpolation --------------------------------------------------------------------


def org_spec(value: str) -> str:
    return f'version: 1\norganizations:\n  - name: acme\n    display_name: "{value}"\n'


INTERPOLATION: dict[str, tuple[str, dict[str, str], str | Found]] = {
    "ORGDRIFT_ variable": ("Acme ${ORGDRIFT_SUFFIX}", {"ORGDRIFT_SUFFIX": "EU"}, "Acme EU"),
    "AUTH0_DOMAIN": ("${AUTH0_DOMAIN}", {"AUTH0_DOMAIN": "t.eu.auth0.com"}, "t.eu.auth0.com"),
    "two variables": ("${ORGDRIFT_A}-${ORGDRIFT_B}", {"ORGDRIFT_A": "x", "ORGDRIFT_B": "y"}, "x-y"),
    "$$ is a literal $": (
        "cost $$5 and $${ORGDRIFT_A}",
        {"ORGDRIFT_A": "no"},
        "cost $5 and ${ORGDRIFT_A}",
    ),
    "a lone $ stays": ("$HOME and $", {}, "$HOME and $"),
    "the value is not interpolated again": (
        "${ORGDRIFT_A}",
        {"ORGDRIFT_A": "${ORGDRIFT_B}"},
        "${ORGDRIFT_B}",
    ),
    "unset": (
        "${ORGDRIFT_UNSET}",
        {},
        [
            (
                "s.yaml:4:19",
                "$.organizations[0].display_name",
                "environment variable ORGDRIFT_UNSET is not set",
            )
        ],
    ),
    "lowercase orgdrift_": (
        "${orgdrift_x}",
        {"orgdrift_x": "v"},
        [("s.yaml:4:19", "$.organizations[0].display_name", "${orgdrift_x} " + NOT_ALLOWED)],
    ),
    "empty name": (
        "${}",
        {},
        [("s.yaml:4:19", "$.organizations[0].display_name", "${} " + NOT_ALLOWED)],
    ),
}


@pytest.mark.parametrize(
    ("value", "env", "expected"), INTERPOLATION.values(), ids=INTERPOLATION.keys()
)
def test_interpolation(
    tmp_path: Path, value: str, env: dict[str, str], expected: str | Found
) -> None:
    spec = write(tmp_path, "s.yaml", org_spec(value))
    if isinstance(expected, str):
        (org,) = load_specs([spec], env).organizations
        assert org.fields["display_name"] == expected
    else:
        assert problems([spec], env) == expected


def test_interpolated_value_is_validated(tmp_path: Path) -> None:
    spec = write(tmp_path, "s.yaml", "version: 1\norganizations:\n  - name: ${ORGDRIFT_NAME}\n")
    assert load_specs([spec], {"ORGDRIFT_NAME": "acme"}).organizations[0].name == "acme"
    assert problems([spec], {"ORGDRIFT_NAME": "Not Valid"}) == [
        (
            "s.yaml:3:11",
            "$.organizations[0].name",
            (
                "'Not Valid' is not a valid Auth0 organization name "
                "(lowercase letters, digits, '_' and '-', 1 to 50 characters)"
            ),
        )
    ]


@pytest.mark.parametrize(
    ("line", "where", "shown", "what"),
    [
        (
            '  - name: "acme\\n"',
            "s.yaml:3:11 $.organizations[0].name",
            "'acme\\n'",
            "organization name",
        ),
        (
            '  - {name: acme, id: "org_Ac7mEq2LxT9pRz4K\\n"}',
            "s.yaml:3:22 $.organizations[0].id",
            "'org_Ac7mEq2LxT9pRz4K\\n'",
            "organization id",
        ),
    ],
)
def test_a_trailing_newline_is_not_a_valid_name_or_id(
    tmp_path: Path, line: str, where: str, shown: str, what: str
) -> None:
    """JSON Schema's `$` is the end of the string (ECMA-262), not "before a final newline"
    as in Python's `re`; both the fast check and jsonschema's messages agree."""
    spec = write(tmp_path, "s.yaml", f"version: 1\norganizations:\n{line}\n")
    found = problems([spec])
    assert [f"{at} {path}" for at, path, _ in found] == [where]
    message = found[0][2]
    assert message.startswith(f"{shown} is not a valid Auth0 {what}"), message


def test_unset_variable_is_one_problem_not_two(tmp_path: Path) -> None:
    spec = write(tmp_path, "s.yaml", "version: 1\norganizations:\n  - name: ${ORGDRIFT_NAME}\n")
    assert problems([spec]) == [
        ("s.yaml:3:11", "$.organizations[0].name", "environment variable ORGDRIFT_NAME is not set")
    ]


@pytest.mark.parametrize(
    "name", ["AUTH0_API_TOKEN", "AUTH0_CLIENT_SECRET", "AUTH0_CLIENT_ID", "HOME", "PATH"]
)
def test_other_variables_are_refused_without_their_value(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = "s3cr3t-MARKER-7f1c9a"
    env = {name: marker, "ORGDRIFT_OK": "ok"}
    spec = write(tmp_path, "s.yaml", org_spec(f"${{{name}}}"))
    found = problems([spec], env)
    assert found == [
        ("s.yaml:4:19", "$.organizations[0].display_name", f"${{{name}}} {NOT_ALLOWED}")
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(name, marker)
        assert main(["validate", spec]) == 2
    out, err = capsys.readouterr()
    assert marker not in out + err
    assert name in err


# --- the Spec model ---------------------------------------------------------------------------

MODEL = """\
version: 1
tenant: {domain: t.eu.auth0.com}
policy: {connections: allowlist}
defaults:
  connection: {show_as_button: false, is_signup_enabled: false}
organizations:
  - name: acme
    display_name: Acme
    branding:
      colors: {primary: "#000", page_background: "#fff"}
    metadata: {tier: gold}
    connections:
      - name: acme-saml
        show_as_button: true
      - connection_id: con_abc
  - id: org_1
    policy: {connections: exact}
"""


def test_spec_model(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", MODEL)
    spec = load_specs([path], {})
    assert spec.tenant_domain == "t.eu.auth0.com"
    assert spec.unmanaged_organizations == "ignore"
    assert [f.path for f in spec.files] == [path]
    assert len(spec.files[0].sha256) == 64
    acme, org1 = spec.organizations
    assert (acme.name, acme.id, acme.label) == ("acme", None, "acme")
    assert (org1.name, org1.id, org1.label) == (None, "org_1", "org_1")
    assert acme.fields == {
        "display_name": "Acme",
        "branding": {"colors": {"primary": "#000", "page_background": "#fff"}},
        "metadata": {"tier": "gold"},
    }
    assert org1.fields == {}
    assert org1.connections is None  # connections not managed
    assert (acme.connections_policy, org1.connections_policy) == ("allowlist", "exact")
    assert acme.connections is not None
    saml, by_id = acme.connections
    # defaults.connection applies unless the entry sets the flag itself
    assert saml.flags == {"show_as_button": True, "is_signup_enabled": False}
    # flags are located at their key; a defaulted flag at its key under defaults.connection
    assert saml.flag_locations == {
        "show_as_button": Location(path, 14, 9),
        "is_signup_enabled": Location(path, 5, 39),
    }
    assert (by_id.name, by_id.connection_id, by_id.label) == (None, "con_abc", "con_abc")
    assert by_id.flags == {"show_as_button": False, "is_signup_enabled": False}
    assert (saml.location, by_id.location) == (Location(path, 13, 9), Location(path, 15, 9))


# Declared values are located at their key (a block value starts on the line after its key).
LOCATE: dict[str, tuple[str, tuple[int, int]]] = {
    "nested value": ("branding.colors.primary", (10, 16)),
    "unknown key under a declared one": ("branding.colors.link", (10, 7)),
    "mapping": ("branding", (9, 5)),
    "metadata key": ("metadata.tier", (11, 16)),
    "undeclared metadata key": ("metadata.region", (11, 5)),
    "display_name": ("display_name", (8, 5)),
    "name": ("name", (7, 5)),
    "connections": ("connections", (12, 5)),
    "undeclared field": ("logo", (7, 5)),
    "empty path": ("", (7, 5)),
}


@pytest.mark.parametrize(("path", "expected"), LOCATE.values(), ids=LOCATE.keys())
def test_locate_returns_the_most_specific_location(
    tmp_path: Path, path: str, expected: tuple[int, int]
) -> None:
    file = write(tmp_path, "m.yaml", MODEL)
    acme = load_specs([file], {}).organizations[0]
    assert acme.locate(path) == Location(file, *expected)


UNMANAGED: dict[str, tuple[list[str | None], str]] = {
    "default": ([None], "ignore"),
    "one file": (["report"], "report"),
    "strictest of two": (["report", "ignore"], "report"),
    "fail wins": (["ignore", "fail", "report"], "fail"),
    "unset in one": ([None, "report"], "report"),
}


@pytest.mark.parametrize(("policies", "expected"), UNMANAGED.values(), ids=UNMANAGED.keys())
def test_unmanaged_policy_merge(tmp_path: Path, policies: list[str | None], expected: str) -> None:
    paths = []
    for i, policy in enumerate(policies):
        head = f"policy: {{unmanaged_organizations: {policy}}}\n" if policy else ""
        paths.append(
            write(tmp_path, f"{i}.yaml", f"version: 1\n{head}organizations: [{{name: o{i}}}]\n")
        )
    spec = load_specs(paths, {})
    assert spec.unmanaged_organizations == expected
    assert [o.name for o in spec.organizations] == [f"o{i}" for i in range(len(policies))]


def test_connections_policy_and_defaults_are_per_file(tmp_path: Path) -> None:
    a = write(
        tmp_path,
        "a.yaml",
        "version: 1\npolicy: {connections: allowlist}\ndefaults: {connection: {show_as_button: true}}\n"
        "organizations: [{name: a, connections: [{name: x}]}]\n",
    )
    b = write(
        tmp_path, "b.yaml", "version: 1\norganizations: [{name: b, connections: [{name: x}]}]\n"
    )
    org_a, org_b = load_specs([a, b], {}).organizations
    assert (org_a.connections_policy, org_b.connections_policy) == ("allowlist", "exact")
    assert org_a.connections is not None and org_b.connections is not None
    assert (org_a.connections[0].flags, org_b.connections[0].flags) == (
        {"show_as_button": True},
        {},
    )


def test_examples_orgs_yaml_loads() -> None:
    spec = load_specs([str(EXAMPLES / "orgs.yaml")], {})
    assert [o.label for o in spec.organizations] == [
        "acme",
        "globex",
        "initech",
        "umbrella",
        "hooli",
    ]
    assert spec.unmanaged_organizations == "report"


# --- orgdrift validate ------------------------------------------------------------------------


def test_validate_several_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "a.yaml", "version: 1\norganizations: [{name: a}]\n")
    b = write(tmp_path, "b.yaml", "version: 1\norganizations: [{name: b}, {name: c}]\n")
    assert main(["validate", a, b]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == (f"{a}, {b}: valid (3 organizations)\n", "")


def test_validate_one_organization_is_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write(tmp_path, "a.yaml", "version: 1\norganizations: [{name: a}]\n")
    assert main(["validate", a]) == 0
    assert capsys.readouterr().out == f"{a}: valid (1 organization)\n"


@pytest.mark.parametrize("flag", ["-q", "--quiet"])
def test_validate_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str) -> None:
    a = write(tmp_path, "a.yaml", "version: 1\norganizations: [{name: a}]\n")
    assert main(["validate", flag, a]) == 0
    assert capsys.readouterr() == ("", "")
    bad = write(tmp_path, "bad.yaml", "version: 2\norganizations: []\n")
    assert main(["validate", flag, bad]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{bad}:1:10: $.version: 1 was expected\norgdrift: 1 problem found\n"


CLI_FAILURES: dict[str, tuple[str, str]] = {
    "alias bomb": (
        "a0: &a0 ["
        + ", ".join(["x"] * 10)
        + "]\n"
        + "".join(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10)),
        "aliases expand into too many values (alias bomb?)",
    ),
    "python tag": ("x: !!python/object/apply:os.system [echo]\n", "is not allowed"),
    "deep nesting": ("a: " + "[" * 60_000 + "]" * 60_000 + "\n", "nested more than 64 levels deep"),
    "recursive merge": ("a: &a {<<: *a}\n", "recursive alias"),
    "not UTF-8": ("", "not valid UTF-8"),
    "list document": ("- 1\n", "is not of type 'object'"),
}


@pytest.mark.parametrize(("text", "message"), CLI_FAILURES.values(), ids=CLI_FAILURES.keys())
def test_validate_hostile_input_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(text.encode() if text else b"version: \xff\n")
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    assert "internal error" not in err


def test_validate_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: orgdrift validate [-h] [-q] [--per-directory]")
    assert "--format" in out and "--report FORMAT=PATH" in out
    assert "No network." in out


def test_validate_without_files_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate"])
    assert exited.value.code == 2
    assert "the following arguments are required: SPEC" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"orgdrift {__version__}\n"


def test_validate_as_a_real_process() -> None:
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "orgdrift",
            "validate",
            "examples/orgs.yaml",
            "examples/broken.yaml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 2
    assert ran.stdout == ""
    lines = ran.stderr.splitlines()
    assert lines[0].startswith("examples/broken.yaml:4:16: $.policy.connections: 'strict'")
    # globex is declared in both files, and twice in broken.yaml: 9 problems of its own plus one
    assert (
        "examples/broken.yaml:16:11: $.organizations[2].name: organization name 'globex' is declared"
        " twice (first at examples/orgs.yaml:22)"
    ) in lines
    assert lines[-1] == "orgdrift: 10 problems found"
    assert "Traceback" not in ran.stderr
    version = subprocess.run(
        [sys.executable, "-m", "orgdrift", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (version.returncode, version.stdout) == (0, f"orgdrift {__version__}\n")
