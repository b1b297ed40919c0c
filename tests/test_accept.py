"""accept: exceptions that accept findings until a date; fingerprints for baselines."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from orgdrift.accept import (
    apply_exceptions,
    baseline_fingerprints,
    fingerprint,
    mark_known,
    with_fingerprints,
)
from orgdrift.errors import ExitCode, Location, UsageError
from orgdrift.models import (
    ExceptionRule,
    Failure,
    Finding,
    FindingKind,
    OrgResult,
    OrgStatus,
    Report,
    Stats,
)

TODAY = date(2026, 11, 29)
HERE = Location("orgs.yaml", 40, 5)


def finding(kind: FindingKind, path: str, org: str = "acme") -> Finding:
    return Finding(kind, org, path, "x", "y", f"{org} {path}", Location("orgs.yaml", 3, 3))


def org(*findings: Finding, name: str = "acme", id_: str | None = "org_acme") -> OrgResult:
    return OrgResult(name, id_, OrgStatus.DRIFTED, findings, Location("orgs.yaml", 2, 3))


def rule(
    organization: str = "acme",
    kinds: set[FindingKind] | None = None,
    path: str | None = None,
    expires: date = date(2027, 1, 31),
    owner: str | None = "@platform",
) -> ExceptionRule:
    return ExceptionRule(
        organization,
        frozenset(kinds) if kinds is not None else None,
        path,
        "SSO migration, SEC-142",
        expires,
        owner,
        HERE,
    )


NOT_ALLOWED = finding(FindingKind.CONNECTION_NOT_ALLOWED, "connections.google-oauth2")
CHANGED = finding(FindingKind.FIELD_CHANGED, "display_name")


@pytest.mark.parametrize(
    ("the_rule", "accepted"),
    [
        (rule(), True),  # any kind, any path
        (rule(organization="org_acme"), True),  # by id
        (rule(organization="ac*"), True),  # glob
        (rule(organization="globex"), False),
        (rule(kinds={FindingKind.CONNECTION_NOT_ALLOWED}), True),
        (rule(kinds={FindingKind.FIELD_CHANGED}), False),
        (rule(path="connections.google-*"), True),
        (rule(path="connections.acme-*"), False),
        (rule(path="connections.*", kinds={FindingKind.CONNECTION_MISSING}), False),
    ],
)
def test_matching_rules(the_rule: ExceptionRule, accepted: bool) -> None:
    results, _ = apply_exceptions([org(NOT_ALLOWED)], [the_rule], TODAY)
    got = results[0].findings[0]
    assert (got.accepted is not None) is accepted
    if accepted:
        assert got.accepted is not None
        assert got.accepted.reason == "SSO migration, SEC-142"
        assert got.accepted.owner == "@platform"
        assert got.accepted.source == HERE
        assert (
            got.accepted.note()
            == "accepted until 2027-01-31: SSO migration, SEC-142, owner @platform"
        )


def test_glob_is_case_sensitive_and_whole() -> None:
    results, _ = apply_exceptions(
        [org(NOT_ALLOWED)], [rule(organization="ACME"), rule(organization="acm")], TODAY
    )
    assert results[0].findings[0].accepted is None


def test_missing_organization_matches_by_declared_name() -> None:
    missing = Finding(FindingKind.ORGANIZATION_MISSING, "newco", "", "newco", None, "m", HERE)
    results, warnings = apply_exceptions(
        [org(missing, name="newco", id_=None)], [rule(organization="newco")], TODAY
    )
    assert results[0].findings[0].accepted is not None
    assert warnings == ()


def test_an_expired_exception_stops_matching_and_the_finding_says_so() -> None:
    expired = rule(expires=date(2026, 11, 28))
    results, warnings = apply_exceptions([org(NOT_ALLOWED)], [expired], TODAY)
    got = results[0].findings[0]
    assert got.accepted is None
    assert got.expired_exception is not None
    assert got.note == "exception expired 2026-11-28: SSO migration, SEC-142"
    assert warnings == ()  # it matched: it is the finding that tells


def test_expires_today_still_accepts_and_warns() -> None:
    results, warnings = apply_exceptions([org(NOT_ALLOWED)], [rule(expires=TODAY)], TODAY)
    assert results[0].findings[0].accepted is not None
    assert [w.render() for w in warnings] == [
        "orgs.yaml:40:5: exception for acme expires today (2026-11-29): SSO migration, SEC-142"
    ]


@pytest.mark.parametrize(("days", "warned"), [(1, True), (14, True), (15, False), (60, False)])
def test_expiry_warning_window(days: int, warned: bool) -> None:
    expires = date.fromordinal(TODAY.toordinal() + days)
    _, warnings = apply_exceptions([org(NOT_ALLOWED)], [rule(expires=expires)], TODAY)
    assert bool(warnings) is warned
    if warned:
        suffix = "day" if days == 1 else "days"
        assert warnings[0].message.startswith(f"exception for acme expires in {days} {suffix}")


def test_an_exception_that_matches_nothing_is_a_warning_at_its_line() -> None:
    results, warnings = apply_exceptions(
        [org(CHANGED)], [rule(kinds={FindingKind.CONNECTION_MISSING})], TODAY
    )
    assert results[0].findings[0].accepted is None
    assert [w.render() for w in warnings] == [
        "orgs.yaml:40:5: exception for acme matches no finding"
    ]


def test_first_live_rule_wins_and_every_matching_rule_counts_as_used() -> None:
    first = rule(path="connections.*")
    second = replace(rule(), reason="second", location=Location("orgs.yaml", 50, 5))
    results, warnings = apply_exceptions([org(NOT_ALLOWED)], [first, second], TODAY)
    accepted = results[0].findings[0].accepted
    assert accepted is not None
    assert accepted.source == HERE
    assert warnings == ()


def test_only_findings_change() -> None:
    before = [org(NOT_ALLOWED, CHANGED)]
    results, _ = apply_exceptions(before, [rule(kinds={FindingKind.FIELD_CHANGED})], TODAY)
    assert [f.accepted is not None for f in results[0].findings] == [False, True]
    assert replace(results[0], findings=before[0].findings) == before[0]


# --- fingerprints --------------------------------------------------------------------------


def test_fingerprint_ignores_location_values_and_message() -> None:
    moved = replace(
        NOT_ALLOWED, source=Location("other.yaml", 99, 1), expected="a", actual="b", message="m"
    )
    assert fingerprint("t.eu.auth0.com", org(), NOT_ALLOWED) == fingerprint(
        "t.eu.auth0.com", org(), moved
    )


@pytest.mark.parametrize(
    "change",
    [
        {"tenant": "other.eu.auth0.com"},
        {"org": org(id_="org_other")},
        {"finding": replace(NOT_ALLOWED, kind=FindingKind.CONNECTION_MISSING)},
        {"finding": replace(NOT_ALLOWED, path="connections.github")},
    ],
)
def test_fingerprint_depends_on_tenant_org_kind_and_path(change: dict[str, object]) -> None:
    base = fingerprint("t.eu.auth0.com", org(), NOT_ALLOWED)
    args: dict[str, object] = {
        "tenant": "t.eu.auth0.com",
        "org": org(),
        "finding": NOT_ALLOWED,
    } | change
    assert fingerprint(args["tenant"], args["org"], args["finding"]) != base  # type: ignore[arg-type]


def test_missing_organization_fingerprint_uses_its_name() -> None:
    missing = Finding(FindingKind.ORGANIZATION_MISSING, "newco", "", "newco", None, "m", HERE)
    a = fingerprint("t", org(missing, name="newco", id_=None), missing)
    b = fingerprint("t", org(missing, name="newco2", id_=None), missing)
    assert a != b
    assert len(a) == 32


def test_mark_known() -> None:
    results = with_fingerprints([org(NOT_ALLOWED, CHANGED)], "t")
    assert [f.fingerprint for f in results[0].findings] == [
        fingerprint("t", results[0], NOT_ALLOWED),
        fingerprint("t", results[0], CHANGED),
    ]
    known = frozenset({fingerprint("t", results[0], CHANGED)})
    marked = mark_known(results, known)
    assert [f.known for f in marked[0].findings] == [False, True]
    assert [f.fails for f in marked[0].findings] == [True, False]
    assert marked[0].findings[1].note == "known: in the baseline report"


def test_partial_runs_warn_only_about_checked_organizations() -> None:
    other = rule(organization="globex")
    _, full = apply_exceptions([org(CHANGED)], [other], TODAY)
    _, partial = apply_exceptions([org(CHANGED)], [other], TODAY, partial=True)
    _, checked = apply_exceptions(
        [org(CHANGED)], [rule(kinds={FindingKind.CONNECTION_MISSING})], TODAY, partial=True
    )
    assert [w.message for w in full] == ["exception for globex matches no finding"]
    assert partial == ()
    assert [w.message for w in checked] == ["exception for acme matches no finding"]


def baseline(
    tenant: str | None = "t", *fingerprints: str, failure: Failure | None = None
) -> Report:
    findings = tuple(
        Finding(FindingKind.FIELD_CHANGED, "acme", f"metadata.k{i}", 1, 2, "m", None, fingerprint=f)
        for i, f in enumerate(fingerprints)
    )
    orgs = (OrgResult("acme", "org_1", OrgStatus.DRIFTED, findings, None),) if findings else ()
    return Report("1", tenant, "2026-01-01T00:00:00Z", (), orgs, Stats(), failure=failure)


def test_baseline_fingerprints() -> None:
    assert baseline_fingerprints(baseline("t", "a" * 32, "b" * 32), "t", "b.json") == {
        "a" * 32,
        "b" * 32,
    }
    assert baseline_fingerprints(baseline(None, "a" * 32), "t", "b.json") == {"a" * 32}
    assert baseline_fingerprints(baseline("t"), "t", "b.json") == frozenset()


@pytest.mark.parametrize(
    ("report", "why"),
    [
        (
            baseline(failure=Failure(ExitCode.INCOMPLETE, "HTTP 503")),
            "it has no verdict (status 'incomplete')",
        ),
        (baseline("u", "a" * 32), "it is for tenant 'u', not 't'"),
    ],
)
def test_what_cannot_be_a_baseline(report: Report, why: str) -> None:
    with pytest.raises(UsageError, match=re.escape(f"--baseline b.json: {why}")):
        baseline_fingerprints(report, "t", "b.json")
