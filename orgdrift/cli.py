"""The command line: the only module that reads argv, the environment and the terminal, prints, or
decides the exit code. Every command returns an `ExitCode`; `main` is the one error boundary.
"""

from __future__ import annotations

# Signals first: the handler is installed before the other imports, so that a signal during
# start-up also exits 130/143 without a traceback.
import os
import sys

_signal = __import__("_signal")  # the C module, loaded with the interpreter: no enum import yet
SIGINT, SIGTERM = _signal.SIGINT, _signal.SIGTERM


_HANDLED = (SIGINT, SIGTERM)  # each exits 128 + its number: 130 (ExitCode.INTERRUPTED), 143
_received: list[int] = []  # the signals received during the current `main`, first one first
_running: list[str] = []  # the command `main` runs; empty before it starts and once it returns
_unwinding: list[int] = []  # the signal raised as an exception, while it unwinds the command
_unraisable_hooks = [sys.unraisablehook]  # the hook `main` replaced, for everything else


def _on_signal(signum: int, frame: object) -> None:
    """The one shutdown path for SIGINT and SIGTERM, from the first instruction to the last.

    Before `main` runs a command and after it returns there is nothing to clean up: exit with
    the signal's code at once. While the event loop runs: cancel its tasks (never raise inside
    a task, which is what printed "Task exception was never retrieved"); the read unwinds and
    `main` exits with the signal's code. In the synchronous phases: raise once, so every `with`
    and `finally` unwinds (files are written whole or not at all); later signals only count.
    """
    _received.append(signum)
    if not _running:
        os._exit(128 + signum)
    asyncio = sys.modules.get("asyncio")  # not imported: no event loop can be running
    try:
        loop = asyncio.get_running_loop() if asyncio is not None else None
    except RuntimeError:
        loop = None
    if loop is not None and asyncio is not None:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.call_soon_threadsafe(lambda: None)  # wake the loop if it waits in select()
    elif _in_asyncio(frame):
        _send_again(signum)
    elif not _unwinding:
        _unwinding.append(signum)
        raise KeyboardInterrupt  # SIGTERM too: the same unwinding, its own exit code (143)


def _in_asyncio(frame: object) -> bool:
    """Whether the signal landed in asyncio's own code outside a running loop: an event loop
    being set up or closed (`asyncio.Runner`). An exception raised there leaves the loop half
    closed, and its finalizer prints "Exception ignored in: BaseEventLoop.__del__ ... Invalid
    file descriptor: -1" later."""
    while frame is not None:
        if str(getattr(frame, "f_globals", {}).get("__name__", "")).startswith("asyncio."):
            return True
        frame = getattr(frame, "f_back", None)
    return False


# Signals sent again (`_send_again`): setting one cancels it (an in-process `main` returning).
_resent: list[threading.Event] = []


def _send_again(signum: int) -> None:
    """Deliver `signum` again a moment later, from another thread, to whatever code runs then;
    never before this function has returned (starting a thread waits, and a signal landing in
    that wait would be raised inside the hook or handler that called this)."""
    started, cancelled = threading.Event(), threading.Event()

    def send() -> None:
        started.wait()
        if not cancelled.wait(0.01):
            os.kill(os.getpid(), signum)

    _resent.append(cancelled)
    threading.Thread(target=send, name="orgdrift-signal-again", daemon=True).start()
    started.set()


