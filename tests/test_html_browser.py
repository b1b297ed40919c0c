"""The HTML report in a real browser: headless Chromium renders it with scripts on (`--dump-dom`)
and with scripts disabled (DevTools protocol), reads the text as laid out, records every request
the page makes (only the page itself), and takes a screenshot, kept as a test artifact under
build/test-artifacts/ (or $ORGDRIFT_TEST_ARTIFACTS), not compared with a golden.

Chromium is required, never skipped: without it these tests fail saying how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from orgdrift.cli import main
from scripts.screenshot_report import run as screenshot_script
from tests.browser import Browser, ChromiumMissing, dump_dom, find_chromium, png_size
from tests.reporters.test_html import HOSTILE, hostile_report, parse, render, shown

ROOT = Path(__file__).resolve().parent.parent
HISTORY = Path(__file__).resolve().parent / "data" / "history"


def artifacts() -> Path:
    folder = Path(os.environ.get("ORGDRIFT_TEST_ARTIFACTS", ROOT / "build" / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        find_chromium()
    except ChromiumMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    with Browser() as running:
        yield running


@pytest.fixture
def demo_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    page = tmp_path / "report.html"
    assert main(["demo", "-q", "--report", f"html={page}"]) == 1
    return page


def test_a_missing_chromium_fails_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORGDRIFT_CHROMIUM", "no-such-browser-here")
    with pytest.raises(ChromiumMissing) as missing:
        find_chromium()
    assert "apt-get install -y chromium" in str(missing.value)
    monkeypatch.delenv("ORGDRIFT_CHROMIUM")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ChromiumMissing, match="apt-get update && apt-get install -y chromium"):
        find_chromium()


def test_scripts_are_really_disabled(browser: Browser, tmp_path: Path) -> None:
    """The control: a page whose script writes text shows it with scripts on, not off."""
    page = tmp_path / "script.html"
    page.write_text(
        "<!DOCTYPE html><html><body><p>static text</p>"
        "<script>document.body.append('SCRIPT-RAN')</script></body></html>",
        encoding="utf-8",
    )
    assert "SCRIPT-RAN" in browser.load(page, scripts=True).text
    off = browser.load(page, scripts=False)
    assert "static text" in off.text and "SCRIPT-RAN" not in off.text
    assert "SCRIPT-RAN" in dump_dom(page).split("</script>", 1)[1]  # --dump-dom runs scripts


def rendered_demo_text(text: str) -> None:
    assert "Drift found" in text
    assert "4 findings (1 warning) in 4 of 6 organizations (1 unmanaged)" in text
    for name in ("acme", "globex", "initech", "umbrella", "hooli", "pied-piper"):
        assert name in text
    assert "examples/orgs.yaml:18" in text
    assert "connection google-oauth2 is enabled but not allowed" in text
    assert 'display_name is "Globex Corp (legacy)", expected "Globex Corporation"' in text
    assert "Evidence" in text and "Spec files" in text and "sha256" in text


def test_dump_dom(demo_page: Path) -> None:
    dom = dump_dom(demo_page)
    page = parse("<!DOCTYPE html>\n" + dom[dom.index("<html") :])
    rendered_demo_text(page.find("body")[0].text())


def test_rendered_with_scripts_disabled_fetches_nothing_and_is_screenshot(
    browser: Browser, demo_page: Path
) -> None:
    loaded = browser.load(demo_page, scripts=False, width=1200, height=900, screenshot=True)
    rendered_demo_text(loaded.text)
    assert loaded.requests == [demo_page.resolve().as_uri()]
    width, height = png_size(loaded.screenshot)
    assert width == 1200 and height > 900  # the whole page, beyond the first screen
    (artifacts() / "report-demo.png").write_bytes(loaded.screenshot)


def test_it_prints(browser: Browser, demo_page: Path) -> None:
    """With print media everything is still laid out, and Chromium prints it to PDF pages."""
    loaded = browser.load(demo_page, scripts=False, media="print", pdf=True)
    rendered_demo_text(loaded.text)
    assert loaded.pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", loaded.pdf))
    assert 1 <= pages <= 4, pages
    (artifacts() / "report-demo.pdf").write_bytes(loaded.pdf)


def test_history_page_in_the_browser(
    browser: Browser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(HISTORY)
    page = tmp_path / "history.html"
    assert main(["report", *sorted(p.name for p in HISTORY.glob("*.json")), "-o", str(page)]) == 0
    loaded = browser.load(page, scripts=False, screenshot=True)
    text = loaded.text
    assert "History" in text and "Findings over time" in text
    assert "Exceptions expiring within 30 days" in text and "25 days left" in text
    assert "run 3, 2026-10-19 06:17" in text  # when acme's display_name was resolved
    assert "incomplete: no verdict" in text
    assert "2026-10-05" in loaded.rendered and "2026-10-26" in loaded.rendered  # chart axis
    assert loaded.requests == [page.resolve().as_uri()]
    (artifacts() / "report-history.png").write_bytes(loaded.screenshot)


def test_hostile_text_renders_as_text(browser: Browser, tmp_path: Path) -> None:
    built = hostile_report()
    page = tmp_path / "hostile.html"
    page.write_text(render(built), encoding="utf-8")
    for scripts in (True, False):
        loaded = browser.load(page, scripts=scripts)
        assert loaded.requests == [page.resolve().as_uri()]
        text = loaded.text
        for value in HOSTILE[:8]:
            assert shown(value) in text, value
        assert "\\u202egnp.exe" in text and "ac\\u200bme" in text
        dom = parse("<!DOCTYPE html>\n" + loaded.html)
        assert not dom.find("script") and not dom.find("img") and not dom.find("iframe")


def test_the_readme_screenshot_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    output = artifacts() / "readme-report.png"
    width, height = screenshot_script(output, tmp_path / "demo.html")
    assert (width, height) == (1100, 1400)
    data = output.read_bytes()
    assert png_size(data) == (1100, 1400)
    assert len(data) > 20_000  # a page, not a blank image
    assert (tmp_path / "demo.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_the_readme_shows_the_generated_screenshot() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/report.png)" in readme and "scripts/screenshot_report.py" in readme
    assert png_size((ROOT / "docs" / "report.png").read_bytes()) == (1100, 1400)
