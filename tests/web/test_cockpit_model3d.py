"""Buildings drawn as modelled: roofs and walls from the community's glTF.

The seeded community's buildings get gable roofs in a glb written by the
test (tests/web/glb.py, the layout of the API's ``buildings.glb``), answered
for ``…/buildings.glb`` by the browser's request routing; the page code that
loads, draws, colours and picks it is the real one. Checked on pixels: roofs
in their own tone (none in the footprint-only draw), storeys still coloured by
status on the modelled walls, a click on a roof opens its building.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.web.conftest import CID_A, Cockpit, ConsoleLog, open_page, save_screenshot
from tests.web.glb import Node, gable_house, write_glb
from tests.web.pixels import hue, pixel_stats
from tests.web.seed import BUILDINGS, STOREY_M
from tests.web.test_cockpit_page import _BARE_VIEW_CSS, load, settle, view_point

pytestmark = pytest.mark.browser
GLB_PATH = f"/v1/communities/{CID_A}/buildings.glb"
RISE_M = 6.0


def seeded_glb() -> bytes:
    """The seed's six 30 × 12 m buildings, up to their top storey, with gable roofs."""
    return write_glb(
        [
            Node(b.id, gable_house(b.x, b.y, 30, 12, eave=b.storeys * STOREY_M, rise=RISE_M))
            for b in BUILDINGS
        ]
    )


def serve_glb(page: Page, body: bytes | None, *, status: int = 200) -> None:
    """Answer the page's glb request with ``body``, and list the endpoint in
    /openapi.json (the page only asks for endpoints the API lists)."""

    def openapi(route: Route) -> None:
        spec = route.fetch().json()
        spec["paths"].setdefault("/v1/communities/{cid}/buildings.glb", {"get": {}})
        route.fulfill(json=spec)

    def glb(route: Route) -> None:
        if body is None:
            route.fulfill(status=status, body=json.dumps({"detail": "no model"}),
                          content_type="application/json")  # fmt: skip
        else:
            route.fulfill(status=status, body=body, content_type="model/gltf-binary")

    page.route("**/openapi.json", openapi)
    page.route(f"**{GLB_PATH}*", glb)


def bare_view(page: Page, browser: Browser, points: list[tuple[float, float]]) -> object:
    page.add_style_tag(content=_BARE_VIEW_CSS)
    settle(page)
    box = page.locator("#view").bounding_box()
    assert box is not None
    shot = page.locator("#view").screenshot()
    return pixel_stats(browser, shot, [(x - box["x"], y - box["y"]) for x, y in points])


def roof_point(page: Page, building: str) -> tuple[float, float]:
    point = page.evaluate("b => window.cockpit.view.roofScreenPoint(b)", building)
    box = page.locator("#view").bounding_box()
    assert point is not None, f"no visible roof of {building}"
    assert box is not None
    return box["x"] + point["x"], box["y"] + point["y"]


def with_page(browser: Browser, run: Callable[[Page, ConsoleLog], None]) -> None:
    page, log = open_page(browser)
    try:
        run(page, log)
    finally:
        page.context.close()


def test_roofs_drawn_and_lost_in_the_footprint_draw(cockpit: Cockpit, browser: Browser) -> None:
    glb = seeded_glb()
    seen: dict[str, object] = {}

    def modelled(page: Page, log: ConsoleLog) -> None:
        serve_glb(page, glb)
        load(page, cockpit.url(key=cockpit.key_a))
        expect(page.locator("body")).to_have_attribute("data-buildings", "model")
        save_screenshot(page, "cockpit-modelled-gable", docs=True)
        probes = [
            view_point(page, "b01", 3),
            view_point(page, "b02", 5),
            view_point(page, "b06", 10),
        ]
        seen["model"] = bare_view(page, browser, probes)
        assert log.errors == []

    def footprints(page: Page, log: ConsoleLog) -> None:
        serve_glb(page, glb)
        load(page, cockpit.url(key=cockpit.key_a) + "&draw=footprints")
        expect(page.locator("body")).to_have_attribute("data-buildings", "footprints")
        seen["footprints"] = bare_view(page, browser, [])
        assert log.errors == []

    with_page(browser, modelled)
    with_page(browser, footprints)
    model, flat = seen["model"], seen["footprints"]
    assert flat.roof_pixels < 200, flat  # type: ignore[attr-defined]
    # Six gable roofs seen from above: thousands of sand pixels.
    assert model.roof_pixels > 20 * max(flat.roof_pixels, 100), (model, flat)  # type: ignore[attr-defined]
    # Storeys keep their status colours on the modelled walls.
    colours = [hue(p) for p in model.probes]  # type: ignore[attr-defined]
    assert colours == ["red", "amber", "blue"], colours


