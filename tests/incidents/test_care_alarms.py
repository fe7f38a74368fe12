"""Elderly care through MQTT, a real ingestor and PostgreSQL: the daily check of a
resident living alone opens an incident for the grid worker and clears at the next
sign of life; a meter's hour far from its 14-day profile raises care_anomaly, and
late readings that bring it back clear it."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from api.community_store import import_community
from commtwin import db
from tests.incidents.helpers import MODEL, ms, now_utc, publish_readings, rows, wait_rows
from tests.ingest.helpers import IngestProcess
from tests.ingest.publisher import publish
from tests.services import Broker, scratch_database
from twin.community.file import community_from_json

# Every hour is daytime and one quiet hour is enough: the test does not depend
# on the time of day it runs at.
INGEST_OPTIONS = (
    "--care-quiet-hours", "1", "--care-day", "0-24", "--care-baseline-every", "1",
    "--alarm-tick", "0.5",
)  # fmt: skip
HOUR = 3600.0


def care_model() -> dict[str, Any]:
    model = copy.deepcopy(MODEL)
    units = model["buildings"][0]["units"]
    units[0]["household"] = {"living_alone": True, "age_band": "80+", "care_level": 2}
    units[1]["household"] = {"age_band": "70-79"}  # lives with family: baseline only
    home = {"building": "b01", "unit": "1-101"}
    model["devices"] += [
        {"id": "motion-101", "kind": "motion", "metrics": ["motion"], **home},
        {"id": "wm-101", "kind": "water_meter", "metrics": ["water_m3", "flow_lpm"], **home},
        {"id": "door-101", "kind": "door", "metrics": ["open"], **home},
        {"id": "hm-301", "kind": "home_meter", "metrics": ["energy_kwh", "power_kw"],
         "building": "b01", "unit": "1-301"},
    ]  # fmt: skip
    return model


@pytest.fixture(scope="module")
def loop_db() -> Iterator[str]:
    """This module's database: the closed-loop model with households and home devices."""
    with scratch_database("commtwin_care") as url:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            import_community(conn, community_from_json(care_model()))
        yield url


ALARMS = """
SELECT rule_id, severity, state, raised_at, cleared_at, building_id, unit_id, grid_id, incident_id
FROM alarms WHERE device_id = %s AND rule_id = %s ORDER BY id
"""


def _counter_readings(hours: range, use: dict[int, float]) -> list[dict[str, Any]]:
    """Half-past readings of a cumulative counter using ``use[h]`` (default 0.1) per hour."""
    level, out = 100.0, []
    for h in hours:
        level += use.get(h, 0.1)
        ts = datetime.fromtimestamp(h * HOUR + 1800, UTC)
        out.append({"ts": ms(ts), "values": {"energy_kwh": round(level, 4)}})
    return out


def test_an_hour_unlike_the_homes_habit_raises_care_anomaly_and_late_data_clears_it(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str
) -> None:
    # Keep the hour just ended fixed during the test (it takes a few seconds; the
    # margin once cost 90 s of sleep in one run in 40).
    if time.time() % HOUR > HOUR - 40:
        time.sleep(HOUR - time.time() % HOUR + 2)
    target = math.floor(time.time() / HOUR) - 1
    # Every day at this hour the home cooks (1 kWh); today only 0.1 kWh.
    habit = {target - 24 * k: 1.0 for k in range(1, 15)}
    readings = _counter_readings(range(target - 24 * 14 - 1, target + 1), habit)
    topic = f"{root}/lanting/devices/hm-301/telemetry"
    publish(broker.url, [(topic, orjson.dumps(readings))])
    alarm = wait_rows(
        loop_db,
        "SELECT state, severity, metric, round(value::numeric, 3)::float8, raised_at FROM alarms"
        " WHERE device_id = 'hm-301' AND rule_id = 'care_anomaly'",
        expect=[("active_unack", "minor", "energy_kwh", 0.1,
                 datetime.fromtimestamp((target + 1) * HOUR, UTC))],
        timeout=30,
    )  # fmt: skip
    assert alarm == [
        (
            "active_unack",
            "minor",
            "energy_kwh",
            0.1,
            datetime.fromtimestamp((target + 1) * HOUR, UTC),
        )
    ], ingestor.log
    [(message, incident)] = rows(
        loop_db,
        "SELECT message, incident_id FROM alarms WHERE device_id = 'hm-301'"
        " AND rule_id = 'care_anomaly'",
    )
    assert message.startswith("electricity use 0.10 kWh at ")
    assert message.endswith("usually 1.00 kWh (robust z -18.0)")
    assert incident is None  # a minor alarm: a hint for the worker, no incident
    # The gateway's late readings: the home did cook, at 50 past.
    late = datetime.fromtimestamp(target * HOUR + 3000, UTC)
    level = float(readings[-1]["values"]["energy_kwh"]) + 0.9
    publish_readings(broker.url, root, "hm-301", (late, {"energy_kwh": round(level, 4)}))
    cleared = wait_rows(
        loop_db,
        "SELECT state FROM alarms WHERE device_id = 'hm-301' AND rule_id = 'care_anomaly'",
        expect=[("cleared",)],
        timeout=30,
    )
    assert cleared == [("cleared",)], ingestor.log


