"""Browser-test fixtures: a seeded database, the real API, Debian's Chromium.

Chromium is driven by Playwright with ``executable_path=/usr/bin/chromium``
(no browser download); WebGL runs on the CPU through SwiftShader. Every page
records console errors, and a test fails if its page logged any it did not
expect.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.services import ROOT
from tests.web.seed import create_key, seed_community
from tests.web.server import ApiServer

CHROMIUM = Path(os.environ.get("COMMTWIN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = ROOT / "tests" / "artifacts"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
CID_A = "webtest-a"
CID_B = "webtest-b"
NAME_A = "兰亭社区 Lanting"
NAME_B = "B社区 Secret"


@dataclass(frozen=True)
class Cockpit:
    """The seeded API: its URL, the communities and a screen key for A only."""

    server: ApiServer
    database_url: str
    key_a: str

    def url(self, cid: str = CID_A, key: str | None = None) -> str:
        return f"{self.server.base_url}/cockpit/{cid}" + (f"?key={key}" if key else "")


@dataclass
class ConsoleLog:
    """Console errors and uncaught exceptions of one page."""

    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} @ {message.location.get('url', '')}")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")


@pytest.fixture(scope="session")
def cockpit(database_url: str) -> Iterator[Cockpit]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        seed_community(conn, CID_A, NAME_A)
        seed_community(conn, CID_B, NAME_B)
        key_a = create_key(conn, ["cockpit:read"], [CID_A])
    server = ApiServer(database_url).start()
    try:
        yield Cockpit(server, database_url, key_a)
    finally:
        server.stop()


# Per module, not per session: Playwright's sync API runs an event loop in the
# main thread while it is open, which would break later tests' asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/setup.sh does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(
    browser: Browser, *, locale: str = "zh-CN", width: int = 1920, height: int = 1080
) -> tuple[Page, ConsoleLog]:
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    page = context.new_page()
    log = ConsoleLog()
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    return page, log


@pytest.fixture
def page_and_log(browser: Browser) -> Iterator[tuple[Page, ConsoleLog]]:
    page, log = open_page(browser)
    yield page, log
    page.context.close()


def save_screenshot(page: Page, name: str, *, docs: bool = False) -> Path:
    """Save to tests/artifacts/ (git-ignored); with ``docs`` and
    ``COMMTWIN_DOCS_SCREENSHOTS=1`` also to docs/screenshots/ (committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("COMMTWIN_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (DOCS_SCREENSHOTS / f"{name}.png").write_bytes(path.read_bytes())
    return path
