"""Values that cross module boundaries: the spec, the live state, findings and the report.

Types only; no I/O. Raw API payloads stay JSON objects (`RawObject`) because Auth0 adds fields
over time and a snapshot must keep them verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Literal

from orgdrift.errors import ExitCode, Location, Problem

RawObject = dict[str, Any]
"""A JSON object exactly as decoded from the API or a snapshot file."""

ListPolicy = Literal["exact", "allowlist"]  # for connections and client grants
UnmanagedPolicy = Literal["ignore", "report", "fail"]
LiveFrom = Literal["api", "snapshot", "spec"]  # the live state's origin; spec: none (validate)

API_FLAG_DEFAULTS: Mapping[str, bool] = {
    "assign_membership_on_login": False,
    "is_signup_enabled": False,
    "show_as_button": True,
}
"""What the API means when it omits a flag, as some responses do: the defaults in Auth0's OpenAPI
file, https://auth0.com/docs/oas/management/v2/management-api-oas.json."""

CONNECTION_FLAGS = tuple(API_FLAG_DEFAULTS)
"""The per-connection flags a spec may declare, in report order."""

CONNECTION_VIEW_FIELDS: tuple[str, ...] = (
    "organization_access_level",
    "is_enabled",
    "organization_connection_name",
)
"""Connection fields only `GET /organizations/{id}/connections` (Early Access) shows."""

# --- the spec ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpecFile:
    path: str
    sha256: str
    commit: str | None = None  # the commit checked out in the git repository holding the file


@dataclass(frozen=True, slots=True)
class ConnectionDecl:
    """One declared connection of an organization, matched by name or by connection_id."""

    name: str | None
    connection_id: str | None
    flags: Mapping[str, bool]  # declared flags, `defaults.connection` already applied
    location: Location
    flag_locations: Mapping[str, Location] = field(default_factory=dict)
    # Declared Early Access fields (CONNECTION_VIEW_FIELDS): access level, is_enabled, name.
    view_fields: Mapping[str, str | bool] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name if self.name is not None else str(self.connection_id)


@dataclass(frozen=True, slots=True)
class ClientGrantDecl:
    """One client grant an organization's members may use, matched by client id and audience."""

    client_id: str
    audience: str
    scope: tuple[str, ...] | None  # None: not compared
    location: Location

    @property
    def label(self) -> str:
        return f"{self.client_id}:{self.audience}"


@dataclass(frozen=True, slots=True)
class DiscoveryDomainDecl:
    """One discovery domain of an organization; status and the discovery flag when declared."""

    domain: str
    status: str | None  # pending | verified; None: not compared
    use_for_organization_discovery: bool | None
    location: Location


@dataclass(frozen=True, slots=True)
class OrgDecl:
    """One declared organization. `fields` holds only what the spec declares."""

    name: str | None
    id: str | None
    fields: Mapping[str, Any]  # subset of display_name, branding, metadata
    connections: tuple[ConnectionDecl, ...] | None  # None: connections are not managed
    connections_policy: ListPolicy
    location: Location
    # Locations of declared values, keyed by dotted path inside the organization:
    # "display_name", "branding", "branding.colors.primary", "metadata.tier", "connections".
    locations: Mapping[str, Location] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()  # field paths never compared (defaults.ignore + its own)
    client_grants: tuple[ClientGrantDecl, ...] | None = None  # None: not managed
    client_grants_policy: ListPolicy = "exact"
    discovery_domains: tuple[DiscoveryDomainDecl, ...] | None = None  # None: not managed

    @property
    def label(self) -> str:
        return self.name if self.name is not None else str(self.id)

    @property
    def needs_connection_view(self) -> bool:
        """Whether a declared connection field is shown only by the Early Access endpoint."""
        return any(c.view_fields for c in self.connections or ())

    def locate(self, path: str) -> Location:
        """The most specific declared location for `path`, else the organization's own."""
        probe = path
        while probe:
            found = self.locations.get(probe)
            if found is not None:
                return found
            probe = probe.rpartition(".")[0]
        return self.location


@dataclass(frozen=True, slots=True)
class Spec:
    files: tuple[SpecFile, ...]
    organizations: tuple[OrgDecl, ...]
    tenant_domain: str | None = None
    unmanaged_organizations: UnmanagedPolicy = "ignore"
    unmanaged_source: Location | None = None  # the policy line that set the policy in force
    exceptions: tuple[ExceptionRule, ...] = ()


# --- the live state ------------------------------------------------------------------------


def grant_key(grant: RawObject) -> tuple[str, str]:
    """A live client grant's identity within an organization: its client id and audience."""
    return (str(grant.get("client_id")), str(grant.get("audience")))


