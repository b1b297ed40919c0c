"""The HTML audit report: structure and content read back through an HTML parser.

Every organization, finding, exception and evidence field is on the page; nothing on it fetches
anything; untrusted text (organization names, display names, messages, paths, spec files, the
tenant, exception reasons) comes out as text, never as markup, with invisible characters shown.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from orgdrift.accept import with_fingerprints
from orgdrift.cli import main
from orgdrift.errors import InputError
from orgdrift.jsonfile import schema_problems
from orgdrift.models import FindingKind, OrgStatus, Report, Severity, SpecFile
from orgdrift.reporters import RenderOptions, get_reporter, report_to_dict
from orgdrift.reporters._common import (
    escape_code,
    ordered_organizations,
    scope_phrase,
    summary_line,
)
from orgdrift.reporters.html import display_text, render_html
from orgdrift.reporters.json_report import SCHEMAS, read_report, report_from_dict
from tests.test_packaging import wheel  # noqa: F401  (the built wheel, shared fixture)

from .factory import CASES, at, finding, org, report

GoldenCheck = Callable[[str, str], None]
DATA = Path(__file__).resolve().parent.parent / "data" / "html"
ROOT = Path(__file__).resolve().parent.parent.parent

VOID = {
    "meta",
    "br",
    "hr",
    "img",
    "input",
    "link",
    "area",
    "base",
    "col",
    "embed",
    "source",
    "track",
    "wbr",
}
INLINE = {"span", "code", "bdi", "a"}
ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "main",
    "footer",
    "section",
    "p",
    "h1",
    "h2",
    "h3",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "ul",
    "li",
    "div",
    "span",
    "code",
    "bdi",
    "a",
    "br",
    "figure",
    "figcaption",
    "svg",
    "desc",
    "line",
    "rect",
    "circle",
    "polyline",
    "text",
}
INVISIBLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ud800-\udfff]"
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        """Text as a reader sees it: inline elements run on, others are set apart."""
        parts = [
            c if isinstance(c, str) else c.text() if c.tag in INLINE else f" {c.text()} "
            for c in self.children
        ]
        return " ".join("".join(parts).split())

    def iter(self) -> list[Element]:
        found = [self]
        for child in self.children:
            if isinstance(child, Element):
                found.extend(child.iter())
        return found

    def find(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag) and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]

    def by_id(self, ident: str) -> Element:
        (element,) = self.find(id=ident)
        return element


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.current = self.root
        self.comments: list[str] = []
        self.doctype = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Element(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.current.tag == tag, f"</{tag}> closes <{self.current.tag}>"
        assert self.current.parent is not None
        self.current = self.current.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl


def parse(html: str) -> Element:
    """The page as a tree; asserts every element is closed where it was opened."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.current is builder.root, f"<{builder.current.tag}> never closed"
    assert builder.doctype.lower() == "doctype html"
    assert builder.comments == []
    return builder.root


def assert_safe(page: Element, html: str) -> None:
    """Only the report's own markup; no script, handler, fetch or navigation anywhere."""
    tags = {e.tag for e in page.iter()} - {"#document"}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    for element in page.iter():
        for name, value in element.attrs.items():
            assert not name.startswith("on"), (element.tag, name)
            assert name not in ("src", "srcset", "action", "formaction", "xlink:href", "style")
            if name == "href":
                assert value.startswith("#"), value
        if element.tag == "meta" and "http-equiv" in element.attrs:
            assert element.attrs["http-equiv"] == "Content-Security-Policy"
    (style,) = page.find("style")
    css = style.text()
    assert "@import" not in css and "url(" not in css
    assert not re.search(
        r"(?:src|href|action)\s*=\s*[\"']?\s*(?:https?:|//|javascript:|data:)", html, re.IGNORECASE
    )
    (csp,) = page.find("meta", **{"http-equiv": "Content-Security-Policy"})
    assert "default-src 'none'" in csp.attrs["content"]
    assert "script-src" not in csp.attrs["content"]
    assert not INVISIBLE.search(html.replace("\n", "")), "an invisible character got through"


def shown(text: str) -> str:
    """How the page shows untrusted text: invisible characters as escapes, spaces collapsed."""
    return " ".join("".join(escape_code(c) if INVISIBLE.match(c) else c for c in text).split())


