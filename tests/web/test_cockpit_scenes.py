"""Each scene tab shows its trends from the API's /scenes/… answers, in zh and en.

The seed (tests/web/seed.py, tests/scene_seed.py) gives a day of meter, PV,
parking, charger and gate readings through the ingest writer's rollups, the
seeded alarms and incidents, and a fall 3 h ago. For every scene the charts'
series must be non-empty, hold a value other than zero, and equal what the
API answers for the same request; titles are in the page's language.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from tests.web.conftest import Cockpit, open_page, save_screenshot
from tests.web.test_cockpit_live import chart_of
from tests.web.test_cockpit_page import load, settle

pytestmark = pytest.mark.browser
HAN = re.compile(r"[\u4e00-\u9fff]")


def api_json(cockpit: Cockpit, suffix: str) -> dict[str, Any]:
    r = httpx.get(
        f"{cockpit.server.base_url}/v1/communities/webtest-a{suffix}",
        headers={"Authorization": f"Bearer {cockpit.key_a}"},
        timeout=30,
    )
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return body


def js_round(v: float | None, digits: int = 2) -> float | None:
    """Math.round(v * 10^d) / 10^d as the page does (halves up)."""
    if v is None:
        return None
    scale = 10**digits
    return float(int(v * scale + 0.5 + (0 if v >= 0 else -1))) / scale


def data(chart: dict[str, Any], index: int) -> list[Any]:
    values: list[Any] = chart["series"][index]["data"]
    return values


def expected(cockpit: Cockpit) -> dict[str, list[tuple[str, int, list[Any]]]]:
    """(chart, series index, values) per scene, from the API."""
    gov = api_json(cockpit, "/scenes/governance?span=30d")
    safety = api_json(cockpit, "/scenes/alarms?scene=safety&span=24h")
    elderly = api_json(cockpit, "/scenes/alarms?scene=elderly&span=24h")
    e24 = api_json(cockpit, "/scenes/energy?span=24h")
    e30 = api_json(cockpit, "/scenes/energy?span=30d")
    tr = api_json(cockpit, "/scenes/traffic?span=24h")
    sev = ("critical", "major", "minor", "warning")
    return {
        "governance": [("left", 0, gov["reported"]), ("left", 1, gov["closed"])],
        "safety": [("left", i, safety["by_severity"][s]) for i, s in enumerate(sev)],
        "elderly": [("left", i, elderly["by_severity"][s]) for i, s in enumerate(sev)],
        "energy": [
            ("left", 0, [js_round(v) for v in e24["series"]["grid_kwh"]]),
            ("left", 1, [js_round(v) for v in e24["series"]["pv_kwh"]]),
            ("right", 0, [js_round(v) for v in e30["series"]["grid_kwh"]]),
            ("right", 1, [js_round(v) for v in e30["series"]["carbon_kg"]]),
        ],
        "traffic": [
            *(
                ("left", i, [None if v is None else js_round(v * 100, 1) for v in lot["occupancy"]])
                for i, lot in enumerate(tr["lots"])
            ),
            ("right", 0, tr["gates"]["entries"]),
            ("right", 1, tr["gates"]["exits"]),
            ("right", 2, tr["chargers"]["sessions"]),
        ],
    }


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_each_scene_tab_shows_its_trends_from_the_api(
    cockpit: Cockpit, browser: Browser, locale: str
) -> None:
    page, log = open_page(browser, locale=locale)
    try:
        load(page, cockpit.url(key=cockpit.key_a))
        page.wait_for_function(
            "() => { const d = window.cockpit.sceneTrends?.docs ?? {};"
            " return ['governance','safety','elderly','energy','traffic'].every(s => d[s]"
            " && Object.keys(d[s]).length > 0) && d.energy.days && window.cockpit.state.trends; }",
            timeout=30_000,
        )
        want = expected(cockpit)
        for scene, checks in want.items():
            page.locator(f"#scene-tabs .tab[data-scene='{scene}']").click()
            settle(page)
            charts = {"left": chart_of(page, "left"), "right": chart_of(page, "right")}
            for side, index, values in checks:
                shown = charts[side]
                assert len(shown["categories"]) == len(values) > 0, (scene, side)
                assert data(shown, index) == values, (scene, side, index)
            sides = {side for side, _, _ in checks}
            assert any(any(v for v in data(charts[s], i) if v) for s, i, _ in checks), scene
            for side in sides:
                title = charts[side]["title"][0]
                assert bool(HAN.search(title)) is (locale == "zh-CN"), (scene, title)
            if scene == "energy":  # the ranking's top under the 30-day chart
                ranked = [b for b in api_json(cockpit, "/scenes/energy?span=30d")["buildings"]
                          if b["rank"] is not None]  # fmt: skip
                first = min(ranked, key=lambda b: b["rank"])
                assert f"1. {first['name']} " in charts["right"]["title"][1]
            if locale == "zh-CN":
                save_screenshot(page, f"scene-{scene}", docs=True)
        # Only aggregates were read: no device history, no per-device requests.
        assert log.errors == []
    finally:
        page.context.close()


def test_scene_trend_polls_are_answered_304(cockpit: Cockpit) -> None:
    url = f"{cockpit.server.base_url}/v1/communities/webtest-a/scenes/energy?span=30d"
    headers = {"Authorization": f"Bearer {cockpit.key_a}"}
    first = httpx.get(url, headers=headers, timeout=30)
    again = httpx.get(url, headers={**headers, "If-None-Match": first.headers["etag"]}, timeout=30)
    assert (first.status_code, again.status_code) == (200, 304)
