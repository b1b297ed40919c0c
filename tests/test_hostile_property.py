"""Property: file names and tenant text drawn from hostile alphabets (quotes, `$()`, backticks,
newlines, bidi and zero-width characters, `@`, `::`, `%0A`, escape sequences, Markdown and SARIF
link syntax) change nothing but the text shown. Every report keeps its format, no file outside
the named outputs changes, and the verdict equals the one benign names give. 20 examples in
every run; ORGDRIFT_SOAK=1 runs 500."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from orgdrift.cli import main
from orgdrift.reporters import REPORTERS

SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
PIECES = [
    "'",
    '"',
    "$(touch pwned)",
    "`id`",
    "\n",
    "\r\n",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ufeff",
    "@alice",
    "@org/team",
    "::error::",
    "%0A",
    "%25",
    "\x1b[31m",
    "\x9b",
    "[x](1)",
    "{0}",
    "<b>",
    "&amp;",
    "#12",
    ":tada:",
    "https://evil.example",
    "\\",
    "-",
    "a",
    " ",
    "é",
]
HOSTILE = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join)
FILE_NAMES = HOSTILE.filter(
    lambda n: n not in (".", "..") and len(n.encode()) < 200 and not n.startswith(".")
).map(lambda n: n.replace("/", "_"))
INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
FORMATS = tuple(REPORTERS)  # every format orgdrift writes
SPEC = "version: 1\norganizations:\n  - name: acme\n    display_name: Acme\n"


def _snapshot(display_name: str) -> str:
    organization = {
        "id": "org_1",
        "name": "acme",
        "display_name": display_name,
        "metadata": {"note": display_name},
        "enabled_connections": [],
    }
    return json.dumps(
        {"snapshot_version": 1, "tenant": "t.example.com", "organizations": [organization]}
    )


@contextmanager
def _directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        previous = Path.cwd()
        os.chdir(directory)
        try:
            yield Path(directory)
        finally:
            os.chdir(previous)


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def _run(
    spec_name: str, display_name: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, dict[str, str]]:
    """`check` of `spec_name` against a snapshot showing `display_name`, every format written:
    (exit code, stdout, each report's text). Asserts nothing else in the directory changed."""
    with _directory() as root:
        (root / spec_name).write_text(SPEC, encoding="utf-8")
        (root / "live.json").write_text(_snapshot(display_name), encoding="utf-8")
        before = _tree(root)
        reports = [f"--report={fmt}=out.{fmt}" for fmt in FORMATS]
        code = main(["check", "--live=live.json", "--format=text", *reports, "--", spec_name])
        out, _ = capsys.readouterr()
        after = _tree(root)
        written = {f"out.{fmt}" for fmt in FORMATS}
        assert {k: v for k, v in after.items() if k not in written} == before
        assert set(after) - set(before) == written
        texts = {fmt: (root / f"out.{fmt}").read_text(encoding="utf-8") for fmt in FORMATS}
    return code, out, texts


def _raw_invisible(text: str) -> list[str]:
    """Control, format (bidi, zero-width), surrogate and separator characters left raw; told
    apart here on their own, not with the function under test."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in INVISIBLE]


def _findings(texts: dict[str, str]) -> list[dict[str, Any]]:
    document = json.loads(texts["json"])
    return [f for org in document["organizations"] for f in org["findings"]]


def _verdict(texts: dict[str, str]) -> list[tuple[str, str, str, str]]:
    return [(f["organization"], f["kind"], f["path"], f["severity"]) for f in _findings(texts)]


@given(spec_name=FILE_NAMES, display_name=HOSTILE)
@settings(
    max_examples=500 if os.environ.get("ORGDRIFT_SOAK") == "1" else 20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_hostile_names_and_tenant_text_change_only_the_text(
    spec_name: str, display_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    expected_code, expected_out, expected = _run("orgs.yaml", "Acme (renamed)", capsys)
    code, out, texts = _run(spec_name, display_name, capsys)
    assert code == expected_code == 1
    assert _verdict(texts) == _verdict(expected)
    (changed,) = [f for f in _findings(texts) if f["path"] == "display_name"]
    assert changed["actual"] == display_name  # JSON is data: the tenant's text exactly
    for fmt in FORMATS:
        assert not _raw_invisible(texts[fmt]), fmt
    assert not _raw_invisible(out)
    # GitLab shows a Code Quality description as text: escaped JSON is not enough
    for issue in json.loads(texts["codequality"]):
        assert not _raw_invisible(issue["description"])
    # no forged lines: as many lines as with benign names, each annotation one command
    assert out.count("\n") == expected_out.count("\n")
    for fmt in ("text", "markdown", "github"):
        assert texts[fmt].count("\n") == expected[fmt].count("\n"), fmt
    assert all(line.startswith("::") for line in texts["github"].splitlines())
    # Markdown: no mention, autolink, shortcode or reference survives
    markdown = texts["markdown"]
    assert "@alice" not in markdown and "@org" not in markdown
    assert "://" not in markdown and ":tada:" not in markdown and "#12" not in markdown
    # JUnit parses; SARIF is valid and its messages hold no placeholder or link syntax
    ET.fromstring(texts["junit"])
    sarif: dict[str, Any] = json.loads(texts["sarif"])
    Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))).validate(sarif)
    for result in sarif["runs"][0]["results"]:
        message = result["message"]["text"]
        assert "{0}" not in message.replace("{{0}}", "")
        assert "[x](1)" not in message
