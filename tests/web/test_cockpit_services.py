"""The services scene: buildings coloured by walking minutes, recoloured after a what-if.

A community of its own (the seeded six buildings) with one clinic 1.1 km
down the street: every building is beyond 15 minutes (red). The planner
chooses "place candidate" and clicks the ground in front of the buildings;
the API answers the what-if and the same storey bands turn green, with the
newly covered homes shown — checked on the pixels of the 3D view.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import Cockpit, ConsoleLog, open_page, save_screenshot
from tests.web.pixels import pixel_stats
from tests.web.seed import create_key, seed_community
from tests.web.test_cockpit_page import load, settle, view_point

pytestmark = pytest.mark.browser

CID = "webtest-services"
_BARE_VIEW_CSS = (
    ".scene-labels, .ticker, .fit, .updated, .stale-banner, .services-panel { visibility: hidden; }"
)


@pytest.fixture(scope="module")
def services_key(cockpit: Cockpit) -> str:
    with psycopg.connect(cockpit.database_url, autocommit=True) as conn:
        seed_community(conn, CID, "生活圈 Services")
        conn.execute(
            "INSERT INTO walk_paths (community_id, id, kind, geometry) VALUES (%s, 'street',"
            " 'residential', %s)",
            (CID, json.dumps({"type": "LineString", "coordinates": [[-10, -5], [1200, -5]]})),
        )
        conn.execute(
            "INSERT INTO facilities (community_id, id, type, name, geometry) VALUES"
            " (%s, 'clinic-far', 'clinic', 'far clinic', %s)",
            (CID, json.dumps({"type": "Point", "coordinates": [1100, -5]})),
        )
        return create_key(conn, ["cockpit:read"], [CID])


@pytest.fixture
def services_page(browser: Browser) -> Iterator[tuple[Page, ConsoleLog]]:
    page, log = open_page(browser, locale="en-US")
    yield page, log
    page.context.close()


def is_green(rgb: tuple[float, float, float]) -> bool:
    r, g, b = rgb
    return g > 1.3 * r and g > 1.3 * b


def is_red(rgb: tuple[float, float, float]) -> bool:
    r, g, b = rgb
    return r > 1.8 * g and r > 1.8 * b


def probe(page: Page, browser: Browser, buildings: list[str]) -> list[tuple[float, float, float]]:
    page.add_style_tag(content=_BARE_VIEW_CSS)
    settle(page)
    box = page.locator("#view").bounding_box()
    assert box is not None
    points = [view_point(page, b, 2) for b in buildings]
    shot = page.locator("#view").screenshot()
    stats = pixel_stats(browser, shot, [(x - box["x"], y - box["y"]) for x, y in points])
    page.add_style_tag(content=".services-panel { visibility: visible; }")
    return stats.probes


def test_buildings_recolour_after_placing_a_candidate(
    cockpit: Cockpit,
    browser: Browser,
    services_key: str,
    services_page: tuple[Page, ConsoleLog],
) -> None:
    page, log = services_page
    load(page, cockpit.url(CID, key=services_key))
    page.locator('#scene-tabs button[data-scene="services"]').click()
    expect(page.locator("body")).to_have_attribute("data-services", "base")
    expect(page.locator("#services-covered")).to_have_text("Within 15 min: 0/70 homes")
    settle(page)
    before = probe(page, browser, ["b01", "b03"])
    assert all(is_red(p) for p in before), before

    page.locator("#services-place").click()
    point = page.evaluate("window.cockpit.services.screenPointOfGround(60, -20)")
    box = page.locator("#view").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    expect(page.locator("body")).to_have_attribute("data-services", "what-if")
    expect(page.locator("#services-gained")).to_contain_text("Newly covered: 70 homes")
    settle(page)
    save_screenshot(page, "cockpit-services", docs=True)
    after = probe(page, browser, ["b01", "b03"])
    assert all(is_green(p) for p in after), after

    # Another type has no candidate: its colours are the stored model's (no facility: grey).
    page.locator("#services-type").select_option("school")
    settle(page)
    school = probe(page, browser, ["b01"])
    assert not is_green(school[0])
    assert not is_red(school[0])
    assert log.errors == []