def render(value: Report) -> str:
    return get_reporter("html").render(value, RenderOptions())


# --- every case of the other reporters -------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_organization_finding_and_evidence_field_is_on_the_page(case: str) -> None:
    built = CASES[case]()
    html = render(built)
    page = parse(html)
    assert_safe(page, html)
    orgs = page.by_id("organizations").text() if built.organizations else ""
    for result in built.organizations:
        assert shown(result.label) in orgs
        if result.id:
            assert result.id in orgs
        if result.source:
            assert shown(str(result.source)) in orgs
        for item in result.findings:
            assert shown(item.message) in orgs
            if item.source:
                assert shown(str(item.source)) in orgs
    evidence = page.by_id("evidence").text()
    assert f"orgdrift {built.tool_version}" in evidence
    assert built.checked_at in evidence
    assert shown(built.tenant or "not named in the report") in evidence
    for spec in built.spec_files:
        assert shown(spec.path) in evidence and spec.sha256 in evidence
    assert f"{built.stats.requests} requests" in evidence


NO_VERDICT_TITLES = {
    "valid": "Valid spec: no tenant was compared",
    "invalid": "No verdict: the input is invalid",
    "incomplete": "No verdict: the tenant could not be read completely",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_verdict_and_scope_come_first(case: str) -> None:
    built = CASES[case]()
    page = parse(render(built))
    (body,) = page.find("body")
    (header,) = body.find("header")
    first = [e for e in header.children if isinstance(e, type(header))]
    assert [e.tag for e in first[:3]] == ["p", "h1", "section"]
    verdict = page.by_id("verdict")
    classes = verdict.attrs["class"].split()
    if built.verdict:
        assert ("outcome-in_sync" if built.in_sync else "outcome-drift") in classes
        assert verdict.text().startswith("In sync" if built.in_sync else "Drift found")
    else:  # never styled or worded as a verdict
        assert "notice" in classes
        assert not {"outcome-in_sync", "outcome-drift"} & set(classes)
        assert verdict.text().startswith(NO_VERDICT_TITLES[built.status.value])
        assert "In sync" not in verdict.text() and "Drift found" not in verdict.text()
        if built.failure is not None:
            for problem in built.failure.problems or ():
                assert shown(problem.message) in verdict.text()
            if not built.failure.problems:
                assert shown(built.failure.message) in verdict.text()
    sections = [e.attrs.get("id") for e in page.find("section")]
    body_sections = (
        ["verdict", "organizations", "evidence"] if built.organizations else ["verdict", "evidence"]
    )
    assert [s for s in sections if s in body_sections] == body_sections
    assert "Scope" in header.text()


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c]().verdict))
def test_in_sync_and_drift_sentences_count_like_the_text_report(case: str) -> None:
    built = CASES[case]()
    verdict = parse(render(built)).by_id("verdict").text()
    text = summary_line(built)  # e.g. "drift: 7 findings in 4 of 5 organizations (1 missing)"
    head, _, sentence = text.partition(": ")
    sentence = sentence.replace(scope_phrase(built), "")  # the page shows the scope apart
    assert verdict == ("In sync " if head == "in sync" else "Drift found ") + sentence


def test_colour_and_verbosity_do_not_change_the_page() -> None:
    built = CASES["drift"]()
    html = get_reporter("html")
    plain = html.render(built, RenderOptions())
    assert html.render(built, RenderOptions(color=True, verbose=True)) == plain


# --- untrusted text --------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "</style><style>body{background:url(https://evil.example/x)}</style>",
    "<!-- comment --> ]]> <![CDATA[x]]>",
    "{{ 7 * 7 }} {% raw %}",
    "javascript:alert(1)",
    "&amp; &lt;b&gt; &#x3c;",
    "\u202egnp.exe",  # right-to-left override: would show as 'exe.png'
    "ac\u200bme\u200d\ufeff",  # zero-width characters: would look like 'acme'
    "שלום עולם",  # right-to-left text
    "line\nbreak\r\tand \x1b[31mescape\x00",
    "\ud800 lone surrogate",
]


