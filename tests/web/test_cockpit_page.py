"""The cockpit page in headless Chromium against the real API and database.

What is checked is what a person at the screen sees: pixels of the 3D view,
texts of the panels, the state badge, the side panel after a click.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import (
    CID_A,
    CID_B,
    NAME_A,
    NAME_B,
    Cockpit,
    ConsoleLog,
    open_page,
    save_screenshot,
)
from tests.web.pixels import hue, pixel_stats
from tests.web.seed import BUILDINGS

pytestmark = pytest.mark.browser

# Overlays hidden while reading pixels of the 3D view itself.
_BARE_VIEW_CSS = ".scene-labels, .ticker, .fit, .updated, .stale-banner { visibility: hidden; }"


def load(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.cockpit && window.cockpit.ready")
    assert page.evaluate("window.cockpit.ready") is True
    expect(page.locator("body")).to_have_attribute("data-state", "live")
    settle(page)


def settle(page: Page) -> None:
    """Wait for two animation frames: the on-demand renderer has drawn."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def view_point(page: Page, building: str, storey: int) -> tuple[float, float]:
    """Where a storey band is on the page, from the scene's own projection."""
    point = page.evaluate("([b, s]) => window.cockpit.view.screenPointOf(b, s)", [building, storey])
    box = page.locator("#view").bounding_box()
    assert point is not None
    assert box is not None
    return box["x"] + point["x"], box["y"] + point["y"]


def has_endpoint(cockpit: Cockpit, suffix: str) -> bool:
    """Whether the API serves ``/v1/communities/{cid}<suffix>`` (parameter names ignored)."""
    spec = httpx.get(cockpit.server.base_url + "/openapi.json", timeout=10).json()
    wanted = re.sub(r"\{[^}]*\}", "{}", f"/v1/communities/{{cid}}{suffix}")
    return any(re.sub(r"\{[^}]*\}", "{}", path) == wanted for path in spec["paths"])


