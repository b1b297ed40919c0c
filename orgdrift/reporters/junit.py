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
    ordered_findings,
    ordered_organizations,
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


def _case(group: str, name: str) -> ET.Element:
    return ET.Element("testcase", {"classname": group, "name": xml_text(name), "time": "0"})


def _failed(case: ET.Element, tag: str, message: str, kind: str, lines: list[str]) -> None:
    """`case` failed (`<failure>`) or in error (`<error>`), with a message and lines of detail."""
    failure = ET.SubElement(case, tag, {"message": xml_text(message), "type": kind})
    failure.text = xml_text("\n".join(lines))


def _finding_line(finding: Finding) -> str:
    where = f"{finding.source}: " if finding.source is not None else ""
    prefix = "warning: " if level(finding) == "warning" else ""  # a note says accepted or known
    return visible(f"{where}{prefix}[{finding.kind.value}] {noted(finding)}")


def _testcase(report: Report, org: OrgResult) -> ET.Element:
    where = org.source.file if org.source is not None else report.tenant or "tenant"
    case = _case(classname(where), org.label)
    findings = ordered_findings(report, org)
    errors = [_finding_line(f) for f in findings if f.fails]
    if errors:
        message = f"{org.status.value}: {plural(len(errors), 'finding')}"
        _failed(case, "failure", message, org.status.value, errors)
    warnings = [_finding_line(f) for f in findings if not f.fails]  # warnings, accepted, known
    if warnings:
        ET.SubElement(case, "system-out").text = xml_text("\n".join(warnings))
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
        case = _case(TOOL_NAME, file or "command line")
        if problems:
            lines = [visible(p.render() if p.file else p.message) for p in problems]
            _failed(case, "failure", plural(len(problems), "problem"), "invalid", lines)
        cases.append(case)
    return cases


def _cases(report: Report) -> list[ET.Element]:
    failure = report.failure
    if failure is not None and report.status is Status.INCOMPLETE:
        # one testcase in error, which no reader counts as passed
        case = _case(classname(report.tenant or TOOL_NAME), "live state")
        _failed(case, "error", summary_line(report), "incomplete", [failure.message])
        return [case]
    if failure is not None:
        return _file_cases(report, failure)
    if not report.verdict:  # a valid spec: a passed testcase per file
        return [_case(TOOL_NAME, f.path) for f in report.spec_files]
    return [_testcase(report, org) for org in ordered_organizations(report)]


class JunitReporter:
    name: ClassVar[str] = "junit"
    description: ClassVar[str] = "JUnit XML, one testcase per organization (CI test reports)"
    suffix: ClassVar[str] = ".xml"

    def render(self, report: Report, options: RenderOptions) -> str:
        cases = _cases(report)
        attrs = {
            "name": TOOL_NAME,
            "tests": str(len(cases)),
            "failures": str(sum(c.find("failure") is not None for c in cases)),
            "errors": str(sum(c.find("error") is not None for c in cases)),
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
            lines = (visible(f"warning: {p.render()}") for p in report.warnings)
            ET.SubElement(suite, "system-out").text = xml_text("\n".join(lines))
        ET.indent(root, space="  ")
        body = ET.tostring(root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
