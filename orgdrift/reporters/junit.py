"""JUnit XML: one testcase per checked organization, a failure per organization with drift."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import ClassVar

from orgdrift.models import Finding, OrgResult, Report, Severity
from orgdrift.reporters._common import (
    TOOL_NAME,
    Counts,
    RenderOptions,
    ordered_organizations,
    org_findings,
    plural,
)

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with characters XML 1.0 forbids shown as escapes; ElementTree escapes the rest."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _classname(report: Report, org: OrgResult) -> str:
    if org.source is not None:
        return org.source.file
    return report.tenant or "tenant"


def _finding_line(finding: Finding) -> str:
    where = f"{finding.source}: " if finding.source is not None else ""
    level = "warning: " if finding.severity is Severity.WARNING else ""
    return f"{where}{level}[{finding.kind.value}] {finding.message}"


def _testcase(report: Report, org: OrgResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        {"classname": xml_text(_classname(report, org)), "name": xml_text(org.label), "time": "0"},
    )
    findings = org_findings(report, org)
    errors = [f for f in findings if f.severity is Severity.ERROR]
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
    warnings = [f for f in findings if f.severity is Severity.WARNING]
    if warnings:
        out = ET.SubElement(case, "system-out")
        out.text = xml_text("\n".join(_finding_line(f) for f in warnings))
    return case


def build_tree(report: Report) -> ET.Element:
    counts = Counts.of(report)
    attrs = {
        "name": TOOL_NAME,
        "tests": str(counts.organizations),
        "failures": str(counts.failing),
        "errors": "0",
        "skipped": "0",
        "time": f"{report.stats.seconds:.3f}",
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", {**attrs, "timestamp": xml_text(report.checked_at)})
    if report.tenant:
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", {"name": "tenant", "value": xml_text(report.tenant)})
    suite.extend(_testcase(report, org) for org in ordered_organizations(report))
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