def hostile_report() -> Report:
    orgs = []
    for index, text in enumerate(HOSTILE):
        orgs.append(
            org(
                text,
                OrgStatus.DRIFTED,
                at(index + 2, 3, f"specs/{text}.yaml"),
                finding(
                    FindingKind.FIELD_CHANGED,
                    text,
                    f"metadata.{text}",
                    {"display_name": text},
                    text,
                    f"display_name is {text!r}, expected <b>{text}</b>",
                    at(index + 3, 5, f"specs/{text}.yaml"),
                ),
                id=f"org_{index}{text}",
            )
        )
    files = tuple(
        SpecFile(f"specs/{t}.yaml", hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest())
        for t in HOSTILE
    )
    return report(*orgs, spec_files=files, tenant=HOSTILE[1] + ".auth0.com")


def test_markup_quotes_bidi_and_zero_width_characters_stay_text() -> None:
    built = hostile_report()
    html = render(built)
    html.encode("utf-8")  # a lone surrogate must not make the page unwritable
    page = parse(html)
    assert_safe(page, html)
    orgs = page.by_id("organizations")
    text = orgs.text()
    for result in built.organizations:
        assert shown(result.label) in text
        assert shown(result.id or "") in text
        for item in result.findings:
            assert shown(item.message) in text
            assert shown(item.path) in text
    assert "\\u202egnp.exe" in text and "ac\\u200bme\\u200d\\ufeff" in text
    assert "\\x1b[31mescape\\x00" in text and "\\ud800 lone surrogate" in text
    assert "שלום עולם" in text
    assert "{{ 7 * 7 }}" in text and "49" not in text
    # each name is one text node inside a <bdi>, so bidi text cannot reorder its neighbours
    names = [e for e in orgs.find("div") if e.attrs.get("class") == "org-name"]
    assert [n.children[0].tag for n in names if isinstance(n.children[0], type(orgs))] == [
        "bdi"
    ] * len(HOSTILE)
    assert page.find("title")[0].text().startswith("orgdrift audit report: ")


def test_display_text_escapes_and_marks_invisible_characters() -> None:
    assert str(display_text('<a href="x">&')) == "&lt;a href=&#34;x&#34;&gt;&amp;"
    assert str(display_text("a\u202eb")) == "a<span class=esc>\\u202e</span>b"
    assert str(display_text("\U000e0001")) == "<span class=esc>\\U000e0001</span>"
    assert str(display_text("zoë 🙂 ключ")) == "zoë 🙂 ключ"


# --- reports read back from their JSON files (tests/data/html), every version ------------------


V1_KEYS = (
    "tool",
    "tool_version",
    "report_version",
    "tenant",
    "checked_at",
    "spec_files",
    "in_sync",
    "organizations",
    "stats",
    "source",
)
V1_SUMMARY_KEYS = ("declared", "in_sync", "drifted", "missing", "unmanaged", "findings")
V1_FINDING_KEYS = (
    "kind",
    "severity",
    "organization",
    "path",
    "expected",
    "actual",
    "message",
    "source",
)


def version_1(document: dict[str, Any]) -> dict[str, Any]:
    """Only the fields of the first JSON report format (before status, scope, accepted...)."""
    kept = {key: document[key] for key in V1_KEYS}
    kept["report_version"] = 1
    kept["spec_files"] = [
        {"path": f["path"], "sha256": f["sha256"]} for f in document["spec_files"]
    ]
    kept["summary"] = {key: document["summary"][key] for key in V1_SUMMARY_KEYS}
    kept["organizations"] = [
        {**o, "findings": [{k: f[k] for k in V1_FINDING_KEYS} for f in o["findings"]]}
        for o in document["organizations"]
    ]
    return kept


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return document


def page_of(document: dict[str, Any]) -> str:
    """The page of a JSON report document, read back as `orgdrift report` reads a file."""
    assert not schema_problems("r.json", document, SCHEMAS[document["report_version"]])
    return render_html(report_from_dict(document))


@pytest.mark.parametrize("name", ["full", "incomplete", "invalid_spec"])
def test_golden_from_json_documents(name: str, golden: GoldenCheck) -> None:
    html = page_of(load(name))
    assert_safe(parse(html), html)
    golden(f"reporters/html/doc-{name}.html", html)