def _on_unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """A signal that landed in a finalizer (a weakref callback, `__del__` during garbage
    collection) cannot unwind anything from there and would print a traceback: drop it quietly
    and send the signal again a moment later, from another thread, to whatever code runs then."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _unwinding:
        _send_again(_unwinding.pop())
        return
    _unraisable_hooks[-1](unraisable)


def _is_entry_point() -> bool:
    """Whether this process is orgdrift itself (console script or `python -m orgdrift`)."""
    entry = os.path.normpath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    parent, name = os.path.split(entry)
    return name == "orgdrift" or (name == "__main__.py" and os.path.split(parent)[1] == "orgdrift")


if _is_entry_point():
    for _signum in _HANDLED:  # from the first instruction: a signal during start-up exits cleanly
        _signal.signal(_signum, _on_signal)


# The rest of the imports, after the handler on purpose.
import argparse
import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from orgdrift import __version__
from orgdrift.errors import ExitCode, InputError, OrgdriftError, UsageError
from orgdrift.files import STDOUT, check_targets, write_atomic

if TYPE_CHECKING:
    from orgdrift.client import RequestEvent
    from orgdrift.fetch import Progress
    from orgdrift.models import Failure, LiveState, Report
    from orgdrift.pipeline import CheckOptions, DemoOptions
    from orgdrift.plan import Plan
    from orgdrift.reads import Tenant
    from orgdrift.reporters import RenderOptions

Command = Callable[[argparse.Namespace], ExitCode]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `orgdrift` console script and `python -m orgdrift`."""
    if threading.current_thread() is not threading.main_thread():
        return _run(argv)  # signals can only be handled in the main thread
    previous = {sig: _signal.signal(sig, _on_signal) for sig in _HANDLED}
    previous_hook, sys.unraisablehook = sys.unraisablehook, _on_unraisable
    if previous_hook is not _on_unraisable:
        _unraisable_hooks[-1] = previous_hook
    _received.clear()
    _unwinding.clear()
    try:
        code = _run(argv)
    finally:
        if argv is not None:  # called in process (tests): give the caller its handlers back
            for cancelled in _resent:
                cancelled.set()
            _resent.clear()
            for sig, handler in previous.items():
                _signal.signal(sig, handler)
            sys.unraisablehook = previous_hook
    if argv is None:  # end without the interpreter's shutdown: a signal arriving there would
        for stream in (sys.stdout, sys.stderr):  # kill the process instead of exiting with `code`
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    return code


def _run(argv: Sequence[str] | None) -> int:
    """Parse, run the command, map its outcome to an exit code: the one error boundary."""
    code = int(ExitCode.INTERNAL)
    name = "start-up"
    try:
        _running.append(name)
        args = _parser().parse_args(argv)
        command: Command = args.command
        name = command.__name__.removeprefix("_cmd_")
        _running[:] = [name]
        code = int(command(args))
    except BaseException as exc:
        if _received:
            pass  # a signal's unwinding, or an error it caused: exit 130/143 below
        elif isinstance(exc, KeyboardInterrupt):  # raised by other code than our handler
            _received.append(SIGINT)
        elif isinstance(exc, Exception):
            code = _report_error(exc)
        else:
            raise  # SystemExit: argparse's --help, --version and usage errors
    finally:
        _running.clear()
    if not _received:
        return code
    signum = _received[0]
    why = "terminated (SIGTERM)" if signum == SIGTERM else "interrupted"
    after = (
        "the emulator stopped" if name == "emulator" else "files are written whole or not at all"
    )
    with contextlib.suppress(BaseException):
        _err(f"orgdrift: {why} during `{name}`; {after}")
    return int(ExitCode.INTERRUPTED) if signum == SIGINT else 128 + signum


def _report_error(exc: Exception) -> int:
    """Print what went wrong; its exit code (an unexpected exception is a bug: exit 4)."""
    if isinstance(exc, InputError):
        for problem in exc.problems:
            _err(problem.render())
        _err(f"orgdrift: {exc.message.splitlines()[0].rstrip(':')}")
    elif isinstance(exc, OrgdriftError):
        _err(f"orgdrift: error: {exc.message}")
    else:
        _err(f"orgdrift: internal error: {type(exc).__name__}: {exc}")
        _err("This is a bug in orgdrift; please report it with the command you ran.")
        return int(ExitCode.INTERNAL)
    return int(exc.exit_code)


def _failed(failure: Failure) -> ExitCode:
    """Print why a command without a report stopped, as `_report_error` prints an error."""
    located = [p for p in failure.problems if p.file]
    for problem in located:
        _err(problem.render())
    _err(f"orgdrift: {failure.message}" if located else f"orgdrift: error: {failure.message}")
    return failure.exit_code


