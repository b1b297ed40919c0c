"""SARIF 2.1.0 for code scanning: each result located at the spec line that declares it."""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any, ClassVar, NamedTuple
from urllib.parse import quote

from orgdrift.errors import Location, Problem
from orgdrift.models import Finding, FindingKind, Report, Severity, Status
from orgdrift.reporters._common import (
    TOOL_NAME,
    RenderOptions,
    basis_dict,
    json_document,
    json_value,
    noted,
    ordered_findings,
    placed,
    problem_text,
    summary_line,
    visible,
)

INFORMATION_URI = "https://pypi.org/project/orgdrift/"
HELP_URI = "https://github.com/orgdrift/orgdrift/blob/main/README.md#in-ci-and-audits"
SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "orgdriftFinding/v1"


@functools.lru_cache(maxsize=256)
def artifact_uri(path: str) -> str:
    """A URI reference for a spec path: relative paths stay relative (forward slashes)."""
    windows = PureWindowsPath(path)
    pure: PurePath = windows if windows.drive else PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute():
        return pure.as_uri()
    parts = [part for part in PurePosixPath(pure.as_posix()).parts if part != "."]
    return quote("/".join(parts), safe="/")


def digest(*parts: object) -> str:
    """sha256 of the parts joined by NUL characters."""
    key = "\x00".join(str(part) for part in parts)
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def fingerprint(finding: Finding) -> str:
    """The finding's own fingerprint (tenant, organization, kind, path: the one the JSON report
    and `--baseline` use); for a finding built without one, kind, organization and path."""
    if finding.fingerprint is not None:
        return finding.fingerprint
    return digest(finding.kind.value, finding.organization, finding.path)


SRCROOT = "SRCROOT"
INVALID_INPUT = "invalid_input"
EXCEPTION = "exception"


def _rule(rule_id: str, title: str, description: str, help_text: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": title,
        "shortDescription": {"text": description},
        "fullDescription": {"text": description},
        "help": {"text": help_text},
        "helpUri": HELP_URI,
        "defaultConfiguration": {"level": "error"},
    }


class KindText(NamedTuple):
    """A finding kind's SARIF rule text; the rule's name is the kind's in CamelCase."""

    description: str
    help: str


KIND_TEXTS = {
    FindingKind.ORGANIZATION_MISSING: KindText(
        "A declared organization does not exist in the live tenant.",
        "Create the organization in Auth0, or remove its declaration from the spec.",
    ),
    FindingKind.ORGANIZATION_UNMANAGED: KindText(
        "An organization exists in the live tenant but the spec does not declare it.",
        "Declare the organization in the spec, delete it from Auth0, or set "
        "policy.unmanaged_organizations to ignore.",
    ),
    FindingKind.FIELD_CHANGED: KindText(
        "A declared organization field differs from its live value.",
        "Update the organization in Auth0 to the declared value, or change the spec to "
        "the live value if the change was intended.",
    ),
    FindingKind.CONNECTION_NOT_ALLOWED: KindText(
        "A connection is enabled for the organization but the spec does not declare it.",
        "Disable the connection for the organization in Auth0, or declare it in the spec.",
    ),
    FindingKind.CONNECTION_MISSING: KindText(
        "A declared connection is not enabled for the organization (policy exact).",
        "Enable the connection for the organization in Auth0, or remove it from the spec.",
    ),
    FindingKind.CONNECTION_SETTING_CHANGED: KindText(
        "A declared flag of an enabled connection differs from its live value.",
        "Set the flag on the organization's connection in Auth0 to the declared value, "
        "or change the spec.",
    ),
    FindingKind.CLIENT_GRANT_NOT_ALLOWED: KindText(
        "A client grant is associated with the organization but the spec does not declare it.",
        "Remove the client grant from the organization in Auth0, or declare it in the spec.",
    ),
    FindingKind.CLIENT_GRANT_MISSING: KindText(
        "A declared client grant is not associated with the organization (policy exact).",
        "Associate the client grant with the organization in Auth0, or remove it from the spec.",
    ),
    FindingKind.CLIENT_GRANT_SCOPE_CHANGED: KindText(
        "The scopes of an associated client grant differ from the declared scopes.",
        "Change the client grant's scopes in Auth0 to the declared ones, or change the spec.",
    ),
    FindingKind.DISCOVERY_DOMAIN_NOT_ALLOWED: KindText(
        "A discovery domain routes users into the organization but the spec does not declare it.",
        "Remove the discovery domain from the organization in Auth0, or declare it in the spec.",
    ),
    FindingKind.DISCOVERY_DOMAIN_MISSING: KindText(
        "A declared discovery domain is not set for the organization.",
        "Add the discovery domain to the organization in Auth0, or remove it from the spec.",
    ),
    FindingKind.DISCOVERY_DOMAIN_CHANGED: KindText(
        "A declared discovery domain's verification status or discovery flag differs.",
        "Verify the domain or set its use_for_organization_discovery flag in Auth0 as "
        "declared, or change the spec.",
    ),
}