@dataclass(frozen=True, slots=True)
class LiveOrganization:
    data: RawObject  # the organization as the API returns it
    connections: tuple[RawObject, ...] | None  # enabled connections as returned; None: not read
    # Read only when declared (None: not read), items as the API returns them:
    connection_view: tuple[RawObject, ...] | None = None  # GET .../connections (Early Access)
    client_grants: tuple[RawObject, ...] | None = None  # GET .../client-grants
    discovery_domains: tuple[RawObject, ...] | None = None  # GET .../discovery-domains

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))


@dataclass(frozen=True, slots=True)
class LiveState:
    organizations: tuple[LiveOrganization, ...]
    tenant: str | None = None
    taken_at: str | None = None
    complete: bool = False  # True when `organizations` lists every organization of the tenant
    log_checkpoint: str | None = None  # the newest tenant log id when the read began
    spec_sha256: tuple[str, ...] | None = None  # the spec files read for, sorted (None: no spec)
    tool_version: str | None = None  # the orgdrift that read it
    # Every connection name of the tenant, read only to say that a declared connection enabled
    # nowhere does not exist (`read:connections`); None when not read. Not kept in snapshots.
    connection_names: frozenset[str] | None = None


# --- findings and the report ---------------------------------------------------------------


class FindingKind(StrEnum):
    ORGANIZATION_MISSING = "organization_missing"
    ORGANIZATION_UNMANAGED = "organization_unmanaged"
    FIELD_CHANGED = "field_changed"
    CONNECTION_NOT_ALLOWED = "connection_not_allowed"
    CONNECTION_MISSING = "connection_missing"
    CONNECTION_SETTING_CHANGED = "connection_setting_changed"
    CLIENT_GRANT_NOT_ALLOWED = "client_grant_not_allowed"
    CLIENT_GRANT_MISSING = "client_grant_missing"
    CLIENT_GRANT_SCOPE_CHANGED = "client_grant_scope_changed"
    DISCOVERY_DOMAIN_NOT_ALLOWED = "discovery_domain_not_allowed"
    DISCOVERY_DOMAIN_MISSING = "discovery_domain_missing"
    DISCOVERY_DOMAIN_CHANGED = "discovery_domain_changed"


class Severity(StrEnum):
    ERROR = "error"  # counts as drift: exit 1
    WARNING = "warning"  # reported only (unmanaged organizations under policy `report`)


class OrgStatus(StrEnum):
    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    MISSING = "missing"
    UNMANAGED = "unmanaged"


@dataclass(frozen=True, slots=True)
class Acceptance:
    """Why a finding is accepted (or was, until its exception expired)."""

    reason: str
    expires: date
    owner: str | None
    source: Location

    def note(self) -> str:
        owner = f", owner {self.owner}" if self.owner else ""
        return f"accepted until {self.expires.isoformat()}: {self.reason}{owner}"


@dataclass(frozen=True, slots=True)
class ExceptionRule:
    """One entry of the spec's `exceptions:`."""

    organization: str  # a name, an id or a glob
    kinds: frozenset[FindingKind] | None  # None: any kind
    path: str | None  # a glob over finding paths; None: any path
    reason: str
    expires: date
    owner: str | None
    location: Location

    def acceptance(self) -> Acceptance:
        return Acceptance(self.reason, self.expires, self.owner, self.location)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    organization: str
    path: str
    expected: Any
    actual: Any
    message: str
    source: Location | None
    severity: Severity = Severity.ERROR
    accepted: Acceptance | None = None  # an exception in the spec accepts it: never fails
    expired_exception: Acceptance | None = None  # only an expired exception matched it
    known: bool = False  # the baseline report already has it: never fails
    fingerprint: str | None = None  # identity across runs: tenant, organization, kind, path

    @property
    def fails(self) -> bool:
        """Whether this finding makes the check fail (exit 1)."""
        return self.severity is Severity.ERROR and self.accepted is None and not self.known

    @property
    def note(self) -> str | None:
        """Why it does not fail, or that its exception expired; None when there is nothing."""
        if self.accepted is not None:
            return self.accepted.note()
        if self.known:
            return "known: in the baseline report"
        expired = self.expired_exception
        if expired is not None:
            return f"exception expired {expired.expires.isoformat()}: {expired.reason}"
        return None


@dataclass(frozen=True, slots=True)
class OrgResult:
    name: str | None
    id: str | None
    status: OrgStatus
    findings: tuple[Finding, ...]
    source: Location | None

    @property
    def label(self) -> str:
        return self.name if self.name is not None else str(self.id)


