"""Critical alarms open incidents: through MQTT telemetry, a real ingestor and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from tests.incidents.helpers import now_utc, publish_readings, rows, wait_rows
from tests.ingest.helpers import IngestProcess
from tests.services import Broker

ALARM = """
SELECT rule_id, severity, state, building_id, storey_idx, unit_id, grid_id, incident_id
FROM alarms WHERE device_id = %s ORDER BY id
"""
INCIDENT = """
SELECT status, category, priority, assignee, alarm_id, building_id, storey_idx, grid_id,
       respond_due_at - reported_at, resolve_due_at - reported_at
FROM incidents WHERE id = %s
"""


def test_smoke_alarm_opens_an_incident_that_outlives_the_alarm(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str
) -> None:
    t0 = now_utc() - timedelta(minutes=2)
    publish_readings(
        broker.url,
        root,
        "smoke-b01-0101",
        (t0, {"smoke": False, "temperature": 22.0}),
        (t0 + timedelta(seconds=30), {"smoke": True, "temperature": 24.0}),
    )
    linked = "SELECT count(*) FROM alarms WHERE device_id = %s AND incident_id IS NOT NULL"
    assert wait_rows(loop_db, linked, "smoke-b01-0101", expect=[(1,)]) == [(1,)]
    alarm = rows(loop_db, "SELECT id FROM alarms WHERE device_id = 'smoke-b01-0101'")
    alarm_id = alarm[0][0]
    incident = f"alarm-{alarm_id}"
    assert rows(loop_db, ALARM, "smoke-b01-0101") == [
        ("smoke", "critical", "active_unack", "b01", 1, "1-101", "g1", incident)
    ]
    # A critical incident (5 min / 2 h), dispatched at once to the grid's worker.
    assert rows(loop_db, INCIDENT, incident) == [
        ("dispatched", "fire", "critical", "w-zhang", alarm_id, "b01", 1, "g1",
         timedelta(minutes=5), timedelta(hours=2))
    ]  # fmt: skip
    assert rows(
        loop_db,
        "SELECT event_id, type, source FROM incident_events WHERE incident_id = %s ORDER BY seq",
        incident,
    ) == [
        (f"{incident}:reported", "reported", "auto"),
        (f"auto-dispatch:{incident}", "dispatched", "auto"),
    ]
    # The smoke clears: the alarm is cleared, the incident stays open.
    publish_readings(
        broker.url, root, "smoke-b01-0101", (t0 + timedelta(seconds=60), {"smoke": False})
    )
    state = wait_rows(
        loop_db,
        "SELECT state, cleared_at FROM alarms WHERE id = %s",
        alarm_id,
        expect=[("cleared", t0 + timedelta(seconds=60))],
    )
    assert state == [("cleared", t0 + timedelta(seconds=60))]
    assert rows(loop_db, "SELECT status FROM incidents WHERE id = %s", incident) == [
        ("dispatched",)
    ]
    changes = rows(
        loop_db,
        "SELECT data->>'event', data->>'state', data->>'incident' FROM change_log "
        "WHERE kind = 'alarm' AND ref = %s ORDER BY seq",
        str(alarm_id),
    )
    assert changes == [("raised", "active_unack", incident), ("cleared", "cleared", None)]
    # Smoke again: a new alarm, a new incident; the first one is untouched.
    publish_readings(
        broker.url, root, "smoke-b01-0101", (t0 + timedelta(seconds=90), {"smoke": True})
    )
    again = wait_rows(
        loop_db,
        "SELECT count(*), count(DISTINCT incident_id) FROM alarms WHERE device_id = %s",
        "smoke-b01-0101",
        expect=[(2, 2)],
    )
    assert again == [(2, 2)]


def test_a_wearable_fall_is_located_where_the_wearer_is(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str
) -> None:
    # The wearable lives in b01 (grid g1) but falls in b02, third storey (grid g2).
    t0 = now_utc() - timedelta(minutes=1)
    publish_readings(
        broker.url,
        root,
        "wear-0001",
        (t0, {"heart_rate": 80, "fall": False}),
        (t0 + timedelta(seconds=5), {"heart_rate": 95, "fall": True}),
        pos={"x": 80.0, "y": 6.0, "z": 7.0},
    )
    alarm = wait_rows(
        loop_db,
        "SELECT rule_id, building_id, storey_idx, grid_id FROM alarms WHERE device_id = %s",
        "wear-0001",
        expect=[("fall", "b02", 3, "g2")],
    )
    assert alarm == [("fall", "b02", 3, "g2")]
    [(incident,)] = rows(loop_db, "SELECT incident_id FROM alarms WHERE device_id = 'wear-0001'")
    assert rows(loop_db, "SELECT status, category, assignee, building_id FROM incidents "
                "WHERE id = %s", incident) == [("dispatched", "fall", "w-li", "b02")]  # fmt: skip
    positions = rows(
        loop_db,
        "SELECT p.building_id, p.storey_idx, p.unit_id, p.grid_id FROM positions p "
        "JOIN devices d ON d.key = p.device_key WHERE d.id = 'wear-0001' ORDER BY ts",
    )
    assert positions == [("b02", 3, None, "g2")] * 2