def test_scope_exceptions_fingerprints_and_evidence_when_present() -> None:
    document = load("full")
    page = parse(page_of(document))
    header = page.find("header")[0].text()
    assert "Organizations selected: acme, customer-*" in header
    assert "Changed from git ref: origin/main" in header
    assert "Baseline report: evidence/baseline.json" in header
    assert (
        "Part of the spec: the 3 declared organizations that the --org selection matched and "
        "that were added or changed since origin/main; the rest of the spec was not checked."
    ) in header

    exceptions = page.by_id("exceptions")
    (row,) = exceptions.find("tbody")[0].find("tr")
    cells = [td.text() for td in row.find("td")]
    assert cells == [
        "acme",
        "auth0/orgs.yaml:14: connection google-oauth2 is enabled but not allowed",
        "SSO migration, SEC-142",
        "@platform",
        "2026-11-20",
        "18 days left",
        "auth0/orgs.yaml:40",
    ]
    assert row.find("td")[5].attrs["class"] == "date"  # urgent within 14 days, as the spec warns
    orgs = page.by_id("organizations").text()
    assert (
        "Accepted until 2026-11-20 (18 days left): SSO migration, SEC-142; owner @platform" in orgs
    )
    for item in (f for o in document["organizations"] for f in o["findings"]):
        assert f"fingerprint {item['fingerprint']}" in orgs
    badges = [
        e.text()
        for e in page.by_id("organizations").find("span")
        if "status" in e.attrs.get("class", "").split()
    ]
    assert badges == ["drifted", "known", "accepted", "drifted", "error", "in sync"]

    verdict = page.by_id("verdict").text()
    assert verdict == ("Drift found 3 findings (1 accepted, 1 known) in 2 of 3 organizations")
    evidence = page.by_id("evidence").text()
    assert "Snapshot sha256 not recorded in this report" in evidence
    assert "Scopes used not recorded in this report" in evidence
    assert "Live state from a saved snapshot (offline check)" in evidence
    assert "9 requests, 0 retries, 0 rate limited, 0.41 s" in evidence


def test_urgency_days_left_and_expired_exceptions() -> None:
    document = load("full")
    (accepted,) = [
        f["accepted"] for o in document["organizations"] for f in o["findings"] if f["accepted"]
    ]
    for expires, text, urgent in [
        ("2026-11-16", "14 days left", True),
        ("2026-11-03", "1 day left", True),
        ("2026-11-02", "expires today", True),
        ("2026-10-31", "expired 2 days before", True),
        ("2027-02-01", "91 days left", False),
    ]:
        accepted["expires"] = expires
        row = parse(page_of(document)).by_id("exceptions").find("tbody")[0].find("tr")[0]
        cell = row.find("td")[5]
        assert cell.text() == text
        assert ("urgent" in cell.attrs["class"].split()) is urgent


