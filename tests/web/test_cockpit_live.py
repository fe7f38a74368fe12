"""The cockpit following the API without reloading: new buildings, /live panels, scenes.

Checks that need ``GET /v1/communities/{cid}/live`` (KPIs, incident list,
scene re-colouring) skip, naming it, while the API does not serve it yet.
"""

from __future__ import annotations

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import CID_A, Cockpit, ConsoleLog, save_screenshot
from tests.web.pixels import hue, pixel_stats
from tests.web.seed import add_building, create_key, seed_community
from tests.web.test_cockpit_page import (
    _BARE_VIEW_CSS,
    has_endpoint,
    load,
    refusals_of_history,
    settle,
    view_point,
)

pytestmark = pytest.mark.browser
CID_C = "webtest-c"


def live_snapshot(cockpit: Cockpit) -> dict[str, object]:
    response = httpx.get(
        f"{cockpit.server.base_url}/v1/communities/{CID_A}/live",
        headers={"Authorization": f"Bearer {cockpit.key_a}"},
        timeout=10,
    )
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


def need_live(cockpit: Cockpit) -> None:
    if not has_endpoint(cockpit, "/live"):
        pytest.skip("GET /v1/communities/{cid}/live is not served by the API yet")


def test_a_building_added_to_the_model_appears_without_a_reload(
    cockpit: Cockpit, browser: Browser, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    with psycopg.connect(cockpit.database_url, autocommit=True) as conn:
        seed_community(conn, CID_C, "C")
        key = create_key(conn, ["cockpit:read"], [CID_C])
    load(page, cockpit.url(CID_C, key=key))
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    with psycopg.connect(cockpit.database_url, autocommit=True) as conn:
        add_building(conn, CID_C, "b07", 140, 20)
    page.wait_for_function(
        "window.cockpit.state.model.buildings.some(b => b.id === 'b07')", timeout=20_000
    )
    assert page.evaluate("window.__sameDocument") is True
    page.add_style_tag(content=_BARE_VIEW_CSS)
    settle(page)
    box = page.locator("#view").bounding_box()
    assert box is not None
    x, y = view_point(page, "b07", 2)
    stats = pixel_stats(browser, page.locator("#view").screenshot(), [(x - box["x"], y - box["y"])])
    assert hue(stats.probes[0]) == "blue"
    assert refusals_of_history(log.errors) == []


def test_kpis_and_lists_match_live(cockpit: Cockpit, page_and_log: tuple[Page, ConsoleLog]) -> None:
    need_live(cockpit)
    page, log = page_and_log
    load(page, cockpit.url(key=cockpit.key_a))
    snap = live_snapshot(cockpit)
    expect(page.locator("body")).to_have_attribute("data-version", str(snap["version"]))
    kpis = snap["kpis"]
    assert isinstance(kpis, dict)
    expect(page.locator("#kpi-devices-online")).to_have_text(str(kpis["devices_online"]))
    expect(page.locator("#kpi-devices-total")).to_have_text(str(kpis["devices_total"]))
    expect(page.locator("#kpi-incidents-open")).to_have_text(str(kpis["incidents_open"]))
    expect(page.locator("#kpi-incidents-overdue")).to_have_text(str(kpis["incidents_overdue"]))
    for severity, n in kpis["alarms_active"].items():
        expect(page.locator(f"#kpi-alarms-{severity}")).to_have_text(str(n))
    alarms = snap["alarms"]
    incidents = snap["incidents"]
    assert isinstance(alarms, list)
    assert isinstance(incidents, list)
    expect(page.locator("#alarm-list li.alarm")).to_have_count(len(alarms))
    expect(page.locator("#incident-list li.incident")).to_have_count(len(incidents))
    # The overdue incident counts down past zero, in red.
    overdue = [i["id"] for i in incidents if i["overdue"]]
    for iid in overdue:
        expect(page.locator(f"#incident-list .sla.overdue[data-incident='{iid}']")).to_be_visible()
    save_screenshot(page, "cockpit-live")
    assert refusals_of_history(log.errors) == []


def test_scene_tabs_recolour_by_that_scenes_state(
    cockpit: Cockpit, browser: Browser, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    need_live(cockpit)
    page, log = page_and_log
    load(page, cockpit.url(key=cockpit.key_a))
    page.add_style_tag(content=_BARE_VIEW_CSS)
    box = page.locator("#view").bounding_box()
    assert box is not None

    def colour_of(building: str, storey: int) -> str:
        settle(page)
        x, y = view_point(page, building, storey)
        shot = page.locator("#view").screenshot()
        return hue(pixel_stats(browser, shot, [(x - box["x"], y - box["y"])]).probes[0])

    assert colour_of("b01", 3) == "red"  # overview: critical smoke alarm
    page.locator("#scene-tabs .tab[data-scene='energy']").click()
    assert colour_of("b01", 3) == "blue"  # no energy trouble there
    page.locator("#scene-tabs .tab[data-scene='safety']").click()
    assert colour_of("b01", 3) == "red"
    assert refusals_of_history(log.errors) == []


def test_clicking_an_incident_shows_its_timeline(
    cockpit: Cockpit, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    need_live(cockpit)
    page, log = page_and_log
    load(page, cockpit.url(key=cockpit.key_a))
    page.locator("#incident-list li.incident[data-incident='r-1']").click()
    side = page.locator("#side")
    expect(side).to_have_attribute("data-type", "incident")
    expect(page.locator("#side-title")).to_have_text("楼道噪音")
    if has_endpoint(cockpit, "/incidents/{iid}"):
        expect(page.locator("#side-body .timeline li[data-type='reported']")).to_have_count(1)
    assert refusals_of_history(log.errors) == []
