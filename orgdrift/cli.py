"""The command line: the only module that reads argv, the environment and the terminal, prints, or
decides the exit code. Every command returns an `ExitCode`; `main` is the one error boundary.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from orgdrift import __version__
from orgdrift.errors import ExitCode, OrgdriftError, SpecError

Command = Callable[[argparse.Namespace], ExitCode]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `orgdrift` console script and `python -m orgdrift`."""
    parser = _parser()
    args = parser.parse_args(argv)
    command: Command = args.command
    try:
        return int(command(args))
    except SpecError as exc:
        for problem in exc.problems:
            _err(problem.render())
        _err(f"orgdrift: {exc.message.splitlines()[0].rstrip(':')}")
        return int(exc.exit_code)
    except OrgdriftError as exc:
        _err(f"orgdrift: error: {exc.message}")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _err("orgdrift: interrupted")
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # noqa: BLE001  (the boundary: a bug must never look like a verdict)
        _err(f"orgdrift: internal error: {type(exc).__name__}: {exc}")
        _err("This is a bug in orgdrift; please report it with the command you ran.")
        return int(ExitCode.INTERNAL)


def _err(text: str, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stderr)


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


# --- commands ------------------------------------------------------------------------------


def _cmd_validate(args: argparse.Namespace) -> ExitCode:
    from orgdrift.spec import load_specs

    spec = load_specs(args.spec, os.environ)
    if not args.quiet:
        count = len(spec.organizations)
        files = ", ".join(f.path for f in spec.files)
        _out(f"{files}: valid ({count} organization{'s' if count != 1 else ''})")
    return ExitCode.IN_SYNC


# --- the parser ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orgdrift",
        description="Check Auth0 Organizations and their connections against a YAML spec.",
        epilog="Exit codes: 0 in sync, 1 drift, 2 usage or invalid spec, 3 live state "
        "incomplete, 4 internal error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"orgdrift {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    validate = sub.add_parser(
        "validate",
        help="check spec files against the schema and semantic rules (no network)",
        description="Check spec files against the schema and semantic rules. No network.",
    )
    validate.add_argument("spec", nargs="+", metavar="SPEC", help="spec file(s), merged")
    validate.add_argument("-q", "--quiet", action="store_true", help="print nothing when valid")
    validate.set_defaults(command=_cmd_validate)
    return parser
