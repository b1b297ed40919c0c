#!/usr/bin/env python3
"""Regenerate docs/report.png, the README's picture of the HTML audit report.

Runs `orgdrift demo --report html=...` (the built-in emulated tenant: no credentials, no
network), opens the page in headless Chromium with scripts disabled and saves a screenshot of
its top. Needs Chromium (`apt-get install -y chromium`, or ORGDRIFT_CHROMIUM=/path/to/chrome).

    python scripts/screenshot_report.py                  # writes docs/report.png
    python scripts/screenshot_report.py -o /tmp/r.png --html /tmp/r.html
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from orgdrift.cli import main as orgdrift
from tests.browser import Browser, png_size

WIDTH, HEIGHT = 1100, 1400


def demo_report(html: Path) -> None:
    """The demo's HTML report (exit 1: the demo tenant has drifted)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = orgdrift(["demo", "-q", "--report", f"html={html}"])
    if code != 1 or not html.is_file():
        raise SystemExit(f"orgdrift demo exited {code}; expected 1 (drift) and {html}")


def screenshot(html: Path, output: Path, *, full_page: bool = False) -> tuple[int, int]:
    with Browser() as browser:
        loaded = browser.load(html, scripts=False, width=WIDTH, height=HEIGHT, screenshot=True,
                              full_page=full_page)
    outside = [url for url in loaded.requests if url != html.resolve().as_uri()]
    if outside:
        raise SystemExit(f"the report asked for other resources: {outside}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(loaded.screenshot)
    return png_size(loaded.screenshot)


def run(output: Path, html: Path | None = None, *, full_page: bool = False) -> tuple[int, int]:
    with tempfile.TemporaryDirectory(prefix="orgdrift-report-") as scratch:
        page = html or Path(scratch) / "report.html"
        demo_report(page)
        return screenshot(page, output, full_page=full_page)


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--html", type=Path, help="also keep the HTML page here")
    parser.add_argument("--full-page", action="store_true", help="the whole page, not its top")
    args = parser.parse_args(argv)
    width, height = run(args.output, args.html, full_page=args.full_page)
    print(f"wrote {args.output} ({width}x{height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