def _err(text: str) -> None:
    """A message on stderr: names and values in it come from inputs (a file name, a spec, a
    report), so no raw control or invisible character reaches the terminal or CI log."""
    from orgdrift.reporters._common import visible

    print(visible(text, keep="\n\t"), file=sys.stderr)


def _out(text: str, *, styled: bool = False) -> None:
    """A report or page on stdout. On a terminal, invisible characters are shown as escapes
    unless the text is styled (coloured text, whose reporter shows them itself); piped, each
    format has escaped them its own way."""
    if not styled and sys.stdout.isatty():
        from orgdrift.reporters._common import visible

        text = visible(text, keep="\n\t")
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


# --- commands: options from argv, one pipeline call, render, exit code --------------------


def _cmd_validate(args: argparse.Namespace) -> ExitCode:
    from orgdrift import pipeline

    output = _output(args, inputs=args.spec)
    options = pipeline.ValidateOptions(tuple(args.spec), os.environ, args.per_directory)
    return _emit(pipeline.run_validate(options), output)


def _cmd_check(args: argparse.Namespace) -> ExitCode:
    from orgdrift.evidence import ci_run_url

    output = _output(
        args, inputs=[*args.spec, args.live or "", args.since or "", args.baseline or ""]
    )
    if args.live and (args.since or args.write_snapshot):
        raise UsageError("--live compares with a saved snapshot: no --since or --write-snapshot")
    if args.no_full_fallback and not args.since:
        raise UsageError("--no-full-fallback needs --since")
    if args.write_snapshot:  # every file is checked before any request
        targets = [args.write_snapshot, *(path for _, path in output.reports)]
        check_targets(targets, inputs=[*args.spec, args.since or ""])
    written: list[tuple[LiveState, str | None]] = []  # the new snapshot, and why no checkpoint
    with _progress(args) as progress:
        options = replace(
            _check_options(args, progress),
            changed_from=args.changed_from,
            baseline=args.baseline,
            since=args.since,
            full_fallback=not args.no_full_fallback,
            on_snapshot=(lambda state, why: written.append((state, why)))
            if args.write_snapshot
            else None,
            ci_run_url=ci_run_url(os.environ),
        )
        report, plan = _with_plan(args, output, options)
    return _emit(_incremental_outcome(args, report, written), output, plan)


def _check_options(args: argparse.Namespace, progress: Progress | None) -> CheckOptions:
    """What `check` and `plan` compare with what."""
    from orgdrift import pipeline

    return pipeline.CheckOptions(
        specs=tuple(args.spec),
        env=os.environ,
        orgs=tuple(args.org),
        snapshot=args.live,
        tenant=None if args.live else _tenant(args),
        progress=progress,
    )


def _with_plan(
    args: argparse.Namespace, output: _Output, options: CheckOptions | DemoOptions
) -> tuple[Report, Plan | None]:
    """The report, with the plan the Markdown and HTML reports show (None: no such report)."""
    from orgdrift import pipeline

    if {output.format, *(fmt for fmt, _ in output.reports)} & {"markdown", "html"}:
        plan = pipeline.run_plan(pipeline.PlanOptions(options, _allow_delete(args)))
        return plan.report, plan
    if isinstance(options, pipeline.DemoOptions):
        return pipeline.run_demo(options), None
    return pipeline.run_check(options), None


def _cmd_plan(args: argparse.Namespace) -> ExitCode:
    from orgdrift import pipeline
    from orgdrift.plan_render import render_plan
    from orgdrift.reporters import get_reporter

    target = args.output or STDOUT
    check_targets([target], inputs=[*args.spec, args.live or ""])
    with _progress(args) as progress:
        options = pipeline.PlanOptions(_check_options(args, progress), _allow_delete(args))
        plan = pipeline.run_plan(options)
    text_on_stdout = args.format == "text" and target == STDOUT
    if plan.report.failure is not None:
        _err(get_reporter("text").render(plan.report, _render_options(plan.report)).rstrip("\n"))
        if text_on_stdout:
            return plan.exit_code  # said on stderr, as check does
    if not (args.quiet and text_on_stdout and plan.exit_code == ExitCode.IN_SYNC):
        _write(target, render_plan(plan, args.format))
    return plan.exit_code


