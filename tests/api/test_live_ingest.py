"""End to end with a real ingestor: a device status published over MQTT is committed
by ``commtwin ingest`` and shows in /live and on /stream within a few seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from api.app import create_app
from tests.api.conftest import serve
from tests.api.live_fixtures import (
    LiveSite,
    SseReader,
    ingest_site,
    log_change,
    mqtt_publish,
    wait_until,
)
from tests.api.seed import A
from tests.services import Broker


@pytest.fixture(scope="module")
def site(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with ingest_site("commtwin_live_ingest", broker.url, tmp_path_factory.mktemp("logs")) as s:
        yield s


def live(site: LiveSite) -> httpx.Response:
    return httpx.get(f"{site.base}/v1/communities/{A}/live", headers=site.headers("reader_a"))


def test_a_status_published_over_mqtt_reaches_live_and_stream(site: LiveSite) -> None:
    before = live(site)
    online = before.json()["kpis"]["devices_online"]
    url = f"{site.base}/v1/communities/{A}/stream"
    with SseReader(url, site.headers("reader_a")) as stream:
        assert stream.next().event == "version"
        sent = time.monotonic()
        mqtt_publish(
            site,
            f"{A}/devices/env-b2/status",
            {"online": False, "ts": datetime.now(UTC).isoformat()},
        )
        event = stream.until(lambda e: e.event == "device", timeout=10)[-1]
        seen = time.monotonic() - sent
        assert event.data["ref"] == "env-b2"
        assert event.data["device"]["online"] is False
        assert event.data["change"]["was"] is True
        version = stream.until(lambda e: e.event == "version")[-1].data
    assert seen < 5.0
    assert wait_until(lambda: live(site).json()["version"] >= version["version"], timeout=5)
    after = live(site)
    assert after.headers["etag"] == version["etag"]
    assert after.json()["kpis"]["devices_online"] == online - 1
    b2 = next(b for b in after.json()["buildings"] if b["id"] == "b2")
    assert b2["status"] == "offline"
    assert live_with(site, before.headers["etag"]).status_code == 200
    assert live_with(site, after.headers["etag"]).status_code == 304


def live_with(site: LiveSite, etag: str) -> httpx.Response:
    headers = {**site.headers("reader_a"), "If-None-Match": etag}
    return httpx.get(f"{site.base}/v1/communities/{A}/live", headers=headers)


def test_a_smoke_alarm_raised_by_telemetry_shows_with_its_incident(site: LiveSite) -> None:
    site.sql(
        "INSERT INTO devices (community_id, id, kind, metrics, building_id, storey_idx, grid_id,"
        " online, modelled) VALUES (%s, 'smoke-a9', 'smoke', '{smoke}', 'b1', 3, 'g1', true, true)",
        (A,),
    )
    url = f"{site.base}/v1/communities/{A}/stream"
    with SseReader(url, site.headers("reader_a")) as stream:
        assert stream.next().event == "version"
        mqtt_publish(
            site,
            f"{A}/devices/smoke-a9/telemetry",
            {"ts": datetime.now(UTC).isoformat(), "values": {"smoke": True, "temperature": 60}},
        )
        # One ingest batch: the incident opened by the alarm and auto-dispatched, the
        # alarms it raised (smoke, and the temperature of 60 °C), then the version.
        events = stream.until(lambda e: e.event == "version", timeout=10)
        alarms = {e.data["alarm"]["rule"]: e.data["alarm"] for e in events if e.event == "alarm"}
        alarm = alarms["smoke"]
        assert (alarm["device"], alarm["severity"], alarm["state"]) == (
            "smoke-a9",
            "critical",
            "active_unack",
        )
        opened = [e.data["incident"] for e in events if e.event == "incident"]
        assert opened[-1]["id"] == alarm["incident"] == f"alarm-{alarm['id']}"
        # Whole commits: the dispatch committed with the alarm shows in the same version.
        assert (opened[-1]["priority"], opened[-1]["status"]) == ("critical", "dispatched")
        assert len({e.data["commit"] for e in events if e.event != "version"}) == 1
        version = events[-1].data["version"]
    assert wait_until(lambda: live(site).json()["version"] >= version, timeout=5)
    snap = live(site).json()
    listed = next(a for a in snap["alarms"] if a["id"] == alarm["id"])
    assert listed["incident"] == f"alarm-{alarm['id']}"
    assert snap["alarms"][0]["severity"] == "critical"
    assert any(i["id"] == f"alarm-{alarm['id']}" for i in snap["incidents"])
    b1 = next(b for b in snap["buildings"] if b["id"] == "b1")
    assert {s["index"]: s["status"] for s in b1["storeys"]}[3] == "alarm"


def test_live_state_rebuilt_from_the_database_equals_the_incremental_one(
    site: LiveSite,
) -> None:
    """A restarted API process (a fresh app on the same database) serves the same
    document as the one that followed every change incrementally."""
    # The test above inserted smoke-a9 by SQL; a real writer logs the change too.
    log_change(site, A, "device", "smoke-a9")
    now = datetime.now(UTC)
    # A device nobody modelled registers itself on its first message.
    mqtt_publish(
        site,
        f"{A}/devices/env-new-1/telemetry",
        {"ts": now.isoformat(), "values": {"temperature": 20}},
    )
    for device, online in (("env-b2", True), ("env-b1", False)):
        mqtt_publish(
            site, f"{A}/devices/{device}/status", {"online": online, "ts": now.isoformat()}
        )
    mqtt_publish(
        site,
        f"{A}/devices/smoke-a9/telemetry",
        {"ts": now.isoformat(), "values": {"smoke": False, "temperature": 21}},
    )
    report = {"event_id": "r-rebuild-1", "type": "reported", "category": "noise",
              "title": "late-night noise", "location": {"building": "b1", "storey": 2}}  # fmt: skip
    mqtt_publish(site, f"{A}/incidents/i-rebuild/events", report)
    assert wait_until(
        lambda: any(i["id"] == "i-rebuild" for i in live(site).json()["incidents"]), timeout=10
    )
    time.sleep(1.0)  # let the last notifications land
    incremental = live(site)
    with serve(create_app(site.config)) as fresh_base:
        rebuilt = httpx.get(
            f"{fresh_base}/v1/communities/{A}/live", headers=site.headers("reader_a")
        )
    assert rebuilt.status_code == 200
    assert rebuilt.headers["etag"] == incremental.headers["etag"]

    def comparable(doc: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in doc.items() if k != "generated_at"}

    assert comparable(rebuilt.json()) == comparable(incremental.json())
    assert (
        incremental.json()["kpis"]["devices_total"]
        == site.sql("SELECT count(*) FROM devices WHERE community_id = %s", (A,))[0][0]
    )