def test_a_version_1_report_says_what_it_does_not_record() -> None:
    built = CASES["missing"]()
    page = parse(page_of(version_1(report_to_dict(built))))  # none of the newer fields
    header = page.find("header")[0].text()
    assert "Scope Not recorded in this report (it may cover only some organizations)." in header
    assert "None: no finding in this report is accepted" in page.by_id("exceptions").text()
    evidence = page.by_id("evidence").text()
    assert "Report version 1" in evidence
    assert "Snapshot sha256 not recorded in this report" in evidence  # an offline check
    assert "Scopes used not recorded in this report" in evidence
    assert "Tenant not named in the report" in evidence


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c]().verdict))
def test_a_version_1_report_reads_as_the_report_it_was_written_from(case: str) -> None:
    """Version 1 carried no fingerprints: reading one gives each finding the fingerprint the
    run would give it now, so a baseline or a history spanning the upgrade follows it."""
    built = CASES[case]()
    tenant = built.tenant
    with_prints = replace(built, organizations=with_fingerprints(built.organizations, tenant))
    read = report_from_dict(version_1(report_to_dict(with_prints)))
    assert [f.fingerprint for f in read.findings] == [
        f.fingerprint for f in report_from_dict(report_to_dict(with_prints)).findings
    ]
    assert [(o.label, o.status) for o in read.organizations] == [
        (o.label, o.status) for o in ordered_organizations(with_prints)
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_report_read_back_from_its_json_renders_the_same_page(case: str) -> None:
    built = CASES[case]()
    document = json.loads(get_reporter("json").render(built, RenderOptions()))
    assert page_of(document) == render(built)


def test_an_incomplete_read_says_so_first_and_is_never_styled_as_a_verdict() -> None:
    document = load("incomplete")
    html = page_of(document)
    page = parse(html)
    verdict = page.by_id("verdict")
    assert "notice" in verdict.attrs["class"].split()
    assert not any(c.startswith("outcome-") for c in verdict.attrs["class"].split())
    assert verdict.text().startswith("No verdict: the tenant could not be read completely")
    assert document["incomplete"]["message"] in verdict.text()
    assert "In sync" not in verdict.text() and "Drift found" not in verdict.text()
    assert "not a verdict" in page.by_id("summary").text()
    assert "not a verdict" in page.by_id("organizations").text()
    assert 'class="status status-in_sync"' in html  # what was read is listed, under that heading
    assert not page.find(id="exceptions")


def test_an_invalid_spec_lists_its_problems_and_is_not_a_verdict() -> None:
    document = load("invalid_spec")
    page = parse(page_of(document))
    verdict = page.by_id("verdict")
    assert "notice" in verdict.attrs["class"].split()
    assert verdict.text().startswith("No verdict: the input is invalid")
    items = [li.text() for li in verdict.find("li")]
    assert items == [
        "auth0/orgs.yaml:4:16: $.policy.connections: 'strict' is not one of ['exact', 'allowlist']",
        (
            "auth0/orgs.yaml:7:5: $.organizations[0].display_nmae: unknown field 'display_nmae'; "
            "did you mean 'display_name'?"
        ),
    ]
    assert not page.find(id="organizations")


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda d: d.update(status="something-new"), "$.status", "'something-new' is not one of"),
        (lambda d: d.update(in_sync="yes"), "$.in_sync", "'yes' is not of type 'boolean', 'null'"),
        (
            lambda d: d["organizations"][2]["findings"].append({"waived_by": "ticket #7"}),
            "$.organizations[2].findings[0]",
            "'kind' is required",
        ),
        (
            lambda d: d["organizations"].append({"status": 7, "findings": None}),
            "$.organizations[3]",
            "'name' is required",
        ),
        (lambda d: d.update(spec_files="oops"), "$.spec_files", "'oops' is not of type 'array'"),
    ],
)
def test_a_report_that_its_schema_refuses_is_not_rendered(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], path: str, message: str
) -> None:
    """No page from a guess: a report that is not what orgdrift wrote is refused, naming the
    file and the JSON path (exit 2 from `orgdrift report` and `--baseline`)."""
    document = load("full")
    change(document)
    target = tmp_path / "r.json"
    target.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as refused:
        read_report(str(target))
    assert any(
        p.file == str(target) and p.path == path and p.message.startswith(message)
        for p in refused.value.problems
    ), refused.value.message


# --- the scope: what the verdict covers, said for every kind of check ---------------------------

SCOPE_SENTENCES = {
    "drift": "The whole spec: every declared organization was in scope.",
    "incomplete": (
        "The whole spec: every declared organization was in scope. Organizations the spec does "
        "not declare were looked for too."
    ),
    "scoped": (
        "Part of the spec: the 1 declared organization that the --org selection matched; "
        "the rest of the spec was not checked."
    ),
    "living": (
        "Part of the spec: the 2 declared organizations added or changed since origin/main; "
        "the rest of the spec was not checked."
    ),
    "incremental": (
        "The whole spec: every declared organization, read incrementally (check --since): those "
        "the tenant logs touched after the snapshot of 2026-11-29T06:00:00Z were read again, "
        "the others taken from that snapshot."
    ),
    "incremental_full_read": (
        "The whole spec: every declared organization, read in full (check --since fell back "
        "because the snapshot's log checkpoint is no longer retained by the tenant)."
    ),
}


@pytest.mark.parametrize("case", sorted(SCOPE_SENTENCES))
def test_the_page_says_what_the_verdict_covers(case: str) -> None:
    built = CASES[case]()
    header = parse(render(built)).find("header")[0]
    (scope,) = [
        dd
        for dt, dd in zip(header.find("dt"), header.find("dd"), strict=True)
        if dt.text() == "Scope"
    ]
    notes = [p.text() for p in header.find("p") if p.attrs.get("class") == "scope-note"]
    assert (notes[0] if notes else scope.text()) == SCOPE_SENTENCES[case]
    assert ("Part of the spec" in SCOPE_SENTENCES[case]) is built.scope.partial


