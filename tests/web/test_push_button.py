"""The phone page's "通知 / Notify me" button (docs/people.md "Web Push"): shown when
the browser has PushManager and the server a VAPID key, with the service worker
registered for the page's own scope; hidden when the server has no key.

(Subscribing itself needs the browser vendor's push service, which headless
Chromium here cannot reach; tests/api/test_web_push.py sends and decrypts.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from api.app import create_app
from api.config import ApiConfig
from tests.api.conftest import serve
from tests.api.live_fixtures import LiveSite
from tests.api.seed import A
from tests.api.test_people_actions import PASSWORD, Who
from tests.api.test_web_push import people, push_service, site
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, ConsoleLog

__all__ = ["people", "push_service", "site"]  # the Web Push API test's fixtures


# Asked for after ``site`` and ``people``: their set-up runs asyncio, which cannot
# start while sync Playwright's loop runs in this thread.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/setup.sh does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def signed_in(browser: Browser, base: str, login: str) -> tuple[Page, ConsoleLog]:
    page = browser.new_context(locale="zh-CN").new_page()
    log = ConsoleLog()
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    page.goto(f"{base}/app/{A}")
    page.fill("#signin input[name=login]", login)
    page.fill("#signin input[name=password]", PASSWORD)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#signout", state="visible")
    return page, log


def test_the_button_shows_with_a_key_and_the_worker_has_the_page_scope(
    site: LiveSite, people: dict[str, Who], browser: Browser
) -> None:
    page, log = signed_in(browser, site.base, "zhang")
    page.wait_for_selector("#push", state="visible", timeout=10000)
    assert page.text_content("#push") == "通知"
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r && r.scope)")
    assert scope == f"{site.base}/app/{A}"
    page.click("#lang")
    assert page.text_content("#push") == "Notify me"
    assert log.errors == []


def test_no_button_when_the_server_has_no_key(
    site: LiveSite, people: dict[str, Who], browser: Browser
) -> None:
    with serve(create_app(ApiConfig(site.url))) as plain:
        page, log = signed_in(browser, plain, "zhang")
        page.wait_for_timeout(1000)  # the page has asked GET /v1/me/push by now
        assert page.is_hidden("#push")
        assert page.evaluate("navigator.serviceWorker.getRegistration().then((r) => !r)")
        # The server says Web Push is off (200, enabled false): nothing failed, not
        # even a request the console would log.
        assert log.errors == []