def _allow_delete(args: argparse.Namespace) -> bool:
    """--allow-delete, or AUTH0_ALLOW_DELETE=true as the Auth0 deploy CLI reads it."""
    option = bool(getattr(args, "allow_delete", False))
    return option or os.environ.get("AUTH0_ALLOW_DELETE", "").lower() == "true"


def _incremental_outcome(
    args: argparse.Namespace, report: Report, written: list[tuple[LiveState, str | None]]
) -> Report:
    """Say on stderr when --since fell back to a full read, and write --write-snapshot; the
    report, with the snapshot file it wrote in its evidence."""
    from orgdrift.evidence import written_snapshot
    from orgdrift.snapshot import dump_snapshot

    if report.basis is not None and report.basis.full_read_because is not None:
        _err(f"orgdrift: full read instead of incremental: {report.basis.full_read_because}")
    if written and report.verdict:
        state, why_none = written[-1]
        if why_none is not None:
            _err(f"orgdrift: note: {why_none}")
        text = dump_snapshot(state)
        write_atomic(args.write_snapshot, text)
        return written_snapshot(report, args.write_snapshot, text)
    return report


def _cmd_snapshot(args: argparse.Namespace) -> ExitCode:
    from orgdrift import pipeline
    from orgdrift.snapshot import dump_snapshot

    check_targets([args.output], inputs=args.spec)
    with _progress(args) as progress:
        specs = () if args.all else tuple(args.spec)
        options = pipeline.SnapshotOptions(_tenant(args), specs, tuple(args.org), progress)
        result = pipeline.run_snapshot(options)
    if result.failure is not None:
        return _failed(result.failure)
    if result.no_checkpoint is not None and specs:
        _err(f"orgdrift: note: {result.no_checkpoint}")
    _write(args.output, dump_snapshot(result.state))
    _note(
        args,
        f"orgdrift: wrote {len(result.state.organizations)} organizations to {args.output} "
        f"({result.stats.requests} requests, {result.stats.seconds:.1f} s)",
    )
    return ExitCode.IN_SYNC


EXPORT_EXTRAS = ("connection-access", "client-grants", "discovery-domains", "token-quota")
"""Parts of the organization model `export` writes unless left out (--without, --no-extras)."""


def _cmd_export(args: argparse.Namespace) -> ExitCode:
    from orgdrift import pipeline
    from orgdrift.fetch import Extras

    target = args.output or STDOUT
    check_targets([target], inputs=[])
    with _progress(args) as progress:
        left_out = set(EXPORT_EXTRAS) if args.no_extras else set(args.without or ())
        view, grants, domains, quota = (part not in left_out for part in EXPORT_EXTRAS)
        extras = Extras(view, grants, domains, if_available=True)
        options = pipeline.ExportOptions(_tenant(args), tuple(args.org), progress, extras, quota)
        result = pipeline.run_export(options)
    if result.failure is not None:
        return _failed(result.failure)
    for part in result.left_out:  # a warning, not chatter: -q does not silence it
        _err(
            f"orgdrift: warning: not exported: {part}; {part.remedy}, or pass --without "
            f"{part.option} to leave it out"
        )
    _write(target, result.text)
    if target != STDOUT:
        _note(args, f"orgdrift: wrote {result.organizations} organizations to {target}")
    return ExitCode.IN_SYNC


def _cmd_demo(args: argparse.Namespace) -> ExitCode:
    from orgdrift import pipeline

    output = _output(args, inputs=[])
    _note(
        args,
        "orgdrift demo: checking examples/orgs.yaml against an emulated tenant "
        "(examples/tenant.json), in process, no credentials or network needed.\n",
    )
    report, plan = _with_plan(
        args, output, pipeline.DemoOptions(tuple(args.org), _request_logger(args))
    )
    return _emit(report, output, plan)