def test_clicking_a_roof_selects_its_building(cockpit: Cockpit, browser: Browser) -> None:
    def run(page: Page, log: ConsoleLog) -> None:
        serve_glb(page, seeded_glb())
        load(page, cockpit.url(key=cockpit.key_a))
        expect(page.locator("body")).to_have_attribute("data-buildings", "model")
        page.mouse.click(*roof_point(page, "b05"))
        expect(page.locator("#side")).to_have_attribute("data-id", "b05")
        expect(page.locator("#side-title")).to_have_text("5幢")
        # A roof is at the top: the top storey is the one unfolded.
        top = next(b.storeys for b in BUILDINGS if b.id == "b05")
        expect(page.locator(f"#side-body details.storey[data-storey='{top}']")).to_have_attribute(
            "open", ""
        )
        assert log.errors == []

    with_page(browser, run)


def test_a_missing_or_broken_glb_keeps_the_footprints(cockpit: Cockpit, browser: Browser) -> None:
    for body, status, outcome in (
        (None, 404, "footprints"),
        (b"glTF-not-really", 200, "footprints-after-error"),
    ):

        def run(page: Page, log: ConsoleLog, body: bytes | None = body, status: int = status,
                outcome: str = outcome) -> None:  # fmt: skip
            serve_glb(page, body, status=status)
            load(page, cockpit.url(key=cockpit.key_a))
            expect(page.locator("body")).to_have_attribute("data-buildings", outcome)
            stats = bare_view(page, browser, [view_point(page, "b01", 3)])
            assert stats.bright_fraction > 0.04, stats  # type: ignore[attr-defined]
            assert [hue(p) for p in stats.probes] == ["red"]  # type: ignore[attr-defined]
            if status == 404:  # the browser logs the refused request, nothing else
                assert all("404" in e for e in log.errors), log.errors
            else:
                assert log.errors == [], log.errors

        with_page(browser, run)


def test_walk_paths_lie_on_the_ground(cockpit: Cockpit, browser: Browser) -> None:
    paths = {
        "p-east-west": {"type": "LineString", "coordinates": [[-5, 28], [125, 28]]},
        "p-north-south": {"type": "LineString", "coordinates": [[37.5, -8], [37.5, 65]]},
    }
    with psycopg.connect(cockpit.database_url, autocommit=True) as conn:
        for pid, geometry in paths.items():
            conn.execute(
                "INSERT INTO walk_paths (community_id, id, kind, geometry)"
                " VALUES (%s, %s, 'footway', %s)",
                (CID_A, pid, json.dumps(geometry)),
            )
    try:

        def run(page: Page, log: ConsoleLog) -> None:
            load(page, cockpit.url(key=cockpit.key_a))
            drawn = page.evaluate(
                "window.cockpit.view.world.children.find(c => c.userData.paths !== undefined)"
                "?.userData.paths ?? 0"
            )
            assert drawn == len(paths)
            # The courtyard path's middle, seen on screen, has the path colour (#3a4a5e).
            x, y = page.evaluate(
                "() => { const v = window.cockpit.view, o = v.origin;"
                " const at = new v.camera.position.constructor(60 - o[0], 28 - o[1], 0.1);"
                " const p = v.toScreen(at);"
                " return [p.x, p.y]; }"
            )
            stats = bare_view(page, browser, [])
            box = page.locator("#view").bounding_box()
            assert box is not None
            shot = page.locator("#view").screenshot()
            (colour,) = pixel_stats(browser, shot, [(x, y)]).probes
            assert 45 < colour[2] < 120, colour
            assert colour[2] > colour[0], colour
            assert stats.bright_fraction > 0.03  # type: ignore[attr-defined]
            assert log.errors == []

        with_page(browser, run)
    finally:
        with psycopg.connect(cockpit.database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM walk_paths WHERE community_id = %s", (CID_A,))
