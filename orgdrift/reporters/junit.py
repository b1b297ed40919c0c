"""JUnit XML: one testcase per checked organization, a failure per organization with drift.

Valid against Jenkins' junit-10.xsd. A classname has no dots (Jenkins would split it into a
package and a class). An invalid spec is a failure per spec file; an incomplete read an <error>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import ClassVar

from orgdrift.models import Failure, Finding, OrgResult, Report, Status
from orgdrift.reporters._common import (
    TOOL_NAME,
    RenderOptions,
    basis_phrase,
    level,
    noted,
    ordered_organizations,
    org_findings,
    plural,
    summary_line,
    visible,
)

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with invisible characters (`visible`) and those XML 1.0 forbids shown as escapes;
    ElementTree escapes the rest. Newlines are kept: callers join lines already made visible."""
    shown = visible(text, keep="\n")
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", shown)


def classname(text: str) -> str:
    """A readable classname without dots: `examples/orgs_yaml`, `acme-prod_eu_auth0_com`."""
    return xml_text(text).replace(".", "_")


def _classname(report: Report, org: OrgResult) -> str:
    if org.source is not None:
        return classname(org.source.file)
    return classname(report.tenant or "tenant")


def _finding_line(finding: Finding) -> str:
    where = f"{finding.source}: " if finding.source is not None else ""
    prefix = "warning: " if level(finding) == "warning" else ""  # a note says accepted or known
    return visible(f"{where}{prefix}[{finding.kind.value}] {noted(finding)}")


def _testcase(report: Report, org: OrgResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        {"classname": _classname(report, org), "name": xml_text(org.label), "time": "0"},
    )
    findings = org_findings(report, org)
    errors = [f for f in findings if f.fails]
    if errors:
        failure = ET.SubElement(
            case,
            "failure",
            {
                "message": xml_text(f"{org.status.value}: {plural(len(errors), 'finding')}"),
                "type": org.status.value,
            },
        )
        failure.text = xml_text("\n".join(_finding_line(f) for f in errors))
    warnings = [f for f in findings if not f.fails]  # warnings, accepted, known: reported only
    if warnings:
        out = ET.SubElement(case, "system-out")
        out.text = xml_text("\n".join(_finding_line(f) for f in warnings))
    return case


def _file_cases(report: Report, failure: Failure) -> list[ET.Element]:
    """An invalid input: one testcase per file, failed with its problems (and one for the rest)."""
    files = [f.path for f in report.spec_files]
    files += sorted({p.file for p in failure.problems if p.file} - set(files))
    cases = []
    for file in [*files, ""]:
        problems = [p for p in failure.problems if p.file == file]
        if not file and not problems:
            continue
        case = ET.Element(
            "testcase",
            {"classname": TOOL_NAME, "name": xml_text(file or "command line"), "time": "0"},
        )
        if problems:
            failed = ET.SubElement(
                case,
                "failure",
                {"message": xml_text(plural(len(problems), "problem")), "type": "invalid"},
            )
            lines = (visible(p.render() if p.file else p.message) for p in problems)
            failed.text = xml_text("\n".join(lines))
        cases.append(case)
    return cases


def _error_case(report: Report, failure: Failure) -> ET.Element:
    """An incomplete read: one testcase in error, which no reader counts as passed."""
    case = ET.Element(
        "testcase",
        {"classname": classname(report.tenant or TOOL_NAME), "name": "live state", "time": "0"},
    )
    error = ET.SubElement(
        case, "error", {"message": xml_text(summary_line(report)), "type": "incomplete"}
    )
    error.text = xml_text(failure.message)
    return case


def _cases(report: Report) -> list[ET.Element]:
    failure = report.failure
    if failure is not None and report.status is Status.INCOMPLETE:
        return [_error_case(report, failure)]
    if failure is not None:
        return _file_cases(report, failure)
    if not report.verdict:  # a valid spec: a passed testcase per file
        return [
            ET.Element("testcase", {"classname": TOOL_NAME, "name": xml_text(f.path), "time": "0"})
            for f in report.spec_files
        ]
    return [_testcase(report, org) for org in ordered_organizations(report)]


def build_tree(report: Report) -> ET.Element:
    cases = _cases(report)
    attrs = {
        "name": TOOL_NAME,
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": str(sum(1 for c in cases if c.find("error") is not None)),
        "time": f"{report.stats.seconds:.3f}",
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(
        root, "testsuite", {**attrs, "skipped": "0", "timestamp": xml_text(report.checked_at)}
    )
    properties = {"tenant": report.tenant, "basis": report.basis and basis_phrase(report.basis)}
    if any(properties.values()):
        props = ET.SubElement(suite, "properties")
        for name, value in properties.items():
            if value:
                ET.SubElement(props, "property", {"name": name, "value": xml_text(value)})
    suite.extend(cases)
    if report.warnings:  # about the spec itself (exceptions unused or expiring): reported only
        out = ET.SubElement(suite, "system-out")
        out.text = xml_text("\n".join(visible(f"warning: {p.render()}") for p in report.warnings))
    return root


class JunitReporter:
    name: ClassVar[str] = "junit"
    description: ClassVar[str] = "JUnit XML, one testcase per organization (CI test reports)"
    suffix: ClassVar[str] = ".xml"

    def render(self, report: Report, options: RenderOptions) -> str:
        root = build_tree(report)
        ET.indent(root, space="  ")
        body = ET.tostring(root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
