"""Ctrl-C and SIGTERM during a check: exit 130 / 143, a message, no report file left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from orgdrift.emulator import (
    DEFAULT_TOKEN,
    EmulatorConfig,
    Fault,
    FaultContext,
    create_app,
    running_server,
)

from .test_cli_check import CREDENTIAL_VARS, ROOT, TENANT, state_of


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_run(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    first_request = threading.Event()

    def slow(ctx: FaultContext) -> Fault | None:
        first_request.set()
        return Fault(delay_ms=30_000.0)  # the run is still waiting when the signal arrives

    app = create_app(state_of(TENANT), EmulatorConfig(faults=slow))
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    with running_server(app) as url:
        env.update(AUTH0_DOMAIN=url, AUTH0_API_TOKEN=DEFAULT_TOKEN)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orgdrift",
                "check",
                "examples/orgs.yaml",
                "--report",
                f"json={report}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert first_request.wait(timeout=60), "orgdrift never reached the emulator"
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == code, err
    assert "during `check`" in err
    assert "Traceback" not in err
    assert out == ""
    assert list(tmp_path.iterdir()) == []  # no report, no temporary file


# --- one shutdown path, from the first instruction to the last (issue 17, item 5) -------------

SOAK = os.environ.get("ORGDRIFT_SOAK") == "1"
SIGNAL_RUNS = 300 if SOAK else 16
EXIT_FOR = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _orgdrift_frames(err: str) -> list[str]:
    """Traceback frames in orgdrift's own code past its entry line (the interpreter's start-up
    and `orgdrift/__main__.py` line 1, before any orgdrift code runs, are outside its reach)."""
    frames = [line for line in err.splitlines() if line.strip().startswith("File ")]
    return [
        f
        for f in frames
        if "orgdrift" + os.sep in f and '__main__.py", line 1,' not in f and "__init__.py" not in f
    ]


def test_a_signal_at_any_moment_exits_with_its_code_and_no_traceback(tmp_path: Path) -> None:
    """SIGINT or SIGTERM at a random moment of `check` (start-up, spec load, the read, the report
    writing, after it): exit 130/143 (or the run's own exit 1 when it finished first), never a
    traceback from orgdrift, never "Task exception was never retrieved", never exit 4, and the
    report either whole or absent."""
    import json
    import random
    import time

    rng = random.Random(17)
    started = time.monotonic()  # how long this machine takes to start orgdrift, now
    subprocess.run(
        [sys.executable, "-m", "orgdrift", "--version"], cwd=ROOT, capture_output=True, check=True
    )
    start_up = time.monotonic() - started
    app = create_app(state_of(TENANT), EmulatorConfig(latency_ms=40.0))
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    outcomes: dict[tuple[str, int], int] = {}
    with running_server(app) as url:
        env.update(AUTH0_DOMAIN=url, AUTH0_API_TOKEN=DEFAULT_TOKEN)
        for run in range(SIGNAL_RUNS):
            sig = rng.choice([signal.SIGINT, signal.SIGTERM])
            delay = rng.uniform(0.0, start_up + 1.0)
            out_dir = tmp_path / f"run{run}"
            out_dir.mkdir()
            report = out_dir / "report.json"
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "orgdrift",
                    "check",
                    "examples/orgs.yaml",
                    "--concurrency",
                    "1",
                    "--report",
                    f"json={report}",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            time.sleep(delay)
            proc.send_signal(sig)
            sent = [sig]
            if rng.random() < 0.3:  # a second signal while shutting down
                time.sleep(rng.uniform(0.0, 0.05))
                if proc.poll() is None:
                    sent.append(rng.choice([signal.SIGINT, signal.SIGTERM]))
                    proc.send_signal(sent[-1])
            out, err = proc.communicate(timeout=60)
            code = proc.returncode
            outcomes[(sig.name, code)] = outcomes.get((sig.name, code), 0) + 1
            context = f"run {run}: {sig.name} after {delay:.3f} s -> {code}\n{err}"
            assert not _orgdrift_frames(err), context
            assert "never retrieved" not in err and "was destroyed" not in err, context
            # The signal handled first decides (two pending at once are handled in signal
            # number order, so either of two sent may be), and each outcome has one code: the
            # run finished first (1, its report written); the signal came before the
            # interpreter ran orgdrift's first line (outside orgdrift's reach: death by it, or
            # Python's own exit 1 when Ctrl-C stops its start-up, in `site` or `runpy`); else
            # its exit code, silently before `main` ran a command and with a message after.
            if code == 1 and not report.exists():
                assert signal.SIGINT in sent and err.rstrip().endswith("KeyboardInterrupt"), context
                assert "<frozen " in err and "during `" not in err, context
            elif code == 1:
                assert report.exists() and out, context
            elif code < 0:
                assert -code in sent and not report.exists(), context
            else:
                assert code in {EXIT_FOR[s] for s in sent}, context
                if "during `" not in err:
                    assert err == "", context
            leftovers = [p.name for p in out_dir.iterdir() if p.name != "report.json"]
            assert leftovers == [], context
            if report.exists():
                json.loads(report.read_text(encoding="utf-8"))  # whole, never half-written
    print(
        f"\nsignals: {SIGNAL_RUNS} runs, start-up {start_up:.2f} s, outcomes {dict(sorted(outcomes.items()))}"
    )
    assert sum(n for (_, code), n in outcomes.items() if code in (130, 143)) >= SIGNAL_RUNS // 4, (
        outcomes
    )


FINALIZER_SCRIPT = """
import os, signal, sys, time, weakref
from orgdrift import cli
signal.signal(signal.SIGINT, cli._on_signal)
sys.unraisablehook = cli._on_unraisable
cli._running.append("check")
class Resource: pass
def nothing(): pass
def callback(ref):
    os.kill(os.getpid(), signal.SIGINT)
    nothing()  # a function entry: the pending signal's handler runs here, inside the callback
resource = Resource()
watch = weakref.ref(resource, callback)
try:
    del resource
    for _ in range(500):
        time.sleep(0.01)
    print("lost")
except KeyboardInterrupt:
    print("delivered", len(cli._received))
"""


def test_a_signal_inside_a_finalizer_is_delivered_again_without_a_traceback() -> None:
    """A signal's exception raised in a weakref callback or `__del__` cannot unwind anything and
    Python prints it as "Exception ignored in": orgdrift drops it and sends the signal again."""
    done = subprocess.run(
        [sys.executable, "-c", FINALIZER_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "delivered 2", done.stdout + done.stderr
    assert done.stderr == ""