def _cmd_emulator(args: argparse.Namespace) -> ExitCode:
    from orgdrift.emulator import config_from_options, create_app, serve
    from orgdrift.emulator.config import ALL_SCOPES
    from orgdrift.snapshot import load_snapshot

    state = load_snapshot(args.state)
    named = ("token", "rate", "burst", "latency_ms", "fail_rate", "log_delay_ms", "log_retention")
    config = config_from_options(scopes=ALL_SCOPES, **{name: vars(args)[name] for name in named})
    if args.without_early_access:  # a tenant without GET /organizations/{id}/connections
        config = replace(config, organization_connections=False)
    app = create_app(state, config)

    def ready(url: str) -> None:
        _out("\n".join(_emulator_banner(url, args.token)))
        sys.stdout.flush()

    with contextlib.suppress(KeyboardInterrupt):
        serve(app, args.host, args.port, ready)  # UsageError without the `emulator` extra
    return ExitCode.IN_SYNC


def _emulator_banner(url: str, token: str | None) -> list[str]:
    """The emulator's URL, then the environment that points orgdrift at it, ready to paste (a
    token given with --token is not repeated: it is named)."""
    from orgdrift.emulator.config import DEFAULT_TOKEN

    shown = "<the --token value>" if token else DEFAULT_TOKEN
    return [
        url,
        "# in another shell, point orgdrift at it (Ctrl-C here stops it):",
        f"export AUTH0_DOMAIN={url}",
        f"export AUTH0_API_TOKEN={shown}",
    ]


def _cmd_report(args: argparse.Namespace) -> ExitCode:
    from orgdrift import pipeline

    check_targets([args.output], inputs=args.reports)
    result = pipeline.run_report(pipeline.ReportOptions(tuple(args.reports)))
    if result.failure is not None:
        return _failed(result.failure)
    _write(args.output, result.page)
    return ExitCode.IN_SYNC


# --- shared plumbing -----------------------------------------------------------------------


def _tenant(args: argparse.Namespace) -> Tenant:
    from orgdrift.client import ClientOptions
    from orgdrift.reads import Tenant

    return Tenant(
        domain=args.domain or os.environ.get("AUTH0_DOMAIN", ""),
        env=os.environ,
        options=ClientOptions(concurrency=args.concurrency, max_rps=args.max_rps),
        timeout=args.timeout,
        on_event=_request_logger(args),
    )


def _note(args: argparse.Namespace, text: str) -> None:
    """Chatter on stderr, which -q silences (never the requested output)."""
    if not args.quiet:
        _err(text)


def _request_logger(args: argparse.Namespace) -> Callable[[RequestEvent], None] | None:
    if not args.verbose:
        return None

    def log(event: RequestEvent) -> None:
        status = event.status if event.status is not None else (event.error or "error")
        retry = f" (attempt {event.attempt})" if event.attempt > 1 else ""
        _err(f"orgdrift: {event.method} {event.path} -> {status} in {event.seconds:.3f} s{retry}")

    return log


@contextlib.contextmanager
def _progress(args: argparse.Namespace) -> Iterator[Progress | None]:
    """Organizations done of total, rate and time left, redrawn on one stderr line (a terminal
    only, without -q or -v)."""
    stream, started, drawn = sys.stderr, time.monotonic(), []
    if not stream.isatty() or args.no_progress or args.quiet or args.verbose:
        yield None
        return

    def draw(done: int, total: int) -> None:
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f", ~{(total - done) / rate:.0f} s left" if rate > 0 and done < total else ""
        stream.write(f"\r\x1b[2Korgdrift: {done}/{total} organizations read, {rate:.1f}/s{left}")
        stream.flush()
        drawn.append(done)

    try:
        yield draw
    finally:
        if drawn:
            stream.write("\r\x1b[2K")
            stream.flush()


@dataclass(frozen=True, slots=True)
class _Output:
    """What to print and which report files to write, all checked before the first request."""

    format: str
    reports: tuple[tuple[str, str], ...]  # (format, path); path "-" is stdout
    color: bool
    verbose: bool
    quiet: bool