_RULES = [
    *(
        _rule(kind.value, kind.title().replace("_", ""), text.description, text.help)
        for kind, text in KIND_TEXTS.items()
    ),
    _rule(
        INVALID_INPUT,
        "InvalidInput",
        "An input is not valid (a spec or snapshot file, the command line or the environment), "
        "so nothing was compared.",
        "Fix the input at the location given; `orgdrift validate SPEC` checks a spec locally.",
    ),
    _rule(
        EXCEPTION,
        "ExceptionNeedsAttention",
        "An exception in the spec matches no finding, or expires within 14 days.",
        "Remove an exception that no longer matches anything; renew or resolve one about to "
        "expire, since past its date the drift it accepts fails the check again.",
    ),
]
_RULE_INDEX = {rule["id"]: index for index, rule in enumerate(_RULES)}


def _physical(
    report: Report, source: Location | None, options: RenderOptions
) -> dict[str, Any] | None:
    """Where a result is (`placed`): relative to the repository root (`uriBaseId`), or an
    absolute URI outside it."""
    where = placed(report, source)
    if where is None:
        return None
    uri = artifact_uri(options.repo_path(where.file))
    absolute = "://" in uri or uri.startswith("file:")
    return {
        "artifactLocation": {"uri": uri} if absolute else {"uri": uri, "uriBaseId": SRCROOT},
        "region": {"startLine": max(where.line, 1), "startColumn": max(where.column, 1)},
    }


def _locations(
    report: Report, name: str, source: Location | None, options: RenderOptions
) -> list[dict[str, Any]]:
    physical = _physical(report, source, options)
    location: dict[str, Any] = {"physicalLocation": physical} if physical is not None else {}
    if name:
        location["logicalLocations"] = [{"name": name, "kind": "object"}]
    return [location] if location else []


_LINK_SYNTAX = re.compile(r"\\(?=[\[\]])|[\[\]]")


def message_text(text: str) -> str:
    """Plain text for a SARIF message object (SARIF 2.1.0 sections 3.11.5 and 3.11.6):
    invisible characters shown as escapes, `{` and `}` doubled (else they would read as
    placeholders), `[` and `]` escaped with a backslash, as is a backslash before one of them
    (else `[text](1)` would be an embedded link)."""
    shown = _LINK_SYNTAX.sub(lambda m: "\\" + m.group(), visible(text))
    return shown.replace("{", "{{").replace("}", "}}")


def _result(report: Report, finding: Finding, options: RenderOptions) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.kind.value,
        "ruleIndex": _RULE_INDEX[finding.kind.value],
        "level": "error" if finding.severity is Severity.ERROR else "warning",
        "message": {"text": message_text(f"{finding.organization}: {noted(finding)}")},
        "locations": _locations(report, finding.organization, finding.source, options),
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding)},
        "properties": {
            "organization": finding.organization,
            "path": finding.path,
            "expected": json_value(finding.expected),
            "actual": json_value(finding.actual),
        },
    }
    if finding.accepted is not None:
        justification = finding.accepted.note()
        suppression = {"kind": "external", "status": "accepted", "justification": justification}
        physical = _physical(report, finding.accepted.source, options)
        where = {"location": {"physicalLocation": physical}} if physical is not None else {}
        result["suppressions"] = [{**suppression, **where}]
    if report.scope.baseline is not None:
        result["baselineState"] = "unchanged" if finding.known else "new"
    return result


def _problem_result(
    report: Report, problem: Problem, rule: str, text: str, options: RenderOptions
) -> dict[str, Any]:
    """An invalid input (an error), or a warning about an exception of the spec."""
    return {
        "ruleId": rule,
        "ruleIndex": _RULE_INDEX[rule],
        "level": "error" if rule == INVALID_INPUT else "warning",
        "message": {"text": message_text(text)},
        "locations": _locations(report, "", problem, options),
    }


def report_to_sarif(report: Report, options: RenderOptions) -> dict[str, Any]:
    driver = {
        "name": TOOL_NAME,
        "version": report.tool_version,
        "informationUri": INFORMATION_URI,
        "rules": _RULES,
    }
    failure = report.failure
    invocation: dict[str, Any] = {"executionSuccessful": report.status is not Status.INCOMPLETE}
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [invocation],
        "originalUriBaseIds": {SRCROOT: {"description": {"text": "The repository root."}}},
        "columnKind": "unicodeCodePoints",
    }
    if report.status is Status.INCOMPLETE and failure is not None:
        # No `results`: SARIF's way to say the analysis did not complete (an empty list would
        # say "no problems" and close open alerts).
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": message_text(summary_line(report))}}
        ]
    elif failure is not None:
        run["results"] = [
            _problem_result(report, p, INVALID_INPUT, problem_text(p), options)
            for p in failure.problems
        ]
    else:
        run["results"] = [
            *(_problem_result(report, p, EXCEPTION, p.message, options) for p in report.warnings),
            *(_result(report, f, options) for f in ordered_findings(report)),
        ]
    properties: dict[str, Any] = {"tenant": report.tenant} if report.tenant else {}
    if report.basis is not None:  # an incremental check: what its verdict rests on
        properties["basis"] = basis_dict(report.basis)
    if properties:
        run["properties"] = properties
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


class SarifReporter:
    name: ClassVar[str] = "sarif"
    description: ClassVar[str] = "SARIF 2.1.0 for code scanning (results at spec lines)"
    suffix: ClassVar[str] = ".sarif"

    def render(self, report: Report, options: RenderOptions) -> str:
        return json_document(report_to_sarif(report, options))
