"""A community's own 3D Tiles behind the twin: configured through the API,
placed by its georeference, toggled, and failing with a message.

The tilesets are the test's own (tests/web/tileset_server.py), served from a
second HTTP server with CORS like a tile host: a magenta tower in the seeded
community's courtyard, a malformed tileset.json and a missing one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import CID_A, CID_B, Cockpit, open_page, save_screenshot
from tests.web.pixels import PixelStats, hue, pixel_stats
from tests.web.seed import CRS, OFFSET, create_key
from tests.web.test_cockpit_page import _BARE_VIEW_CSS, load, settle, view_point
from tests.web.tileset_server import serve_tilesets
from twin.model.crs import Frame
from twin.model.georef import geodetic_to_ecef

pytestmark = pytest.mark.browser
TOWER_AT = (60.0, 28.0)  # local metres: the courtyard between the seeded rows


@pytest.fixture(scope="module")
def tiles() -> Iterator[str]:
    lon, lat, _ = Frame(CRS, OFFSET).to_wgs84([TOWER_AT[0]], [TOWER_AT[1]], [0.0])
    with serve_tilesets(float(lon[0]), float(lat[0]), OFFSET[2]) as base:
        yield base


@pytest.fixture(scope="module")
def admin_key(cockpit: Cockpit) -> str:
    with psycopg.connect(cockpit.database_url, autocommit=True) as conn:
        return create_key(conn, ["admin"], [CID_A])


def put_backdrop(cockpit: Cockpit, key: str, url: str, cid: str = CID_A) -> httpx.Response:
    return httpx.put(
        f"{cockpit.server.base_url}/v1/communities/{cid}/backdrop",
        json={"url": url},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


@pytest.fixture
def configured(cockpit: Cockpit, admin_key: str) -> Iterator[None]:
    yield
    httpx.delete(
        f"{cockpit.server.base_url}/v1/communities/{CID_A}/backdrop",
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=10,
    )


def view_stats(page: Page, browser: Browser) -> PixelStats:
    page.add_style_tag(content=_BARE_VIEW_CSS + " .backdrop-msg { visibility: hidden; }")
    settle(page)
    box = page.locator("#view").bounding_box()
    assert box is not None
    x, y = view_point(page, "b01", 3)
    return pixel_stats(browser, page.locator("#view").screenshot(), [(x - box["x"], y - box["y"])])


def test_the_api_keeps_the_backdrop_and_places_it(
    cockpit: Cockpit, admin_key: str, tiles: str, configured: None
) -> None:
    base = cockpit.server.base_url + f"/v1/communities/{CID_A}/backdrop"
    reader = {"Authorization": f"Bearer {cockpit.key_a}"}
    assert httpx.get(base, headers=reader, timeout=10).json()["url"] is None
    # Another community's backdrop and paths are not this key's to see.
    for other in ("backdrop", "paths"):
        url = f"{cockpit.server.base_url}/v1/communities/{CID_B}/{other}"
        assert httpx.get(url, headers=reader, timeout=10).status_code == 404
    # Only an admin sets it, only an http(s) URL, only in its own community.
    assert put_backdrop(cockpit, cockpit.key_a, f"{tiles}/good/tileset.json").status_code == 403
    bad = put_backdrop(cockpit, admin_key, "file:///etc/passwd")
    assert bad.status_code == 422, bad.text
    assert "url" in bad.text
    assert put_backdrop(cockpit, admin_key, f"{tiles}/x", cid=CID_B).status_code == 404
    assert put_backdrop(cockpit, admin_key, f"{tiles}/good/tileset.json").status_code == 200
    doc = httpx.get(base, headers=reader, timeout=10).json()
    assert doc["url"] == f"{tiles}/good/tileset.json"
    geo = doc["georeference"]
    assert geo["residual_m"] < 0.1
    # The tower's foot (its tile's origin, in ECEF) lands on its local point.
    lon, lat, _ = Frame(CRS, OFFSET).to_wgs84([TOWER_AT[0]], [TOWER_AT[1]], [0.0])
    ecef = (*geodetic_to_ecef(float(lon[0]), float(lat[0]), OFFSET[2]), 1.0)
    local = [sum(r * e for r, e in zip(row, ecef, strict=True)) for row in geo["ecef_to_local"]]
    assert abs(local[0] - TOWER_AT[0]) < 0.1, local
    assert abs(local[1] - TOWER_AT[1]) < 0.1, local
    assert abs(local[2]) < 0.1, local


def test_backdrop_on_and_off(
    cockpit: Cockpit, browser: Browser, admin_key: str, tiles: str, configured: None
) -> None:
    assert put_backdrop(cockpit, admin_key, f"{tiles}/good/tileset.json").status_code == 200
    page, log = open_page(browser, locale="en-US")
    try:
        load(page, cockpit.url(key=cockpit.key_a))
        toggle = page.locator("#backdrop-toggle")
        expect(toggle).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-backdrop", "off")
        save_screenshot(page, "cockpit-backdrop-off", docs=True)
        off = view_stats(page, browser)
        toggle.click()
        expect(page.locator("body")).to_have_attribute("data-backdrop", "shown", timeout=20_000)
        expect(toggle).to_have_attribute("aria-pressed", "true")
        settle(page)
        save_screenshot(page, "cockpit-backdrop-on", docs=True)
        on = view_stats(page, browser)
        toggle.click()
        expect(page.locator("body")).to_have_attribute("data-backdrop", "off")
        again = view_stats(page, browser)
        assert log.errors == []
    finally:
        page.context.close()
    assert off.magenta_pixels < 20, off
    assert on.magenta_pixels > 500, on  # the tower stands in the courtyard
    assert again.magenta_pixels < 20, again
    # The twin is drawn throughout, its alarm storey still red.
    for stats in (off, on, again):
        assert stats.bright_fraction > 0.04, stats
        assert [hue(p) for p in stats.probes] == ["red"], stats


BROKEN = {
    "malformed": ("bad/tileset.json", "is not a valid 3D Tiles tileset (root missing)"),
    "missing": ("missing/tileset.json", "was not found (404)"),
}


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize("shot", sorted(BROKEN))
def test_a_broken_backdrop_says_so_and_the_twin_stays(
    cockpit: Cockpit, browser: Browser, admin_key: str, tiles: str, shot: str
) -> None:
    path, message = BROKEN[shot]
    assert put_backdrop(cockpit, admin_key, f"{tiles}/{path}").status_code == 200
    page, log = open_page(browser, locale="en-US")
    try:
        load(page, cockpit.url(key=cockpit.key_a))
        page.locator("#backdrop-toggle").click()
        expect(page.locator("body")).to_have_attribute("data-backdrop", "failed")
        expect(page.locator("#backdrop-msg")).to_be_visible()
        expect(page.locator("#backdrop-msg")).to_contain_text(message)
        expect(page.locator("#backdrop-msg")).to_contain_text("The twin is drawn as usual")
        expect(page.locator("body")).to_have_attribute("data-state", "live")
        save_screenshot(page, f"cockpit-backdrop-{shot}", docs=True)
        stats = view_stats(page, browser)
        assert stats.bright_fraction > 0.04, stats
        assert [hue(p) for p in stats.probes] == ["red"], stats
        # Only the refused request itself is logged (for the missing one).
        assert all("404" in e for e in log.errors), log.errors
        assert (shot == "missing") == bool(log.errors), log.errors
    finally:
        page.context.close()


def test_the_command_line_sets_shows_and_clears_it(cockpit: Cockpit, configured: None) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COMMTWIN_DATABASE_URL": cockpit.database_url}
        return subprocess.run(
            [sys.executable, "-m", "commtwin", "community", "backdrop", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    url = "https://tiles.example.org/a/tileset.json"
    done = cli(CID_A, url, "--height-offset", "43.2")
    assert done.returncode == 0, done.stderr
    doc = httpx.get(
        f"{cockpit.server.base_url}/v1/communities/{CID_A}/backdrop",
        headers={"Authorization": f"Bearer {cockpit.key_a}"},
        timeout=10,
    ).json()
    assert (doc["url"], doc["height_offset"]) == (url, 43.2)
    # The offset lifts the ellipsoidal height of the origin by as much.
    assert abs(doc["georeference"]["origin"][2] - (OFFSET[2] + 43.2)) < 1e-6
    assert url in cli(CID_A).stdout
    refused = cli(CID_A, "ftp://x/tileset.json")
    assert refused.returncode == 2
    assert "not an http(s) URL" in refused.stderr
    assert cli("no-such", url).returncode == 2
    assert cli(CID_A, "--clear").returncode == 0
    assert "no backdrop" in cli(CID_A).stdout