# --- end to end --------------------------------------------------------------------------------


def test_demo_writes_the_html_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    target = tmp_path / "report.html"
    assert main(["demo", "-q", "--report", f"html={target}"]) == 1
    html = target.read_text(encoding="utf-8")
    page = parse(html)
    assert_safe(page, html)
    assert page.by_id("verdict").text() == (
        "Drift found 4 findings (1 warning) in 4 of 6 organizations (1 unmanaged)"
    )
    orgs = page.by_id("organizations").text()
    for name in ("acme", "globex", "initech", "umbrella", "hooli", "pied-piper"):
        assert name in orgs
    assert "examples/orgs.yaml:18" in orgs
    assert "connection google-oauth2 is enabled but not allowed" in orgs
    assert "Scope The whole spec: every declared organization was in scope." in (
        page.find("header")[0].text()
    )
    assert main(["demo", "-q", "--org", "acme", "--report", f"html={target}"]) == 1
    header = parse(target.read_text(encoding="utf-8")).find("header")[0].text()
    assert "Scope Organizations selected: acme Part of the spec: the 1 declared organization" in (
        header
    )


def test_check_format_html_on_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code = main(["demo", "--format", "html"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("<!DOCTYPE html>")
    parse(out)


def test_the_wheel_ships_the_template(wheel: Path) -> None:  # noqa: F811
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("orgdrift/reporters/templates/report.html.j2")
    source = ROOT / "orgdrift" / "reporters" / "templates" / "report.html.j2"
    assert shipped == source.read_bytes()


def test_warnings_and_severity_badges() -> None:
    built = CASES["unmanaged_report"]()
    page = parse(render(built))
    badges = [
        s.text()
        for s in page.by_id("organizations").find("span")
        if "status" in s.attrs.get("class", "")
    ]
    assert badges == ["in sync", "unmanaged", "warning"]
    assert built.organizations[1].findings[0].severity is Severity.WARNING


@pytest.mark.loopback
def test_check_over_a_loopback_socket_writes_the_page_with_every_other_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from orgdrift.emulator import DEFAULT_TOKEN
    from tests.test_cli_check import TENANT, serve

    monkeypatch.chdir(ROOT)
    for url in serve(TENANT):
        monkeypatch.setenv("AUTH0_DOMAIN", url)
        monkeypatch.setenv("AUTH0_API_TOKEN", DEFAULT_TOKEN)
        code = main(
            [
                "check",
                "examples/orgs.yaml",
                "-q",
                "--report",
                f"html={tmp_path / 'r.html'}",
                "--report",
                f"json={tmp_path / 'r.json'}",
            ]
        )
    assert code == 1
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    read_back = render_html(report_from_dict(document))  # the same Report, read back
    seconds = re.compile(r"\d+\.\d\d s<")  # JSON keeps the wall time to the millisecond
    # ... plus what the plan says would fix each finding (the page's only addition; `orgdrift
    # plan` proves those requests against the emulator).
    fixes = re.findall(r"<dt>remediation</dt><dd>([^<]*)</dd>", html)
    assert len(fixes) == 4 and "DELETE /api/v2/organizations/" in fixes[0], fixes
    html_without = re.sub(r"<dt>remediation</dt><dd>[^<]*</dd>", "", html)
    assert seconds.sub("s<", html_without) == seconds.sub("s<", read_back)
    page = parse(html)
    assert_safe(page, html)
    assert page.by_id("verdict").text().startswith("Drift found 4 findings (1 warning) in 4 of ")
    evidence = page.by_id("evidence").text()
    assert f"{document['stats']['requests']} requests" in evidence
    assert document["tenant"] in evidence and document["spec_files"][0]["sha256"] in evidence


def test_every_field_vulture_is_told_to_ignore_is_read_by_the_template() -> None:
    """The names pyproject.toml's [tool.vulture] ignores are view fields the template reads."""
    import tomllib

    names = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["vulture"]
    template = (ROOT / "orgdrift" / "reporters" / "templates" / "report.html.j2").read_text(
        encoding="utf-8"
    )
    for name in names["ignore_names"]:
        assert re.search(rf"\.{name}\b", template), name