def _output(args: argparse.Namespace, inputs: Sequence[str]) -> _Output:
    from orgdrift.reporters import get_reporter

    reports = []
    for value in args.report:
        fmt, sep, path = value.partition("=")
        if not sep or not path:
            raise UsageError(f"--report takes FORMAT=PATH, got {value!r}")
        get_reporter(fmt)  # an unknown format is a usage error before any request
        reports.append((fmt, path))
    explicit_stdout = [STDOUT] if args.format != "auto" else []
    check_targets([*explicit_stdout, *(path for _, path in reports)], inputs)
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true" and "GITHUB_WORKFLOW" in os.environ
    fmt = "github" if in_actions else "text"
    color = (
        sys.stdout.isatty() and os.environ.get("TERM") != "dumb" and "NO_COLOR" not in os.environ
    )
    return _Output(
        fmt if args.format == "auto" else str(args.format),
        tuple(reports),
        args.color == "always" or (args.color == "auto" and color),
        bool(getattr(args, "verbose", 0)),
        args.quiet,
    )


def _emit(report: Report, output: _Output, plan: Plan | None = None) -> ExitCode:
    """Every requested report, whatever the outcome; the error itself on stderr; the exit code."""
    from orgdrift.reporters import get_reporter

    options = replace(_render_options(report), plan=plan)
    for fmt, path in output.reports:
        _write(path, get_reporter(fmt).render(report, options))
    if report.failure is not None:
        _err(get_reporter("text").render(report, options).rstrip("\n"))
    on_stdout = STDOUT in (path for _, path in output.reports)
    shown_on_stderr = output.format == "text" and report.failure is not None
    quiet = output.quiet and output.format == "text" and report.exit_code == 0
    if not (on_stdout or shown_on_stderr or quiet):
        options = replace(options, color=output.color, verbose=output.verbose)
        _out(get_reporter(output.format).render(report, options), styled=options.color)
    return report.exit_code


def _render_options(report: Report) -> RenderOptions:
    """Where the repository root is, for every file the report names."""
    from orgdrift.files import repo_paths
    from orgdrift.reporters import RenderOptions

    files = [f.path for f in report.spec_files]
    files += [f.source.file for f in report.findings if f.source is not None]
    files += [p.file for p in report.failure.problems] if report.failure else []
    return RenderOptions(paths=repo_paths(files, os.environ))


def _write(path: str, text: str) -> None:
    if path == STDOUT:
        _out(text)
    else:
        write_atomic(path, text)


# --- the parser ----------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def _add_output_options(cmd: argparse.ArgumentParser) -> None:
    from orgdrift.reporters import REPORTERS

    cmd.add_argument(
        "--format",
        default="auto",
        choices=["auto", *REPORTERS],
        help="output on stdout (default auto: github inside GitHub Actions, text elsewhere)",
    )
    cmd.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT=PATH",
        help=f"also write a report file; repeatable. Formats: {', '.join(REPORTERS)}",
    )
    cmd.add_argument(
        "--color",
        default="auto",
        choices=["auto", "always", "never"],
        help="color text output (auto: on a terminal, unless NO_COLOR is set)",
    )


CREDENTIALS_HELP = (
    "Credentials come from the environment: AUTH0_DOMAIN (or --domain), and a Management API "
    "token in AUTH0_API_TOKEN (or AUTH0_ACCESS_TOKEN), or AUTH0_CLIENT_ID + AUTH0_CLIENT_SECRET "
    "for the client-credentials grant (AUTH0_AUDIENCE overrides its audience)."
)
QUIET_HELP = (
    "no progress or notes on stderr, no text output when in sync; "
    "never silences --format json/sarif/... or --report"
)
QUIET_WRITE_HELP = "no progress or notes on stderr (warnings and errors still show)"


def _add_spec(cmd: argparse.ArgumentParser, live: str | None = None) -> None:
    """The spec files; with `live`, --live FILE instead of the tenant."""
    cmd.add_argument("spec", nargs="+", metavar="SPEC", help="spec file(s), merged")
    if live is not None:
        help_ = f"{live} a snapshot file instead of the tenant (no network)"
        cmd.add_argument("--live", metavar="FILE", help=help_)