def test_canvas_draws_buildings_coloured_by_storey_status(
    cockpit: Cockpit, browser: Browser, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    load(page, cockpit.url(key=cockpit.key_a))
    page.wait_for_function("window.cockpit.state.trends !== null")
    settle(page)
    save_screenshot(page, "cockpit")
    page.add_style_tag(content=_BARE_VIEW_CSS)
    settle(page)
    box = page.locator("#view").bounding_box()
    assert box is not None
    probes = {
        "alarm": view_point(page, "b01", 3),  # critical smoke alarm
        "warning": view_point(page, "b02", 5),  # minor alarm
        "offline": view_point(page, "b03", 3),  # a smoke detector offline
        "normal": view_point(page, "b06", 10),
    }
    shot = page.locator("#view").screenshot()
    stats = pixel_stats(browser, shot, [(x - box["x"], y - box["y"]) for x, y in probes.values()])
    # Six lit buildings cover a good part of the view; an empty scene is dark.
    assert stats.bright_fraction > 0.04, stats
    assert stats.distinct_colours > 50, stats
    seen = dict(zip(probes, (hue(p) for p in stats.probes), strict=True))
    assert seen == {"alarm": "red", "warning": "amber", "offline": "grey", "normal": "blue"}
    if has_endpoint(cockpit, "/grids"):
        # Grid outlines on the ground (cyan lines) and their names.
        assert stats.cyan_pixels > 100, stats
        expect(page.locator(".label-grid")).to_have_text(["第一网格", "第二网格"])
    assert log.errors == []


def test_key_is_kept_and_taken_out_of_the_address(
    cockpit: Cockpit, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    load(page, cockpit.url(key=cockpit.key_a))
    assert "key=" not in page.url
    assert page.evaluate("localStorage.getItem('commtwin.key')") == cockpit.key_a
    load(page, cockpit.url())  # no ?key= this time: the stored key is used
    expect(page.locator("#community-name")).to_have_text(NAME_A)
    assert log.errors == []


def test_clicking_a_building_opens_its_panel(
    cockpit: Cockpit, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    load(page, cockpit.url(key=cockpit.key_a))
    page.mouse.click(*view_point(page, "b02", 5))
    side = page.locator("#side")
    expect(side).to_be_visible()
    expect(side).to_have_attribute("data-id", "b02")
    expect(page.locator("#side-title")).to_have_text("2幢")
    storeys = page.locator("#side-body details.storey")
    expect(storeys).to_have_count(next(b.storeys for b in BUILDINGS if b.id == "b02"))
    # The clicked storey is unfolded and lists its device with its state.
    clicked = page.locator("#side-body details.storey[data-storey='5']")
    expect(clicked).to_have_attribute("open", "")
    expect(clicked.locator("li.device[data-device='smoke-b02-05']")).to_be_visible()
    expect(clicked.locator(".badge")).to_have_text("预警")
    save_screenshot(page, "cockpit-building-panel")
    page.locator("#side-close").click()
    expect(side).to_be_hidden()
    assert log.errors == []


def test_language_follows_the_browser_and_switches(cockpit: Cockpit, browser: Browser) -> None:
    page, log = open_page(browser, locale="en-US")
    try:
        load(page, cockpit.url(key=cockpit.key_a))
        expect(page.locator(".brand .subtitle")).to_have_text("Community Digital Twin Cockpit")
        expect(page.locator("#scene-tabs .tab[data-scene='safety']")).to_have_text("Safety")
        page.locator("#lang").click()
        expect(page.locator(".brand .subtitle")).to_have_text("社区数字孪生驾驶舱")
        expect(page.locator("#scene-tabs .tab[data-scene='safety']")).to_have_text("安全")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        load(page, cockpit.url())  # the choice outlives a reload
        expect(page.locator(".brand .subtitle")).to_have_text("社区数字孪生驾驶舱")
        assert log.errors == []
    finally:
        page.context.close()


def test_another_communitys_page_shows_no_access_and_none_of_its_data(
    cockpit: Cockpit, browser: Browser, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    answered: dict[str, int] = {}
    page.on("response", lambda r: answered.__setitem__(r.url, r.status))
    page.goto(cockpit.url(CID_B, key=cockpit.key_a))
    page.wait_for_function("window.cockpit && window.cockpit.ready")
    expect(page.locator("body")).to_have_attribute("data-state", "noaccess")
    expect(page.locator("#overlay")).to_be_visible()
    expect(page.locator("#overlay-detail")).to_contain_text(CID_B)
    assert NAME_B not in page.content()
    data_calls = {u: s for u, s in answered.items() if f"/v1/communities/{CID_B}" in u}
    assert data_calls
    assert set(data_calls.values()) == {404}, data_calls
    assert not any(f"/v1/communities/{CID_A}" in u for u in answered)
    # The browser logs each refused request; nothing else went wrong.
    assert log.errors
    assert all("status of 404" in e for e in log.errors), log.errors
    # Nothing drawn: the 3D view holds no building.
    page.add_style_tag(content=_BARE_VIEW_CSS + " #overlay { display: none !important; }")
    settle(page)
    stats = pixel_stats(browser, page.locator("#view").screenshot())
    assert stats.bright_fraction < 0.002, stats
    assert stats.cyan_pixels == 0, stats  # no grids either
    save_screenshot(page, "cockpit-no-access")


def test_laptop_screen_fits_without_sideways_scrolling(cockpit: Cockpit, browser: Browser) -> None:
    page, log = open_page(browser, width=1366, height=768)
    try:
        load(page, cockpit.url(key=cockpit.key_a))
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1]
        for panel in ("#view", "#incident-list", "#gauge", "#trend-left"):
            box = page.locator(panel).bounding_box()
            assert box is not None
            assert box["width"] > 150, (panel, box)
            assert box["height"] > 90, (panel, box)
        save_screenshot(page, "cockpit-1366x768")
        assert log.errors == []
    finally:
        page.context.close()


def test_stale_when_the_api_is_away_and_recovers_by_itself(
    cockpit: Cockpit, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    load(page, cockpit.url(key=cockpit.key_a))
    cockpit.server.stop()
    try:
        expect(page.locator("body")).to_have_attribute("data-state", "stale", timeout=15_000)
        expect(page.locator("#stale-banner")).to_be_visible()
        expect(page.locator("#conn-text")).to_have_text("数据过期")
        # What was on screen stays on screen, marked stale.
        expect(page.locator("#side-title")).to_have_count(1)
        save_screenshot(page, "cockpit-stale")
    finally:
        cockpit.server.start()
    expect(page.locator("body")).to_have_attribute("data-state", "live", timeout=20_000)
    expect(page.locator("#stale-banner")).to_be_hidden()
    expect(page.locator("#conn-text")).to_have_text(re.compile("实时"))
    # The browser logs the requests that found no server; nothing else went wrong.
    assert all("net::ERR_" in e for e in log.errors), log.errors
