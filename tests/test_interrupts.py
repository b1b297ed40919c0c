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
            [sys.executable, "-m", "orgdrift", "check", "examples/orgs.yaml", "--report", f"json={report}"],
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