def _add_common(cmd: argparse.ArgumentParser, quiet: str = QUIET_HELP) -> None:
    """What every command that reads the tenant takes."""
    cmd.add_argument(
        "--org",
        action="append",
        default=[],
        metavar="NAME",
        help="only these organizations (name or id, globs such as 'customer-*'); repeatable",
    )
    cmd.add_argument("-q", "--quiet", action="store_true", help=quiet)
    cmd.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log each request on stderr (credentials are never shown)",
    )
    cmd.add_argument("--domain", help="tenant domain (default: $AUTH0_DOMAIN)")
    cmd.add_argument(
        "--concurrency",
        type=_positive_int,
        default=8,
        help="requests in flight at most (default 8)",
    )
    cmd.add_argument(
        "--max-rps",
        type=_positive_float,
        metavar="R",
        help="never send more than R requests per second",
    )
    cmd.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="S",
        help="give up (exit 3) when the whole run takes longer than S seconds",
    )
    cmd.add_argument("--no-progress", action="store_true", help="no progress line on stderr")


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
    _add_spec(validate)
    validate.add_argument("-q", "--quiet", action="store_true", help="print nothing when valid")
    validate.add_argument(
        "--per-directory",
        action="store_true",
        help="the files of each directory are one spec (one tenant each)",
    )
    _add_output_options(validate)
    validate.set_defaults(command=_cmd_validate)

    check = sub.add_parser(
        "check",
        help="compare the live tenant (or a snapshot) with the spec; exit 1 on drift",
        description=f"Compare the live tenant with the spec. {CREDENTIALS_HELP}",
    )
    _add_spec(check, live="compare with")
    check.add_argument(
        "--changed-from",
        metavar="GIT_REF",
        help="only the organizations whose declarations were added or changed "
        "since GIT_REF (git show REF:path); nothing changed: exit 0, no request",
    )
    check.add_argument(
        "--baseline",
        metavar="REPORT.json",
        help="findings already in this earlier JSON report are known and do not fail; new ones do",
    )
    _add_common(check)
    _add_output_options(check)
    check.add_argument(
        "--since",
        metavar="SNAPSHOT",
        help="incremental: read the tenant logs since this snapshot's checkpoint "
        "and re-read only what they touched (a full read when that cannot be "
        "proven; needs read:logs)",
    )
    check.add_argument(
        "--write-snapshot",
        metavar="FILE",
        help="write the live state read (with a log checkpoint) for the next --since",
    )
    check.add_argument(
        "--no-full-fallback",
        action="store_true",
        help="with --since: exit 3 instead of falling back to a full read",
    )
    check.set_defaults(command=_cmd_check)

    from orgdrift.plan_render import FORMATS as PLAN_FORMATS

    plan = sub.add_parser(
        "plan",
        help="the Management API requests that would make the tenant match the spec "
        "(orgdrift sends none); exit 1 when there is something to do",
        description="For each finding of `check`, the Management API requests (method, path, "
        "body, scope) that would fix it, per organization and in dependency order. orgdrift "
        "never sends them: review the plan, then send it yourself (--format shell writes a "
        "curl script reading AUTH0_DOMAIN and AUTH0_API_TOKEN).",
    )
    _add_spec(plan, live="plan against")
    plan.add_argument(
        "--allow-delete",
        action="store_true",
        help="plan deletes too (unmanaged organizations under policy fail, connections, client "
        "grants and discovery domains not declared); also AUTH0_ALLOW_DELETE=true. Without "
        "it they are listed as manual steps",
    )
    plan.add_argument(
        "--format",
        default="text",
        choices=PLAN_FORMATS,
        help="text (default), json (schemas/plan.schema.json), markdown, or shell: a POSIX sh "
        "script of curl requests",
    )
    plan.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
    _add_common(plan)
    plan.set_defaults(command=_cmd_plan)

    snapshot = sub.add_parser(
        "snapshot",
        help="save the live state as JSON (audit evidence; input of check --live)",
        description="Save the live state of the declared organizations (or all) as JSON. "
        + CREDENTIALS_HELP,
    )
    snapshot.add_argument("spec", nargs="*", metavar="SPEC", help="spec file(s); none: all")
    snapshot.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    snapshot.add_argument(
        "--all", action="store_true", help="every organization of the tenant, with its connections"
    )
    _add_common(snapshot, QUIET_WRITE_HELP)
    snapshot.set_defaults(command=_cmd_snapshot)

    export = sub.add_parser(
        "export",
        help="write a spec from the live tenant (to adopt orgdrift on an existing tenant)",
        description=(
            "Write a spec that declares the tenant's organizations as they are, with every part "
            "of the organization model the token and the tenant allow; a part left out for "
            "that reason is warned about on stderr and named at the top of the file. "
            + CREDENTIALS_HELP
        ),
    )
    export.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
    export.add_argument(
        "--without",
        action="append",
        choices=EXPORT_EXTRAS,
        metavar="PART",
        help=(
            "leave a part of the organization model out on purpose (repeatable, no warning): "
            "connection-access (the "
            "Early Access connection fields; reads enabled_connections instead), client-grants, "
            "discovery-domains, token-quota"
        ),
    )
    export.add_argument(
        "--no-extras",
        action="store_true",
        help="leave all of them out: organizations and enabled connections only",
    )
    _add_common(export, QUIET_WRITE_HELP)
    export.set_defaults(command=_cmd_export)

    demo = sub.add_parser(
        "demo",
        help="run a check against a built-in emulated tenant (no credentials, no network)",
        description="Check the example spec against a built-in emulated tenant with a few drifts.",
    )
    demo.add_argument("--org", action="append", default=[], metavar="NAME", help=argparse.SUPPRESS)
    demo.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    demo.add_argument("-v", "--verbose", action="count", default=0, help="log each request")
    _add_output_options(demo)
    demo.set_defaults(command=_cmd_demo)

    report = sub.add_parser(
        "report",
        help="write the HTML audit page from earlier JSON reports, with their history",
        description="Write one self-contained HTML page from JSON reports (check --report "
        "json=...) of one tenant and one spec: the latest run and the history of all of them.",
    )
    report.add_argument("reports", nargs="+", metavar="REPORT.json", help="JSON reports, any order")
    report.add_argument(
        "-o", "--output", required=True, metavar="PATH", help="HTML file to write ('-': stdout)"
    )
    report.set_defaults(command=_cmd_report)

    emulator = sub.add_parser(
        "emulator",
        help="serve an emulated Management API on loopback (tests, benchmarks, trying orgdrift)",
        description="Serve the Management API emulator over a live-state file on loopback. "
        "Prints its URL and the AUTH0_DOMAIN and AUTH0_API_TOKEN that point orgdrift at it.",
    )
    emulator.add_argument("--state", required=True, metavar="FILE", help="live-state JSON file")
    emulator.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    emulator.add_argument("--port", type=int, default=0, help="port (default 0: any free one)")
    emulator.add_argument("--token", help="accepted bearer token (default emulator-token)")
    emulator.add_argument(
        "--rate",
        type=_positive_float,
        help="global bucket refill, requests/second (default: Enterprise figures)",
    )
    emulator.add_argument("--burst", type=_positive_int, help="global bucket size")
    emulator.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request")
    emulator.add_argument(
        "--fail-rate", type=float, default=0.0, help="share of requests given a 5xx"
    )
    emulator.add_argument(
        "--log-delay-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="tenant log entries become visible only MS ms after the write",
    )
    emulator.add_argument(
        "--log-retention",
        type=_positive_int,
        metavar="N",
        help="keep only the newest N tenant log entries (GET /logs/{id} of an older one: 404)",
    )
    emulator.add_argument(
        "--without-early-access",
        action="store_true",
        help="act as a tenant without the Early Access GET /organizations/{id}/connections (403)",
    )
    emulator.set_defaults(command=_cmd_emulator)
    return parser
