"""The demo's cockpit page renders in headless Chromium, opened with the URL the
demo printed (key included), and shows the live community."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.demo.helpers import DemoRun, check_live, demo_env, start, stop_and_check_gone
from tests.services import Broker, scratch_database
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, open_page, save_screenshot
from tests.web.pixels import pixel_stats

pytestmark = pytest.mark.browser


def test_the_printed_cockpit_url_renders_the_live_demo(
    broker: Broker, data_dir: Path, runs: list[DemoRun]
) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/setup.sh does)")
    root = f"commtwin-demo-test/{secrets.token_hex(4)}"
    with scratch_database("commtwin_demo") as url:
        env = demo_env(
            COMMTWIN_DATABASE_URL=url, COMMTWIN_MQTT_URL=broker.url, COMMTWIN_TOPIC_ROOT=root
        )
        run = start(runs, data_dir, env)
        cockpit = check_live(run)
        printed = f"{cockpit.base}/cockpit/{cockpit.community}?key={cockpit.key}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page, log = open_page(browser)
                page.goto(printed)
                page.wait_for_function("window.cockpit && window.cockpit.ready")
                assert page.evaluate("window.cockpit.ready") is True
                expect(page.locator("body")).to_have_attribute("data-state", "live")
                # The key was taken out of the address bar and kept.
                assert "key=" not in page.url
                expect(page.locator("#community-name")).to_contain_text("Lanting")
                page.evaluate(
                    "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
                )
                stats = pixel_stats(browser, page.locator("#view").screenshot())
                # Twenty lit buildings fill a good part of the view; an empty scene is
                # dark (under 0.002, test_cockpit_page). The lit share varies with the
                # live colours of the moment: 0.0396 in one run with 21,566 roof pixels.
                assert stats.bright_fraction > 0.02, stats
                assert stats.distinct_colours > 50, stats
                # The newcomer's first screen shows roofs (flat, gable, hip), not boxes.
                expect(page.locator("body")).to_have_attribute("data-buildings", "model")
                assert stats.roof_pixels > 2000, stats
                save_screenshot(page, "demo-cockpit", docs=True)
                # The page asks only for what a cockpit:read key may read.
                assert log.errors == []
            finally:
                browser.close()
        stop_and_check_gone(run, data_dir)
