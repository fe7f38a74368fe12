"""Alarm rules in the ingestor, through the real broker and PostgreSQL: hysteresis,
redelivery, rules raised by the clock, and the engine rebuilt after a restart."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from ingest.alarm_engine import AlarmStage
from ingest.alarm_writer import AlarmPlace
from ingest.incident_writer import IncidentBook
from ingest.places import Places
from tests.incidents.helpers import loop_database, now_utc, publish_readings, rows, wait_rows
from tests.ingest.helpers import IngestProcess
from tests.services import Broker
from twin.rules.engine import default_rules

ALARMS = """
SELECT rule_id, severity, state, raised_at, cleared_at, building_id, storey_idx, grid_id
FROM alarms WHERE device_id = %s ORDER BY id
"""
MIN = timedelta(minutes=1)


@pytest.fixture
def loop_db() -> Iterator[str]:
    with loop_database() as url:
        yield url


def start(url: str, broker: Broker, root: str, log_dir: Path) -> IngestProcess:
    process = IngestProcess(url, broker.url, log_dir, client_id=f"alarms-{root}", root=root)
    process.wait_connected()
    return process


def settle(url: str, broker: Broker, root: str, at: datetime) -> None:
    """A reading of another device, waited for: what was published before is committed."""
    publish_readings(broker.url, root, "leak-b03", (at, {"leak": False}))
    query = "SELECT count(*) FROM readings r JOIN devices d ON d.key = r.device_key " \
        "WHERE d.id = 'leak-b03' AND r.ts = %s"  # fmt: skip
    assert wait_rows(url, query, at, expect=[(1,)]) == [(1,)]


def test_threshold_alarm_with_hysteresis_and_escalation(
    loop_db: str, broker: Broker, tmp_path: Path
) -> None:
    root = f"al{secrets.token_hex(4)}/v1"
    ingestor = start(loop_db, broker, root, tmp_path)
    t0 = now_utc() - 40 * MIN
    # temperature_high: > 45 major, > 57 critical, clears at <= 40. Five minutes
    # apart, the changes stay under the rate rule's 8 °C/min.
    readings = [(t0 + 5 * i * MIN, {"temperature": v}) for i, v in
                enumerate([44.0, 46.0, 43.0, 58.0, 41.0, 39.5])]  # fmt: skip
    publish_readings(broker.url, root, "env-b02", *readings)
    settle(loop_db, broker, root, t0)
    assert rows(loop_db, ALARMS, "env-b02") == [
        ("temperature_high", "critical", "cleared", t0 + 5 * MIN, t0 + 25 * MIN, "b02", 2, "g2")
    ]
    [(alarm_id,)] = rows(loop_db, "SELECT id FROM alarms WHERE device_id = 'env-b02'")
    log = "SELECT data->>'event', data->>'severity', data->>'state' FROM change_log " \
        "WHERE kind = 'alarm' AND ref = %s ORDER BY seq"  # fmt: skip
    expected = [
        ("raised", "major", "active_unack"),
        ("updated", "critical", "active_unack"),
        ("cleared", "critical", "cleared"),
    ]
    assert rows(loop_db, log, str(alarm_id)) == expected
    # Redelivered, the same readings change nothing; an old reading after the
    # clear (out of order) does not raise again either.
    publish_readings(broker.url, root, "env-b02", *readings, (t0 + 21 * MIN, {"temperature": 50}))
    settle(loop_db, broker, root, t0 + MIN)
    assert rows(loop_db, "SELECT count(*) FROM alarms") == [(1,)]
    assert rows(loop_db, log, str(alarm_id)) == expected
    assert ingestor.terminate() == 0, ingestor.log


def test_clock_rules_and_an_engine_rebuilt_after_a_restart(
    loop_db: str, broker: Broker, tmp_path: Path
) -> None:
    root = f"al{secrets.token_hex(4)}/v1"
    ingestor = start(loop_db, broker, root, tmp_path)
    t0 = now_utc() - 20 * MIN
    publish_readings(broker.url, root, "door-b01", (t0, {"open": True}))
    settle(loop_db, broker, root, t0)
    assert ingestor.terminate() == 0, ingestor.log

    # The clock, injected: another engine rebuilt from the database (as after a
    # restart) sees the door open since t0 and the devices' last readings.
    places = Places()
    stage = AlarmStage(default_rules(), places, IncidentBook(places=places))
    start_s = t0.timestamp()
    with psycopg.connect(loop_db, autocommit=True) as conn:
        assert stage.tick(conn, start_s + 299) == []
        [door] = stage.tick(conn, start_s + 301)
        assert (door.kind, door.rule_id, door.severity, door.ts) == (
            "raised", "door_left_open", "warning", start_s + 300
        )  # fmt: skip
        silent = stage.tick(conn, start_s + 3600 + 60)
    assert sorted((e.device, e.rule_id) for e in silent) == [
        ("door-b01", "no_data"),
        ("leak-b03", "no_data_safety"),
    ]
    assert rows(loop_db, ALARMS, "door-b01") == [
        ("door_left_open", "warning", "active_unack", t0 + 5 * MIN, None, "b01", 1, "g1"),
        ("no_data", "warning", "active_unack", t0 + 60 * MIN, None, "b01", 1, "g1"),
    ]
    # A new ingestor rebuilds its engine from the database: the door closing
    # clears both of its alarms.
    ingestor = start(loop_db, broker, root, tmp_path)
    publish_readings(broker.url, root, "door-b01", (t0 + 10 * MIN, {"open": False}))
    states = wait_rows(
        loop_db,
        "SELECT rule_id, state, cleared_at FROM alarms WHERE device_id = 'door-b01' ORDER BY id",
        expect=[
            ("door_left_open", "cleared", t0 + 10 * MIN),
            ("no_data", "cleared", t0 + 60 * MIN),
        ],
    )
    # (The engine never dates a clear before its raise; this raise came from a
    # clock the test set ahead.)
    assert states == [
        ("door_left_open", "cleared", t0 + 10 * MIN),
        ("no_data", "cleared", t0 + 60 * MIN),
    ]
    assert "alarm engine loaded" in ingestor.log
    assert ingestor.terminate() == 0, ingestor.log


def test_a_device_added_just_after_its_model_was_loaded_alarms_in_its_place(loop_db: str) -> None:
    # The model is not reloaded for an unknown device within min_age_s of its
    # load; the device's own row places it. Past that, the model is reloaded.
    now = [0.0]
    places = Places(clock=lambda: now[0])
    stage = AlarmStage(default_rules(), places, IncidentBook(places=places))
    add = (
        "INSERT INTO devices (community_id, id, kind, metrics, building_id, storey_idx,"
        " grid_id, online, modelled) VALUES ('lanting', %s, 'smoke', '{smoke}',"
        " 'b01', 2, 'g1', true, true)"
    )
    with psycopg.connect(loop_db, autocommit=True) as conn:
        assert places.get(conn, "lanting") is not None
        conn.execute(add, ("smoke-new",))
        assert stage.place_of(conn, "lanting", "smoke-new") == AlarmPlace("b01", 2, None, "g1")
        assert stage.place_of(conn, "lanting", "nobody") == AlarmPlace()
        model = places.get(conn, "lanting")
        assert model is not None
        assert "smoke-new" not in model.by_id
        now[0] = 1.0
        conn.execute(add, ("smoke-later",))
        assert stage.place_of(conn, "lanting", "smoke-later") == AlarmPlace("b01", 2, None, "g1")
        model = places.get(conn, "lanting")
        assert model is not None
        assert {"smoke-new", "smoke-later"} <= set(model.by_id)
