"""The cockpit following the API without reloading: new buildings, /live panels, scenes."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import CID_A, Cockpit, ConsoleLog, save_screenshot
from tests.web.pixels import hue, pixel_stats
from tests.web.seed import add_building, create_key, seed_community
from tests.web.test_cockpit_page import _BARE_VIEW_CSS, load, settle, view_point

pytestmark = pytest.mark.browser
CID_C = "webtest-c"


def live_snapshot(cockpit: Cockpit) -> dict[str, Any]:
    response = httpx.get(
        f"{cockpit.server.base_url}/v1/communities/{CID_A}/live",
        headers={"Authorization": f"Bearer {cockpit.key_a}"},
        timeout=10,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def percent(fraction: float | None) -> str:
    """The page's rendering of a rate (``fmtPercent`` in dom.js).

    >>> percent(1 / 3), percent(None)
    ('33.3%', '–')
    """
    return "–" if fraction is None else f"{fraction * 100:.1f}%"


_CHART_JS = """(which) => {
  const o = window.cockpit.charts[which].getOption();
  return {title: o.title.map(t => t.text), categories: (o.xAxis?.[0]?.data) ?? [],
          series: o.series.map(s => ({name: s.name, data: s.data}))};
}"""


def chart_of(page: Page, which: str = "right") -> dict[str, Any]:
    """Title, categories and series of a bottom chart ("left" or "right"), from ECharts."""
    option: dict[str, Any] = page.evaluate(_CHART_JS, which)
    return option


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
    assert log.errors == []


def test_kpis_and_lists_match_live(cockpit: Cockpit, page_and_log: tuple[Page, ConsoleLog]) -> None:
    page, log = page_and_log
    answers: list[tuple[int, str]] = []
    page.on("response", lambda r: answers.append((r.status, r.url)))
    load(page, cockpit.url(key=cockpit.key_a))
    snap = live_snapshot(cockpit)
    expect(page.locator("body")).to_have_attribute("data-version", str(snap["version"]))
    kpis = snap["kpis"]
    expect(page.locator("#kpi-devices-online")).to_have_text(str(kpis["devices_online"]))
    expect(page.locator("#kpi-devices-total")).to_have_text(str(kpis["devices_total"]))
    expect(page.locator("#kpi-incidents-open")).to_have_text(str(kpis["incidents_open"]))
    expect(page.locator("#kpi-incidents-overdue")).to_have_text(str(kpis["incidents_overdue"]))
    for severity, n in kpis["alarms_active"].items():
        expect(page.locator(f"#kpi-alarms-{severity}")).to_have_text(str(n))
    expect(page.locator("#kpi-alarms-total")).to_have_text(str(sum(kpis["alarms_active"].values())))
    # The seed's closed incident makes the rates 1/3, not a trivial 0 or 1.
    assert kpis["closed_loop_rate_30d"] == pytest.approx(1 / 3)
    expect(page.locator("#kpi-closed-today")).to_have_text(percent(kpis["closed_loop_rate_today"]))
    expect(page.locator("#kpi-closed-30d")).to_have_text(percent(kpis["closed_loop_rate_30d"]))
    # Satisfaction beside it: the seed's one closure rated 5, as /kpis/satisfaction says.
    rated = httpx.get(
        f"{cockpit.server.base_url}/v1/communities/{CID_A}/kpis/satisfaction",
        headers={"Authorization": f"Bearer {cockpit.key_a}"},
        timeout=10,
    ).json()
    assert (rated["last_30_days"]["mean"], rated["last_30_days"]["count"]) == (5.0, 1)
    expect(page.locator("#kpi-sat-30d")).to_have_text("5.0 (1)")
    today = rated["today"]
    expect(page.locator("#kpi-sat-today")).to_have_text(
        f"{today['mean']:.1f} ({today['count']})" if today["count"] else "–"
    )
    dials = page.evaluate(
        "window.cockpit.charts.gauge.getOption().series.map(s => s.data[0].value)"
    )
    rates = (kpis["closed_loop_rate_today"], kpis["closed_loop_rate_30d"])
    assert dials == pytest.approx([100 * (r or 0) for r in rates])
    alarms = snap["alarms"]
    incidents = snap["incidents"]
    expect(page.locator("#alarm-list li.alarm")).to_have_count(len(alarms))
    expect(page.locator("#incident-list li.incident")).to_have_count(len(incidents))
    # The overdue incident counts down past zero, in red.
    overdue = [i["id"] for i in incidents if i["overdue"]]
    assert overdue
    for iid in overdue:
        expect(page.locator(f"#incident-list .sla.overdue[data-incident='{iid}']")).to_be_visible()
    # Overview: closed loop per grid over 30 days, from /kpis (g2 holds the closed one).
    page.wait_for_function("window.cockpit.state.trends !== null")
    shown = chart_of(page)
    assert shown["categories"] == ["第一网格", "第二网格"]
    assert [s["data"] for s in shown["series"]] == [[0, 1], [2, 0]]
    save_screenshot(page, "cockpit-live")
    # Only what a cockpit:read key may read was asked for: no refusals at all.
    assert [a for a in answers if a[0] >= 400] == []
    assert not any("/history" in url for _, url in answers)
    assert log.errors == []


def test_scene_tabs_recolour_by_that_scenes_state(
    cockpit: Cockpit, browser: Browser, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    load(page, cockpit.url(key=cockpit.key_a))
    page.wait_for_function("window.cockpit.state.trends !== null")
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
    # Low-carbon: energy per day over 30 days from /scenes/energy (values
    # against the API: test_cockpit_scenes.py).
    assert chart_of(page)["title"][0] == "用电 kWh 与碳排放 kgCO₂e/天（30天）"
    page.locator("#scene-tabs .tab[data-scene='safety']").click()
    assert colour_of("b01", 3) == "red"
    # Safety: active alarms per building and severity, from /live.
    shown = chart_of(page)
    assert shown["categories"] == ["1幢", "2幢"]
    assert {s["name"]: s["data"] for s in shown["series"]} == {"紧急": [1, 0], "次要": [0, 1]}
    page.locator("#scene-tabs .tab[data-scene='traffic']").click()
    assert chart_of(page)["title"][0] == "道闸进出与充电次数/小时（24小时）"
    assert log.errors == []


def test_clicking_an_incident_shows_its_timeline(
    cockpit: Cockpit, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    load(page, cockpit.url(key=cockpit.key_a))
    page.locator("#incident-list li.incident[data-incident='r-1']").click()
    side = page.locator("#side")
    expect(side).to_have_attribute("data-type", "incident")
    expect(page.locator("#side-title")).to_have_text("楼道噪音")
    # The timeline comes from GET …/incidents/{iid}, not from the /live record:
    # every stored event, the one the closed loop skipped struck through with why.
    timeline = page.locator("#side-body .timeline li")
    expect(timeline).to_have_count(3)
    assert timeline.evaluate_all("items => items.map(i => i.dataset.type)") == [
        "reported",
        "dispatched",
        "closed",
    ]
    skipped = page.locator("#side-body .timeline li.skipped")
    expect(skipped).to_have_count(1)
    expect(skipped).to_have_attribute("data-type", "closed")
    expect(skipped).to_contain_text("cannot apply 'closed' to an incident in status 'dispatched'")
    expect(page.locator("#side-body .summary")).to_contain_text("w-zhang")
    expect(page.locator("#side-body .summary")).to_contain_text("noise · 普通")
    assert log.errors == []
