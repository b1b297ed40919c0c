"""Hand-built `Report` values covering every finding kind, severity and awkward characters."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from orgdrift.errors import ExitCode, Location, Problem
from orgdrift.models import (
    Acceptance,
    Basis,
    Failure,
    Finding,
    FindingKind,
    OrgResult,
    OrgStatus,
    Report,
    Scope,
    Severity,
    SpecFile,
    Stats,
)

ORGS = "orgs.yaml"
TEAM = "specs/team b.yaml"
CHECKED_AT = "2024-05-01T12:00:00Z"
STATS = Stats(requests=7, retries=1, rate_limited=1, seconds=1.234)


def spec_file(path: str) -> SpecFile:
    return SpecFile(path=path, sha256=hashlib.sha256(path.encode()).hexdigest())


def at(line: int, column: int = 3, file: str = ORGS) -> Location:
    return Location(file=file, line=line, column=column)


def finding(
    kind: FindingKind,
    organization: str,
    path: str,
    expected: Any,
    actual: Any,
    message: str,
    source: Location | None,
    severity: Severity = Severity.ERROR,
) -> Finding:
    return Finding(kind, organization, path, expected, actual, message, source, severity)


def org(
    name: str | None,
    status: OrgStatus,
    source: Location | None,
    *findings: Finding,
    id: str | None = None,  # mirrors OrgResult.id
) -> OrgResult:
    return OrgResult(name=name, id=id, status=status, findings=findings, source=source)


def report(*orgs: OrgResult, files: tuple[str, ...] = (ORGS,), **changes: Any) -> Report:
    values: dict[str, Any] = {
        "tool_version": "0.1.0",
        "tenant": "acme-prod.eu.auth0.com",
        "checked_at": CHECKED_AT,
        "spec_files": tuple(spec_file(f) for f in files),
        "organizations": orgs,
        "stats": STATS,
        "live_from": "api",
    }
    values.update(changes)
    return Report(**values)


# --- the cases ---------------------------------------------------------------------------------


def in_sync() -> Report:
    return report(
        org("acme", OrgStatus.IN_SYNC, at(8), id="org_acme0000000001"),
        org("globex", OrgStatus.IN_SYNC, at(20), id="org_globex00000001"),
        org(None, OrgStatus.IN_SYNC, at(31), id="org_W8ptrr1BXH1qvVm0"),
    )


def unmanaged_org(severity: Severity) -> OrgResult:
    return org(
        "legacy",
        OrgStatus.UNMANAGED,
        None,
        finding(
            FindingKind.ORGANIZATION_UNMANAGED,
            "legacy",
            "",
            None,
            {"id": "org_legacy0000001", "name": "legacy"},
            "organization legacy exists but is not declared",
            None,
            severity,
        ),
        id="org_legacy0000001",
    )


def drift() -> Report:
    """Every finding kind, two spec files, findings with and without a source, out of order."""
    acme = org(
        "acme",
        OrgStatus.DRIFTED,
        at(8),
        finding(
            FindingKind.CONNECTION_NOT_ALLOWED,
            "acme",
            "connections.google-oauth2",
            None,
            {"connection_id": "con_google", "name": "google-oauth2"},
            "connection google-oauth2 is enabled but not allowed",
            at(14, 5),
        ),
        finding(
            FindingKind.FIELD_CHANGED,
            "acme",
            "display_name",
            "Acme Inc.",
            "ACME",
            "display_name is 'ACME', expected 'Acme Inc.'",
            at(9, 5),
        ),
        finding(
            FindingKind.CONNECTION_SETTING_CHANGED,
            "acme",
            "connections.acme-saml.is_signup_enabled",
            False,
            True,
            "connection acme-saml: is_signup_enabled is true, expected false",
            at(17, 9),
        ),
        finding(
            FindingKind.FIELD_CHANGED,
            "acme",
            "metadata",
            {"tier": "gold"},
            {"tier": "gold", "region": "eu"},
            "metadata has an undeclared key region",
            None,
        ),
        id="org_acme0000000001",
    )
    globex = org(
        "globex",
        OrgStatus.DRIFTED,
        at(3, 3, TEAM),
        finding(
            FindingKind.CONNECTION_MISSING,
            "globex",
            "connections.Username-Password-Authentication",
            {"name": "Username-Password-Authentication"},
            None,
            "connection Username-Password-Authentication is declared but not enabled",
            at(6, 9, TEAM),
        ),
        id="org_globex00000001",
    )
    initech = org(
        None,
        OrgStatus.MISSING,
        at(25),
        finding(
            FindingKind.ORGANIZATION_MISSING,
            "org_W8ptrr1BXH1qvVm0",
            "",
            {"id": "org_W8ptrr1BXH1qvVm0"},
            None,
            "organization org_W8ptrr1BXH1qvVm0 is declared but does not exist",
            at(25),
        ),
        id="org_W8ptrr1BXH1qvVm0",
    )
    fine = org("umbrella", OrgStatus.IN_SYNC, at(30), id="org_umbrella000001")
    return report(unmanaged_org(Severity.ERROR), fine, globex, initech, acme, files=(ORGS, TEAM))


def missing() -> Report:
    return report(
        org("acme", OrgStatus.IN_SYNC, at(8), id="org_acme0000000001"),
        org(
            "globex",
            OrgStatus.MISSING,
            at(20),
            finding(
                FindingKind.ORGANIZATION_MISSING,
                "globex",
                "",
                {"name": "globex"},
                None,
                "organization globex is declared but does not exist",
                at(20),
            ),
        ),
        live_from="snapshot",
        tenant=None,
    )


def unmanaged_report() -> Report:
    """Policy `report`: the unmanaged organization is a warning; the run is in sync."""
    return report(
        org("acme", OrgStatus.IN_SYNC, at(8), id="org_acme0000000001"),
        unmanaged_org(Severity.WARNING),
    )


def unmanaged_fail() -> Report:
    """Policy `fail`: the unmanaged organization is drift."""
    return report(
        org("acme", OrgStatus.IN_SYNC, at(8), id="org_acme0000000001"),
        unmanaged_org(Severity.ERROR),
    )


NASTY_NAME = "zoë|<b>&\"q's"
NASTY_FILE = "odd dir/ü,n:i%.yaml"


def nasty() -> Report:
    """Unicode, table pipes, markup, quotes, newlines, percent signs and a terminal escape."""
    where = at(4, 7, NASTY_FILE)
    return report(
        org(
            NASTY_NAME,
            OrgStatus.DRIFTED,
            at(2, 3, NASTY_FILE),
            finding(
                FindingKind.FIELD_CHANGED,
                NASTY_NAME,
                "display_name",
                "Zoë & <Co> | 100%",
                'line one\nline "two"\r\n\x1b[31mred',
                'display_name is "line one\\nline two", expected "Zoë & <Co> | 100%"\n'
                "::error::forged\x1b[2J",
                where,
            ),
            finding(
                FindingKind.FIELD_CHANGED,
                NASTY_NAME,
                "metadata.ключ",
                "значение",
                "🙂\x00",
                "metadata.ключ is '🙂', expected 'значение'",
                None,
                Severity.ERROR,
            ),
        ),
        files=(NASTY_FILE,),
        tenant="tenant,with:colon%.auth0.com",
    )


def scoped() -> Report:
    """In sync for an --org selection only: the report must say so."""
    return report(
        org("acme", OrgStatus.IN_SYNC, at(8), id="org_acme0000000001"),
        scope=Scope(organizations=("acme",), declared=1, unmanaged=False),
    )


def valid() -> Report:
    """`validate` of a valid spec: no live state, no verdict about a tenant."""
    return report(
        files=(ORGS, TEAM), live_from="spec", tenant=None, stats=Stats(), scope=Scope(declared=5)
    )


def invalid() -> Report:
    """An invalid spec (exit 2): problems at file:line:column, in two files."""
    problems = (
        Problem(
            ORGS, 4, 16, "$.policy.connections", "'strict' is not one of ['exact', 'allowlist']"
        ),
        Problem(ORGS, 7, 5, "$.organizations[0].display_nmae", "unknown field 'display_nmae'"),
        Problem(
            TEAM, 3, 11, "$.organizations[0].name", "organization name 'globex' is declared twice"
        ),
    )
    failure = Failure(ExitCode.USAGE, "3 problems found", problems)
    return report(files=(ORGS, TEAM), failure=failure, tenant=None, stats=Stats())


def usage() -> Report:
    """A usage error that no file locates (exit 2), e.g. an --org the spec does not declare."""
    message = "--org names organizations the spec does not declare: nobody"
    failure = Failure(ExitCode.USAGE, message, (Problem("", 0, 0, "", message),))
    return report(failure=failure, scope=Scope(organizations=("nobody",)), stats=Stats())


def incomplete() -> Report:
    """The live state could not be read (exit 3): no verdict may show."""
    message = (
        "GET /api/v2/organizations/org_acme0000000001/enabled_connections: HTTP 503: "
        "Service Unavailable (after 4 attempts)"
    )
    failure = Failure(ExitCode.INCOMPLETE, message)
    return report(
        failure=failure, scope=Scope(declared=3, unmanaged=True), stats=Stats(seconds=2.5)
    )


def living() -> Report:
    """Drift lived with: an accepted finding, one known from a baseline, one whose exception
    expired, one new; warnings about the spec's exceptions; a --changed-from scope."""
    sso = Acceptance("SSO migration, SEC-142", date(2027, 1, 31), "@platform", at(40, 5))
    crm = Acceptance("CRM sync, OPS-7", date(2024, 4, 30), None, at(46, 5))
    acme = org(
        "acme",
        OrgStatus.DRIFTED,
        at(8),
        replace(
            finding(
                FindingKind.CONNECTION_NOT_ALLOWED,
                "acme",
                "connections.google-oauth2",
                None,
                "google-oauth2",
                "connection google-oauth2 is enabled but not allowed",
                at(14, 5),
            ),
            accepted=sso,
            fingerprint="0f0e5ab7a2c34d7d9b8f6e1d2c3b4a59",
        ),
        replace(
            finding(
                FindingKind.FIELD_CHANGED,
                "acme",
                "metadata.tier",
                "gold",
                "silver",
                'metadata.tier is "silver", expected "gold"',
                at(10, 17),
            ),
            expired_exception=crm,
            fingerprint="1a2b3c4d5e6f708192a3b4c5d6e7f809",
        ),
        id="org_acme0000000001",
    )
    globex = org(
        "globex",
        OrgStatus.DRIFTED,
        at(20),
        replace(
            finding(
                FindingKind.FIELD_CHANGED,
                "globex",
                "display_name",
                "Globex Corporation",
                "Globex Corp (legacy)",
                'display_name is "Globex Corp (legacy)", expected "Globex Corporation"',
                at(21, 5),
            ),
            known=True,
            fingerprint="9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        ),
        id="org_globex00000001",
    )
    warnings = (
        Problem(ORGS, 46, 5, "", "exception for acme expires in 3 days (2024-05-04): CRM sync"),
        Problem(ORGS, 52, 5, "", "exception for initech matches no finding"),
    )
    scope = Scope(
        declared=2,
        changed_from="origin/main",
        changes="2 of 40 organizations added or changed since origin/main",
        baseline="audit/last.json",
    )
    return report(acme, globex, scope=scope, warnings=warnings)


def model() -> Report:
    """The whole organization model: client grants, discovery domains, an Early Access
    connection field and token_quota, each finding at its declaration."""
    grant = "cli_Pj3mD0x9:https://api.acme.example/"
    findings = (
        finding(
            FindingKind.CLIENT_GRANT_MISSING,
            "acme",
            f"client_grants.{grant}",
            grant,
            None,
            f"client grant {grant} is declared but not associated",
            at(21, 7),
        ),
        finding(
            FindingKind.CLIENT_GRANT_NOT_ALLOWED,
            "acme",
            "client_grants.cli_Zz9:https://billing.example/",
            None,
            "cli_Zz9:https://billing.example/",
            "client grant cli_Zz9:https://billing.example/ is associated but not allowed",
            at(20),
        ),
        finding(
            FindingKind.CLIENT_GRANT_SCOPE_CHANGED,
            "acme",
            "client_grants.cli_R2d2:https://api.acme.example/.scope",
            ["read:orders"],
            ["read:orders", "write:orders"],
            'client grant cli_R2d2:https://api.acme.example/: scope is ["read:orders", '
            '"write:orders"], expected ["read:orders"]',
            at(24, 7),
        ),
        finding(
            FindingKind.CONNECTION_SETTING_CHANGED,
            "acme",
            "connections.acme-saml.organization_access_level",
            "readonly",
            "full",
            'connection acme-saml: organization_access_level is "full", expected "readonly"',
            at(15, 9),
        ),
        finding(
            FindingKind.DISCOVERY_DOMAIN_CHANGED,
            "acme",
            "discovery_domains.acme.com.status",
            "verified",
            "pending",
            'discovery domain acme.com: status is "pending", expected "verified"',
            at(28, 7),
        ),
        finding(
            FindingKind.DISCOVERY_DOMAIN_MISSING,
            "acme",
            "discovery_domains.acme.co.uk",
            "acme.co.uk",
            None,
            "discovery domain acme.co.uk is declared but not set",
            at(30, 7),
        ),
        finding(
            FindingKind.DISCOVERY_DOMAIN_NOT_ALLOWED,
            "acme",
            "discovery_domains.acme-mail.com",
            None,
            "acme-mail.com",
            "discovery domain acme-mail.com is set but not declared",
            at(27),
        ),
        finding(
            FindingKind.FIELD_CHANGED,
            "acme",
            "token_quota.client_credentials.per_day",
            1000,
            5000,
            "token_quota.client_credentials.per_day is 5000, expected 1000",
            at(12, 9),
        ),
    )
    return report(
        org("acme", OrgStatus.DRIFTED, at(8), *findings, id="org_acme0000000001"),
        org("globex", OrgStatus.IN_SYNC, at(32), id="org_globex00000001"),
    )


def incremental() -> Report:
    """`check --since`: the drift report, resting on a snapshot and the logs read since."""
    basis = Basis(
        snapshot_taken_at="2026-11-29T06:00:00Z",
        log_from="90020261129060000000000000000000000000000000000000000001",
        log_to="90020261130060000000000000000000000000000000000000000042",
        entries=42,
        reread=("org_acme0000000001",),
        looked_up=1,
    )
    return replace(drift(), basis=basis)


def incremental_full_read() -> Report:
    """`check --since` that had to read everything, and says why."""
    basis = Basis(
        snapshot_taken_at="2026-10-01T06:00:00Z",
        log_from="90020261001060000000000000000000000000000000000000000001",
        log_to=None,
        entries=0,
        reread=(),
        full_read_because="the snapshot's log checkpoint is no longer retained by the tenant",
    )
    return replace(in_sync(), basis=basis)


CASES: dict[str, Callable[[], Report]] = {
    "in_sync": in_sync,
    "drift": drift,
    "missing": missing,
    "unmanaged_report": unmanaged_report,
    "unmanaged_fail": unmanaged_fail,
    "nasty": nasty,
    "scoped": scoped,
    "valid": valid,
    "invalid": invalid,
    "usage": usage,
    "incomplete": incomplete,
    "living": living,
    "model": model,
    "incremental": incremental,
    "incremental_full_read": incremental_full_read,
}
