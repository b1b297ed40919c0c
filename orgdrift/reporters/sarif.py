"""SARIF 2.1.0 for code scanning: each result located at the spec line that declares it."""

from __future__ import annotations

import functools
import hashlib
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any, ClassVar
from urllib.parse import quote

from orgdrift.models import Finding, FindingKind, Report, Severity
from orgdrift.reporters._common import (
    INFORMATION_URI,
    KIND_INFO,
    TOOL_NAME,
    RenderOptions,
    json_document,
    json_value,
    ordered_findings,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "orgdriftFinding/v1"
_RULE_INDEX = {kind: index for index, kind in enumerate(FindingKind)}


@functools.lru_cache(maxsize=256)
def artifact_uri(path: str) -> str:
    """A URI reference for a spec path: relative paths stay relative (forward slashes)."""
    windows = PureWindowsPath(path)
    pure: PurePath = windows if windows.drive else PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute():
        return pure.as_uri()
    parts = [part for part in PurePosixPath(pure.as_posix()).parts if part != "."]
    return quote("/".join(parts), safe="/")


def fingerprint(finding: Finding) -> str:
    """Stable across runs and edits that move lines: kind, organization and path only."""
    key = f"{finding.kind.value}\x00{finding.organization}\x00{finding.path}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _rule(kind: FindingKind) -> dict[str, Any]:
    info = KIND_INFO[kind]
    return {
        "id": kind.value,
        "name": info.title,
        "shortDescription": {"text": info.description},
        "fullDescription": {"text": info.description},
        "help": {"text": info.help},
        "defaultConfiguration": {"level": "error"},
    }


def _locations(report: Report, finding: Finding) -> list[dict[str, Any]]:
    logical = {"name": finding.organization, "kind": "object"}
    source = finding.source
    if source is not None:
        physical: dict[str, Any] = {
            "artifactLocation": {"uri": artifact_uri(source.file)},
            "region": {"startLine": max(source.line, 1), "startColumn": max(source.column, 1)},
        }
    elif report.spec_files:
        physical = {"artifactLocation": {"uri": artifact_uri(report.spec_files[0].path)}}
    else:
        return [{"logicalLocations": [logical]}]
    return [{"physicalLocation": physical, "logicalLocations": [logical]}]


def _result(report: Report, finding: Finding) -> dict[str, Any]:
    return {
        "ruleId": finding.kind.value,
        "ruleIndex": _RULE_INDEX[finding.kind],
        "level": "error" if finding.severity is Severity.ERROR else "warning",
        "message": {"text": f"{finding.organization}: {finding.message}"},
        "locations": _locations(report, finding),
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding)},
        "properties": {
            "organization": finding.organization,
            "path": finding.path,
            "expected": json_value(finding.expected),
            "actual": json_value(finding.actual),
        },
    }


def report_to_sarif(report: Report) -> dict[str, Any]:
    driver = {
        "name": TOOL_NAME,
        "version": report.tool_version,
        "informationUri": INFORMATION_URI,
        "rules": [_rule(kind) for kind in FindingKind],
    }
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [{"executionSuccessful": True}],
        "columnKind": "unicodeCodePoints",
        "results": [_result(report, finding) for finding in ordered_findings(report)],
    }
    if report.tenant:
        run["properties"] = {"tenant": report.tenant}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


class SarifReporter:
    name: ClassVar[str] = "sarif"
    description: ClassVar[str] = "SARIF 2.1.0 for code scanning (results at spec lines)"
    suffix: ClassVar[str] = ".sarif"

    def render(self, report: Report, options: RenderOptions) -> str:
        return json_document(report_to_sarif(report))
