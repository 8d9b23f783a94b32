"""A real browser for the tests: Debian's Chromium, headless, driven by Playwright, on a
network closed to everything but the server under test.

`make test` installs Chromium when it is missing (`tools/ensure-chromium`); Playwright's own
browser downloads are never used. The network is closed twice: Chromium resolves no host
name but 127.0.0.1, and every request the page makes elsewhere is aborted and recorded, so a
test can say that none was tried.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, sync_playwright

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# The flags the machine's own browser checks use: no sandbox (CI runs as root), and none of
# Chromium's calls home, which a closed network would refuse at every start.
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)

# Collects what the page reports as refused by its Content-Security-Policy.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "Debian's chromium is needed for the browser tests: `make test` installs it "
            "(tools/ensure-chromium), or `apt-get install chromium`."
        )
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """A page on the server, and everything it did that a test may want to refuse."""

    page: Page
    outside: list[str] = field(default_factory=list)  # requests to anywhere else, aborted
    errors: list[str] = field(default_factory=list)  # uncaught exceptions, console errors

    def csp_violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.cspViolations")
        return found

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path)
        return path


@contextmanager
def visit(browser: Browser, server: str) -> Iterator[Visit]:
    """A fresh browser profile whose requests may reach `server` (an origin) only."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    seen = Visit(page)

    def only_the_server(route: Route) -> None:
        if origin(route.request.url) == server:
            route.continue_()
        else:
            seen.outside.append(route.request.url)
            route.abort("blockedbyclient")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(message.text)

    context.route("**/*", only_the_server)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("console", on_console)
    page.on("websocket", lambda socket: _record_outside(seen, server, socket.url))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    try:
        yield seen
    finally:
        context.close()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _record_outside(seen: Visit, server: str, url: str) -> None:
    """Websockets bypass request routing; one to anywhere but the server is recorded."""
    if origin(url).replace("ws", "http", 1) != server:
        seen.outside.append(url)
