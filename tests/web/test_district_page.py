"""The district page over a generated district, through a real ingestor.

Four generated communities (``simulators.district_gen``) imported and made a
district; a private Mosquitto, ``commtwin ingest``, the API and the page in
headless Chromium. A smoke alarm published over MQTT in one community turns
its dot on the map red and puts it first in the ranking without a reload;
its row links to that community's cockpit, which opens with the same
district key; the page speaks Chinese and English.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import paho.mqtt.publish as mqtt_publish
import psycopg
import pytest
from playwright.sync_api import Page, expect

from api.db import run_once
from api.queries.districts import add_members, create_district
from api.queries.keys import create_key
from commtwin import db
from commtwin.cmd_district import generate_and_import
from simulators.district_gen import DistrictSpec
from tests.ingest.helpers import IngestProcess
from tests.services import Broker, scratch_database
from tests.web.conftest import ConsoleLog, save_screenshot
from tests.web.server import ApiServer

pytestmark = pytest.mark.browser

DISTRICT = "webtest-d"
SPEC = DistrictSpec(communities=4, buildings=2, seed=3, prefix="wd")
TARGET = "wd-002"  # the community whose smoke detector goes off
DARK = "wd-004"  # the community where a device goes offline
ALARM_RED = "rgb(229, 48, 58)"  # --alarm in district.css


@dataclass(frozen=True)
class DistrictSite:
    server: ApiServer
    broker: Broker
    database_url: str
    topic_root: str
    key: str
    communities: list[str]

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/district/{DISTRICT}?key={self.key}"

    def overview(self) -> dict[str, Any]:
        r = httpx.get(
            f"{self.server.base_url}/v1/districts/{DISTRICT}/overview",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
        )
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    def publish(self, community: str, device: str, values: dict[str, object]) -> None:
        payload = {"ts": datetime.now(UTC).isoformat(), "values": values}
        mqtt_publish.single(
            f"{self.topic_root}/{community}/devices/{device}/telemetry",
            json.dumps(payload),
            qos=1,
            hostname="127.0.0.1",
            port=self.broker.port,
            protocol=mqtt.MQTTv5,
        )

    def publish_status(self, community: str, device: str, online: bool) -> None:
        mqtt_publish.single(
            f"{self.topic_root}/{community}/devices/{device}/status",
            json.dumps({"online": online, "ts": datetime.now(UTC).isoformat()}),
            qos=1,
            hostname="127.0.0.1",
            port=self.broker.port,
            protocol=mqtt.MQTTv5,
        )

    def smoke_detector(self, community: str) -> str:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(
                "SELECT id FROM devices WHERE community_id = %s AND kind = 'smoke'"
                " ORDER BY id LIMIT 1",
                (community,),
            ).fetchone()
        assert row is not None
        return str(row[0])


@pytest.fixture(scope="module")
def site(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistrictSite]:
    with scratch_database("commtwin_web_district") as url:
        db.upgrade(url, prefer="plain")
        ids = generate_and_import(url, SPEC, quiet=True)
        run_once(url, lambda c: create_district(c, DISTRICT, "西湖街道 Xihu"))
        run_once(url, lambda c: add_members(c, DISTRICT, ids))
        created = run_once(
            url, lambda c: create_key(c, ["district:read"], [], "screen", districts=[DISTRICT])
        )
        tag = secrets.token_hex(3)
        root = f"webtest-{tag}/v1"
        ingestor = IngestProcess(
            url,
            broker.url,
            tmp_path_factory.mktemp("ingest"),
            client_id=f"webtest-district-{tag}",
            root=root,
            extra=("--linger-ms", "20"),
        )
        try:
            ingestor.wait_connected()
            server = ApiServer(url).start()
            try:
                yield DistrictSite(server, broker, url, root, created.key, ids)
            finally:
                server.stop()
        finally:
            if ingestor.proc.poll() is None:
                ingestor.terminate()
            else:
                ingestor.kill()
            IngestProcess.running.remove(ingestor)


def open_district(page: Page, site: DistrictSite) -> None:
    page.goto(site.url)
    page.wait_for_function("window.district && window.district.state.conn === 'live'")
    expect(page.locator("body")).to_have_attribute("data-state", "live")


def fill_of(page: Page, community: str) -> str:
    fill: str = page.evaluate(
        "cid => getComputedStyle(document.querySelector("
        "`#map a[data-community='${cid}'] circle`)).fill",
        community,
    )
    return fill


def test_the_map_and_ranking_follow_a_smoke_alarm_over_mqtt(
    site: DistrictSite, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    open_district(page, site)
    assert site.communities == ["wd-001", "wd-002", "wd-003", "wd-004"]
    expect(page.locator("#district-name")).to_have_text("西湖街道 Xihu")
    expect(page.locator("#map a[data-community]")).to_have_count(4)
    expect(page.locator("#ranking tbody tr")).to_have_count(4)
    expect(page.locator("#t-communities")).to_have_text("4")
    before = site.overview()
    assert all(c["status"] != "alarm" for c in before["communities"])
    assert fill_of(page, TARGET) != ALARM_RED
    # The key is out of the address bar once read.
    assert "key=" not in page.url

    site.publish_status(DARK, site.smoke_detector(DARK), online=False)
    site.publish(TARGET, site.smoke_detector(TARGET), {"smoke": True})
    page.wait_for_function(
        "([a, b]) => window.district.state.overview?.communities.slice(0, 2).map(c => c.id)"
        ".join() === `${a},${b}`",
        arg=[TARGET, DARK],
    )
    first = page.locator("#ranking tbody tr").first
    expect(first).to_have_attribute("data-community", TARGET)
    expect(first.locator(".badge")).to_have_class("badge st-alarm")
    assert fill_of(page, TARGET) == ALARM_RED
    after = site.overview()
    row = after["communities"][0]
    assert (row["id"], row["rank"], row["status"]) == (TARGET, 1, "alarm")
    assert row["alarms_active"]["critical"] == 1
    dark = after["communities"][1]
    assert (dark["id"], dark["rank"], dark["status"], dark["devices_offline"]) == (
        DARK,
        2,
        "offline",
        1,
    )
    expect(page.locator("#ranking tbody tr").nth(1).locator(".badge")).to_have_class(
        "badge st-offline"
    )
    expect(page.locator("#t-critical")).to_have_text(
        str(after["totals"]["alarms_active"]["critical"])
    )
    # The alarm opened an incident: the district counts it too.
    expect(page.locator("#t-incidents-open")).to_have_text(str(after["totals"]["incidents_open"]))
    save_screenshot(page, "district", docs=True)
    assert log.errors == []


def test_english_and_the_drill_down_to_a_cockpit(
    site: DistrictSite, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    open_district(page, site)
    expect(page.locator("#ranking thead th").first).to_have_text("排名")
    page.locator("#lang").click()
    expect(page.locator("#ranking thead th").first).to_have_text("Rank")
    expect(page.locator("#ranking tbody tr .badge").first).to_have_text(
        {"alarm": "Alarm", "warning": "Warning", "offline": "Offline", "normal": "Normal"}[
            site.overview()["communities"][0]["status"]
        ]
    )
    link = page.locator(f"#ranking tbody tr[data-community='{TARGET}'] a")
    expect(link).to_have_attribute("href", f"/cockpit/{TARGET}")
    link.click()
    page.wait_for_url(f"**/cockpit/{TARGET}")
    # The cockpit opens with the district key the page kept: no key dialog.
    page.wait_for_function("window.cockpit && window.cockpit.ready")
    expect(page.locator("body")).to_have_attribute("data-state", "live")
    expect(page.locator("#community-name")).to_have_text("wd 社区 2")
    assert log.errors == []
