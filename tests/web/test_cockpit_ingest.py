"""A smoke alarm published over MQTT turns its storey red on the open page.

The whole path runs for real: a private Mosquitto, ``commtwin ingest`` (its
rules raise a critical alarm, which opens and dispatches an incident), the
API following the change log (LISTEN/NOTIFY), and the page in headless
Chromium following ``/stream`` and ``/live`` without reloading.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import paho.mqtt.publish as mqtt_publish
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from commtwin import db
from tests.ingest.helpers import IngestProcess
from tests.services import Broker, scratch_database
from tests.web.conftest import NAME_A, ConsoleLog, save_screenshot
from tests.web.pixels import hue, pixel_stats
from tests.web.seed import create_key, seed_community
from tests.web.server import ApiServer
from tests.web.test_cockpit_live import chart_of
from tests.web.test_cockpit_page import _BARE_VIEW_CSS, load, settle, view_point

pytestmark = pytest.mark.browser

CID = "webtest-live"
# Building b06, storey 5: a smoke detector where nothing is wrong before the test.
DEVICE, BUILDING, STOREY = "smoke-b06-05", "b06", 5


@dataclass(frozen=True)
class IngestSite:
    """A seeded database of its own with an ingestor and the API on it."""

    server: ApiServer
    broker: Broker
    topic_root: str
    key: str

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/cockpit/{CID}?key={self.key}"

    def live(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.server.base_url}/v1/communities/{CID}/live",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=10,
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def publish_telemetry(self, device: str, values: dict[str, object]) -> None:
        """QoS 1 to the ingestor's topic root, as the device would."""
        payload = {"ts": datetime.now(UTC).isoformat(), "values": values}
        mqtt_publish.single(
            f"{self.topic_root}/{CID}/devices/{device}/telemetry",
            json.dumps(payload),
            qos=1,
            hostname="127.0.0.1",
            port=self.broker.port,
            protocol=mqtt.MQTTv5,
        )


@pytest.fixture(scope="module")
def site(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestSite]:
    # Its own database: an ingestor's rule engine acts on every community it
    # holds, and the other browser tests rely on their seeded alarms as they are.
    with scratch_database("commtwin_web_ingest") as url:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            seed_community(conn, CID, NAME_A)
            key = create_key(conn, ["cockpit:read"], [CID])
        tag = secrets.token_hex(3)
        root = f"webtest-{tag}/v1"
        ingestor = IngestProcess(
            url,
            broker.url,
            tmp_path_factory.mktemp("ingest"),
            client_id=f"webtest-{tag}",
            root=root,
            extra=("--linger-ms", "20"),
        )
        try:
            ingestor.wait_connected()
            server = ApiServer(url).start()
            try:
                yield IngestSite(server, broker, root, key)
            finally:
                server.stop()
        finally:
            if ingestor.proc.poll() is None:
                ingestor.terminate()
            else:
                ingestor.kill()
            IngestProcess.running.remove(ingestor)


def storey_status(snapshot: dict[str, Any], building: str, storey: int) -> str:
    b = next(b for b in snapshot["buildings"] if b["id"] == building)
    status: str = next(s for s in b["storeys"] if s["index"] == storey)["status"]
    return status


def colour_at(page: Page, browser: Browser, building: str, storey: int) -> str:
    box = page.locator("#view").bounding_box()
    assert box is not None
    x, y = view_point(page, building, storey)
    shot = page.locator("#view").screenshot()
    return hue(pixel_stats(browser, shot, [(x - box["x"], y - box["y"])]).probes[0])


_STOREY_IS_ALARM = """([b, s]) => {
  const storey = window.cockpit.state.liveById.get(b)?.storeys?.find(x => x.index === s);
  return storey?.status === "alarm";
}"""


def test_a_smoke_alarm_over_mqtt_turns_its_storey_red_within_3_s(
    site: IngestSite, browser: Browser, page_and_log: tuple[Page, ConsoleLog]
) -> None:
    page, log = page_and_log
    load(page, site.url)
    page.wait_for_function("window.cockpit.state.trends !== null")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    alarms_24h = sum(chart_of(page, "left")["series"][0]["data"])
    before = site.live()
    assert storey_status(before, BUILDING, STOREY) == "normal"
    bare = page.add_style_tag(content=_BARE_VIEW_CSS)
    settle(page)
    assert colour_at(page, browser, BUILDING, STOREY) == "blue"

    sent = time.monotonic()
    site.publish_telemetry(DEVICE, {"smoke": True})
    page.wait_for_function(_STOREY_IS_ALARM, arg=[BUILDING, STOREY], timeout=3_000)
    settle(page)  # two frames drawn since the snapshot arrived
    shown_after = time.monotonic() - sent
    assert colour_at(page, browser, BUILDING, STOREY) == "red"
    assert shown_after < 3.0
    assert page.evaluate("window.__sameDocument") is True

    # KPIs, the alarm list and the incident the alarm opened follow, as in /live.
    after = site.live()
    alarm = next(a for a in after["alarms"] if a["device"] == DEVICE and a["rule"] == "smoke")
    assert (alarm["severity"], alarm["building"], alarm["storey"]) == ("critical", BUILDING, STOREY)
    critical = after["kpis"]["alarms_active"]["critical"]
    assert critical == before["kpis"]["alarms_active"]["critical"] + 1
    expect(page.locator("#kpi-alarms-critical")).to_have_text(str(critical))
    expect(page.locator(f"#alarm-list li.alarm[data-alarm='{alarm['id']}']")).to_be_visible()
    incident = alarm["incident"]
    assert incident is not None
    expect(page.locator(f"#incident-list li.incident[data-incident='{incident}']")).to_be_visible()
    expect(page.locator("#kpi-incidents-open")).to_have_text(str(after["kpis"]["incidents_open"]))
    expect(page.locator("body")).to_have_attribute("data-version", str(after["version"]))

    # The counts behind the charts are read again soon after the lists change.
    page.wait_for_function(
        "n => window.cockpit.charts.left.getOption().series[0].data.reduce((a, b) => a + b) === n",
        arg=alarms_24h + 1,
        timeout=15_000,
    )
    by_grid = chart_of(page)
    assert by_grid["categories"] == ["第一网格", "第二网格"]
    assert [s["data"] for s in by_grid["series"]] == [[0, 1], [2, 1]]  # closed, open

    # The picture of the docs: live data, the new alarm on the ticker and in the lists.
    bare.evaluate("node => node.remove()")
    settle(page)
    save_screenshot(page, "cockpit", docs=True)
    assert log.errors == []
