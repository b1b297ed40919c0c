"""The exit-code table, the one exception tree (each error carries its exit code), and where in
an input file a problem is (`Location`, `Problem`).

Nothing here imports from the rest of the package. Messages never contain credentials:
callers pass only domains, paths and Auth0's own error text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """The exit codes, in one place."""

    IN_SYNC = 0
    DRIFT = 1
    USAGE = 2
    INCOMPLETE = 3
    INTERNAL = 4
    INTERRUPTED = 130


class OrgdriftError(Exception):
    """Base of every error orgdrift raises on purpose."""

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# --- exit 2: usage and input -------------------------------------------------------------


class UsageError(OrgdriftError):
    """Bad command line, environment or input file; nothing was fetched."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True, slots=True)
class Location:
    """Where in an input file: a 1-based line and column, 0 when unknown."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def position(self) -> str:
        """`file:line:column`, without the parts that are unknown (0)."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}:{self.column}" if self.line and self.column else where


@dataclass(frozen=True, slots=True)
class Problem(Location):
    """One problem in an input file, at a location and a JSON path."""

    path: str  # JSON path such as "$.organizations[0].name", or "" when not applicable
    message: str

    def render(self) -> str:
        path = f" {self.path}:" if self.path else ""
        return f"{self.position()}:{path} {self.message}"


class InputError(UsageError):
    """An input document (spec, snapshot, baseline, history report) is invalid; carries every
    problem found."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} found:\n" + "\n".join(p.render() for p in self.problems))


# --- exit 3: the live state could not be read completely -------------------------------


class LiveStateError(OrgdriftError):
    """The live state could not be read completely; no verdict is possible."""

    exit_code = ExitCode.INCOMPLETE
    # The scopes the read needed and those the token was granted (sorted; None: not known),
    # when the read got far enough to know them: the report's evidence keeps them.
    scopes_required: tuple[str, ...] = ()
    scopes_granted: tuple[str, ...] | None = None


class ApiError(LiveStateError):
    """The Management API answered with an error (after any retries)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error_code: str | None = None,
        method: str = "GET",
        path: str = "",
    ) -> None:
        where = f"{method} {path}: " if path else ""
        detail = f" [{error_code}]" if error_code else ""
        super().__init__(f"{where}HTTP {status}{detail}: {message}")
        self.status = status
        self.error_code = error_code
        self.api_message = message
        self.method = method
        self.path = path


class AuthenticationError(ApiError):
    """401: missing, invalid or expired token, wrong audience, bad client credentials."""


class InsufficientScopeError(ApiError):
    """403: the token lacks a scope orgdrift needs."""


class NotFoundError(ApiError):
    """404. The fetch stage turns an unknown organization into a finding, not an error."""


class BadRequestError(ApiError):
    """400: invalid_paging, invalid_query_string and other rejected requests."""


class RateLimitError(ApiError):
    """429 after every retry was spent."""


class ServerError(ApiError):
    """5xx after every retry was spent."""


class TransportError(LiveStateError):
    """Connection failures and timeouts after every retry was spent."""


class ProtocolError(LiveStateError):
    """A response that is not what the API documents: bad JSON, wrong shape, stuck cursor."""


class DeadlineExceeded(LiveStateError):
    """The whole run went past `--timeout`."""


class IncompleteSnapshotError(LiveStateError):
    """A saved snapshot lacks data the spec needs (e.g. unmanaged checks on a partial listing)."""


class IncrementalUnavailable(LiveStateError):
    """`check --since --no-full-fallback` when the logs cannot show what changed (exit 3)."""


class FeatureUnavailableError(ApiError):
    """The tenant does not offer an endpoint the spec needs (an Early Access feature not
    enabled for it): exit 3 naming the feature."""