@dataclass(frozen=True, slots=True)
class Stats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    seconds: float = 0.0
    scopes_required: tuple[str, ...] = ()  # the scopes the read needed
    scopes_granted: tuple[str, ...] | None = None  # the token's, sorted; None: not known


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    """A live-state file a run compared with (`--live`: read), started its incremental read
    from (`--since`: since) or wrote (`--write-snapshot`: written), by its bytes."""

    path: str
    sha256: str
    role: Literal["read", "since", "written"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What binds a run's verdict to its inputs, beyond the spec files and the tool version."""

    started_at: str | None = None  # UTC, like `checked_at`
    finished_at: str | None = None
    live_sha256: str | None = None  # the live state read, canonical JSON (evidence.py)
    snapshots: tuple[SnapshotFile, ...] = ()  # in the order the run read or wrote them
    ci_run_url: str | None = None  # the CI run, when the environment tells it


class Status(StrEnum):
    """The outcome of a run; only `in_sync` and `drift` are verdicts about the tenant."""

    IN_SYNC = "in_sync"  # exit 0
    DRIFT = "drift"  # exit 1
    VALID = "valid"  # exit 0: `validate` found the spec valid (nothing was compared)
    INVALID = "invalid"  # exit 2: usage error or invalid spec, nothing was compared
    INCOMPLETE = "incomplete"  # exit 3: the live state could not be read completely


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a run has no verdict: an invalid input (exit 2) or an incomplete read (exit 3)."""

    exit_code: ExitCode
    message: str
    problems: tuple[Problem, ...] = ()  # located problems of an invalid spec or snapshot


@dataclass(frozen=True, slots=True)
class Scope:
    """What the run covered, so a filtered "in sync" never reads as a whole-tenant verdict."""

    organizations: tuple[str, ...] = ()  # --org selection; empty: every declared organization
    declared: int = 0  # declarations in scope
    unmanaged: bool = False  # whether live organizations the spec does not declare were looked for
    changed_from: str | None = None  # --changed-from GIT_REF: only what changed since
    changes: str | None = None  # what --changed-from found, in one sentence
    baseline: str | None = None  # --baseline REPORT.json: its findings are known

    @property
    def partial(self) -> bool:
        """Whether the verdict covers less than every declaration of the spec."""
        return bool(self.organizations) or self.changed_from is not None


@dataclass(frozen=True, slots=True)
class Basis:
    """What an incremental check (`check --since`) rests on."""

    snapshot_taken_at: str | None  # the --since snapshot's time
    log_from: str | None  # its checkpoint: the logs read start after this id
    log_to: str | None  # the newest entry read (None: none)
    entries: int  # log entries read
    reread: tuple[str, ...]  # organization ids re-read because the logs touched them
    looked_up: int = 0  # declared organizations absent from the snapshot, looked up
    full_read_because: str | None = None  # set when it fell back to a full read

    @property
    def full_read(self) -> bool:
        return self.full_read_because is not None


REPORT_VERSION = 4
"""The JSON report format orgdrift writes (schemas/report.schema.json); it reads 1 and 2."""


def now() -> str:
    """This moment, as reports and snapshots write it (RFC 3339, UTC, seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Report:
    tool_version: str
    tenant: str | None
    checked_at: str
    spec_files: tuple[SpecFile, ...]
    organizations: tuple[OrgResult, ...]
    stats: Stats
    live_from: LiveFrom = "api"  # the JSON report's `source`
    scope: Scope = field(default_factory=Scope)
    failure: Failure | None = None
    warnings: tuple[Problem, ...] = ()  # about the spec itself: exceptions unused or expiring
    basis: Basis | None = None  # set by `check --since`
    evidence: Evidence = field(default_factory=Evidence)
    version: int = REPORT_VERSION  # a report read back from a file: the format it was written in

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for org in self.organizations for f in org.findings)

    @property
    def in_sync(self) -> bool:
        """No finding fails: accepted ones and those known from a baseline never do."""
        return not any(f.fails for f in self.findings)

    @property
    def status(self) -> Status:
        if self.failure is not None:
            invalid = self.failure.exit_code is ExitCode.USAGE
            return Status.INVALID if invalid else Status.INCOMPLETE
        if self.live_from == "spec":
            return Status.VALID
        return Status.IN_SYNC if self.in_sync else Status.DRIFT

    @property
    def exit_code(self) -> ExitCode:
        if self.failure is not None:
            return self.failure.exit_code
        return ExitCode.IN_SYNC if self.in_sync else ExitCode.DRIFT

    @property
    def verdict(self) -> bool:
        """True when the report says something about the tenant (in sync or drift)."""
        return self.status in (Status.IN_SYNC, Status.DRIFT)
