"""The shared 3D BAG tile (Delft, LoD2) in the cockpit, through the real
``buildings.glb``: roofs drawn as modelled (and lost in the footprint-only
draw, which the pixel comparison must notice), a building picked by clicking
its roof, and a storey in alarm shown on the real building.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from api.community_store import import_community
from tests.shared_data import DELFT
from tests.web.conftest import Cockpit, open_page, save_screenshot
from tests.web.pixels import PixelStats, hue, pixel_stats
from tests.web.seed import create_key
from tests.web.test_cockpit_page import _BARE_VIEW_CSS, load, settle, view_point
from twin.community.file import read_geometry, read_json_file
from twin.model.community import Building, Community

pytestmark = pytest.mark.browser
CID = "webtest-delft"
ALARM_STOREY = 2
LOAD_MS = 120_000  # ~900 buildings on a CPU-rendered browser, on a busy machine


@dataclass(frozen=True)
class Delft:
    key: str
    alarm_building: str


def _south_east_most(buildings: tuple[Building, ...]) -> Building:
    """A building of 3+ storeys at the south-east edge: the camera's side, unhidden."""
    tall = [b for b in buildings if sum(s.index > 0 for s in b.storeys) >= ALARM_STOREY + 1]
    assert tall

    def towards_camera(b: Building) -> float:
        assert b.footprint is not None
        c = b.footprint.centroid
        return 0.45 * c.x - 0.75 * c.y  # the page's view direction from the south-east

    return max(tall, key=towards_camera)


@pytest.fixture(scope="module")
def delft(cockpit: Cockpit) -> Delft:
    found = read_geometry(read_json_file(DELFT), DELFT.name)
    community = Community(
        CID, "Delft 3D BAG", found.frame.crs, found.frame.offset, buildings=found.buildings
    )
    target = _south_east_most(community.buildings)
    now = datetime.now(UTC)
    with psycopg.connect(cockpit.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM communities WHERE id = %s", (CID,))
        import_community(conn, community)
        conn.execute(
            "INSERT INTO alarms (community_id, device_id, rule_id, metric, severity, state,"
            " message, value, raised_at, updated_at, building_id, storey_idx)"
            " VALUES (%s, 'smoke-delft', 'smoke', 'smoke', 'critical', 'active_unack',"
            " 'smoke detected', 1, %s, %s, %s, %s)",
            (CID, now, now, target.id, ALARM_STOREY),
        )
        key = create_key(conn, ["cockpit:read"], [CID])
    return Delft(key, target.id)


def _open(page: Page, cockpit: Cockpit, key: str, extra: str = "") -> None:
    page.set_default_timeout(LOAD_MS)
    load(page, f"{cockpit.server.base_url}/cockpit/{CID}?key={key}{extra}")


def _bare(page: Page, browser: Browser, points: list[tuple[float, float]]) -> PixelStats:
    page.add_style_tag(content=_BARE_VIEW_CSS)
    settle(page)
    box = page.locator("#view").bounding_box()
    assert box is not None
    shot = page.locator("#view").screenshot()
    return pixel_stats(browser, shot, [(x - box["x"], y - box["y"]) for x, y in points])


def test_delft_roofs_are_drawn_and_missed_without_them(
    cockpit: Cockpit, browser: Browser, delft: Delft
) -> None:
    page, log = open_page(browser)
    try:
        _open(page, cockpit, delft.key)
        expect(page.locator("body")).to_have_attribute("data-buildings", "model")
        save_screenshot(page, "cockpit-3dbag-roofs", docs=True)
        red = view_point(page, delft.alarm_building, ALARM_STOREY)
        modelled = _bare(page, browser, [red])
        save_screenshot(page, "cockpit-3dbag-roofs-bare")
        assert log.errors == []
    finally:
        page.context.close()
    page, log = open_page(browser)
    try:
        _open(page, cockpit, delft.key, "&draw=footprints")
        expect(page.locator("body")).to_have_attribute("data-buildings", "footprints")
        save_screenshot(page, "cockpit-3dbag-footprints", docs=True)
        flat = _bare(page, browser, [])
    finally:
        page.context.close()
    # Hundreds of roofs seen from above: a large sand-coloured area, which the
    # footprint-only draw (storey colours to the top) does not have.
    assert modelled.roof_pixels > 20_000, modelled
    assert flat.roof_pixels < modelled.roof_pixels / 20, (modelled, flat)
    assert modelled.bright_fraction > 0.02, modelled
    # The storey in alarm is red on the real building's wall.
    assert [hue(p) for p in modelled.probes] == ["red"], modelled


def test_clicking_a_delft_roof_selects_its_building(
    cockpit: Cockpit, browser: Browser, delft: Delft
) -> None:
    page, log = open_page(browser)
    try:
        _open(page, cockpit, delft.key)
        expect(page.locator("body")).to_have_attribute("data-buildings", "model")
        found = page.evaluate(
            """() => { const v = window.cockpit.view;
                 for (const id of v.buildingGroups.keys()) {
                   const p = v.roofScreenPoint(id);
                   if (p && p.x > 80 && p.y > 80 && p.x < v.size.width - 80
                       && p.y < v.size.height - 80) return [id, p.x, p.y];
                 }
                 return null; }"""
        )
        assert found is not None
        building, x, y = found
        box = page.locator("#view").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + x, box["y"] + y)
        expect(page.locator("#side")).to_have_attribute("data-id", building)
        expect(page.locator("#side-body details.storey")).not_to_have_count(0)
        save_screenshot(page, "cockpit-3dbag-picked", docs=True)
        page.locator("#side-close").click()
        # Closer to the building with the storey in alarm: a red band on its real walls.
        page.evaluate(
            """id => { const v = window.cockpit.view;
                 const box = v.buildingBox(id);
                 const c = box.getCenter(v.camera.position.clone());
                 const r = Math.max(30, box.getSize(v.camera.position.clone()).length());
                 v.controls.target.copy(c);
                 v.camera.position.set(c.x + 0.8 * r, c.y - 1.4 * r, c.z + 0.9 * r);
                 v.controls.update(); v.requestRender(); }""",
            delft.alarm_building,
        )
        settle(page)
        save_screenshot(page, "cockpit-3dbag-alarm", docs=True)
        red = _bare(page, browser, [view_point(page, delft.alarm_building, ALARM_STOREY)])
        assert [hue(p) for p in red.probes] == ["red"], red
        assert red.roof_pixels > 500, red
        assert log.errors == []
    finally:
        page.context.close()
