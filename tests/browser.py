"""Headless Chromium for the HTML report's tests and scripts/screenshot_report.py.

Two ways in, both with the flags this sandbox needs (no background networking, a fresh profile):
`dump_dom` runs `chromium --headless --dump-dom` (scripts on, Chromium's own way); `Browser`
speaks the DevTools protocol over `--remote-debugging-pipe` (file descriptors 3 and 4, no
socket, no extra package) to load a page with scripts disabled, list every request the page
made, read the text as laid out (DOMSnapshot: only what is actually rendered) and screenshot it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

INSTALL_HINT = (
    "no Chromium or Chrome found, which the HTML report's browser tests need: install one "
    "(Debian or Ubuntu: `apt-get update && apt-get install -y chromium`; scripts/install does it "
    "when run as root), or set ORGDRIFT_CHROMIUM to a Chromium or Chrome executable"
)

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
)
TIMEOUT = 90.0


class ChromiumMissing(RuntimeError):
    pass


def find_chromium() -> str:
    """The browser to use: $ORGDRIFT_CHROMIUM, else chromium, chromium-browser or google-chrome."""
    configured = os.environ.get("ORGDRIFT_CHROMIUM")
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ChromiumMissing(
                f"ORGDRIFT_CHROMIUM={configured} is not an executable; " + INSTALL_HINT
            )
        return found
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumMissing(INSTALL_HINT)


def dump_dom(page: Path, *, width: int = 1200, height: int = 900) -> str:
    """The DOM after loading `page`, as `chromium --headless --dump-dom` prints it."""
    with tempfile.TemporaryDirectory(prefix="orgdrift-chromium-") as profile:
        ran = subprocess.run(
            [
                find_chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    if ran.returncode != 0 or "<html" not in ran.stdout:
        raise RuntimeError(f"chromium --dump-dom failed ({ran.returncode}): {ran.stderr[-2000:]}")
    return ran.stdout


@dataclass
class Loaded:
    """A page as the browser loaded it."""

    html: str  # the DOM, serialised
    rendered: list[str]  # text of every laid-out text box, in document order
    requests: list[str]  # every URL the page asked for, the page itself included
    screenshot: bytes = field(repr=False, default=b"")
    pdf: bytes = field(repr=False, default=b"")

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.rendered).split())


class Browser:
    """One headless Chromium driven over the DevTools pipe."""

    def __init__(self) -> None:
        executable = find_chromium()
        self._profile = tempfile.TemporaryDirectory(prefix="orgdrift-chromium-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire() -> None:  # in the child: the pipe protocol reads fd 3 and writes fd 4
            reading, writing = os.dup(to_browser_read), os.dup(from_browser_write)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self._process = subprocess.Popen(
            [
                executable,
                *FLAGS,
                f"--user-data-dir={self._profile.name}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            pass_fds=(3, 4),  # kept open: subprocess closes the others after `wire` runs
            preexec_fn=wire,  # no threads run in the child before exec
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # --- the protocol ------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], TIMEOUT)
            if not ready:
                raise RuntimeError(f"chromium did not answer within {TIMEOUT:.0f} s")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        decoded: dict[str, Any] = json.loads(message)
        return decoded

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._events.append(reply)

    def _wait(self, event: str, session: str) -> dict[str, Any]:
        for index, seen in enumerate(self._events):
            if seen.get("method") == event and seen.get("sessionId") == session:
                return self._events.pop(index)
        while True:
            message = self._read()
            if message.get("method") == event and message.get("sessionId") == session:
                return message
            self._events.append(message)

    def _requests(self, session: str) -> Iterator[str]:
        for event in self._events:
            if (
                event.get("method") == "Network.requestWillBeSent"
                and event.get("sessionId") == session
            ):
                yield str(event["params"]["request"]["url"])

    # --- what the tests use ------------------------------------------------------------

    def load(
        self,
        page: Path,
        *,
        scripts: bool,
        width: int = 1200,
        height: int = 900,
        screenshot: bool = False,
        full_page: bool = True,
        media: str = "",
        pdf: bool = False,
    ) -> Loaded:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self._events.clear()
        self.call("Page.enable", session=session)
        self.call("Network.enable", session=session)
        self.call("Emulation.setScriptExecutionDisabled", {"value": not scripts}, session=session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        if media:
            self.call("Emulation.setEmulatedMedia", {"media": media}, session=session)
        self.call("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        self._wait("Page.loadEventFired", session)
        root = self.call("DOM.getDocument", {"depth": -1}, session=session)["root"]
        html = self.call("DOM.getOuterHTML", {"nodeId": root["nodeId"]}, session=session)[
            "outerHTML"
        ]
        snapshot = self.call("DOMSnapshot.captureSnapshot", {"computedStyles": []}, session=session)
        strings = snapshot["strings"]
        rendered = [
            strings[index]
            for document in snapshot["documents"]
            for index in document["layout"]["text"]
            if index >= 0 and strings[index].strip()
        ]
        image = b""
        if screenshot:
            data = self.call(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": full_page},
                session=session,
            )
            image = base64.b64decode(data["data"])
        printed = b""
        if pdf:
            data = self.call("Page.printToPDF", {"printBackground": True}, session=session)
            printed = base64.b64decode(data["data"])
        requests = list(self._requests(session))
        self.call("Target.closeTarget", {"targetId": target})
        return Loaded(html, rendered, requests, image, printed)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self.call("Browser.close")
        try:
            self._process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._profile.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (ValueError when it is not a PNG)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


if __name__ == "__main__":  # `python -m tests.browser`: scripts/install and scripts/test ask here
    try:
        print(find_chromium())
    except ChromiumMissing as missing:
        raise SystemExit(str(missing)) from None