def test_a_quiet_home_of_someone_living_alone_opens_an_incident_then_clears(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str, tmp_path: Path
) -> None:
    """Last in the module: it restarts the ingestor."""
    now = now_utc()
    last_motion = now - timedelta(hours=3)
    publish_readings(broker.url, root, "motion-101", (last_motion, {"motion": True}))
    # The devices are alive, nothing moves, no water runs.
    publish_readings(
        broker.url, root, "motion-101", (now - timedelta(seconds=30), {"motion": False})
    )
    publish_readings(
        broker.url,
        root,
        "wm-101",
        (now - timedelta(seconds=20), {"water_m3": 12.5, "flow_lpm": 0.2}),
    )
    linked = "SELECT count(*) FROM alarms WHERE rule_id = 'care_check' AND incident_id IS NOT NULL"
    assert wait_rows(loop_db, linked, expect=[(1,)], timeout=30) == [(1,)], ingestor.log
    [alarm] = rows(loop_db, ALARMS, "motion-101", "care_check")
    rule, severity, state, raised_at, cleared_at, building, unit, grid, incident = alarm
    assert (rule, severity, state, building, unit, grid) == (
        "care_check", "critical", "active_unack", "b01", "1-101", "g1",
    )  # fmt: skip
    assert cleared_at is None
    # Dated when the quiet hour was over, not when the tick noticed.
    assert abs((raised_at - (last_motion + timedelta(hours=1))).total_seconds()) < 0.01
    incident_row = rows(
        loop_db,
        "SELECT status, category, priority, assignee, building_id, unit_id FROM incidents"
        " WHERE id = %s",
        incident,
    )
    assert incident_row == [("dispatched", "care_check", "critical", "w-zhang", "b01", "1-101")]
    # A restart keeps the alarm (it is no rule's orphan) and knows it is active.
    assert ingestor.terminate() == 0, ingestor.log
    again = IngestProcess(
        loop_db, broker.url, tmp_path, client_id=f"care2-{root}", root=root,
        extra=("--linger-ms", "20", *INGEST_OPTIONS),
    )  # fmt: skip
    try:
        again.wait_connected()
        time.sleep(1.5)  # a few ticks of the restored engine
        assert [a[2] for a in rows(loop_db, ALARMS, "motion-101", "care_check")] == [
            "active_unack"
        ], again.log
        _door_opens_and_clears(loop_db, broker, root, incident)
    finally:
        if again.proc.poll() is None:
            assert again.terminate() == 0, again.log


def _door_opens_and_clears(loop_db: str, broker: Broker, root: str, incident: str) -> None:
    # The door opens: cleared at that moment; the incident waits for the worker.
    opened = now_utc()
    publish_readings(broker.url, root, "door-101", (opened, {"open": True}))
    got = wait_rows(
        loop_db,
        "SELECT state, cleared_at FROM alarms WHERE rule_id = 'care_check'",
        expect=[("cleared", opened)],
    )
    assert got == [("cleared", opened)]
    assert rows(loop_db, "SELECT status FROM incidents WHERE id = %s", incident) == [
        ("dispatched",)
    ]
    # Signs of life keep it quiet: no second alarm within the hour.
    time.sleep(1.5)
    assert len(rows(loop_db, ALARMS, "motion-101", "care_check")) == 1
