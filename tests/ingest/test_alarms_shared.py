"""Two ingestors of one shared subscription, as two pipelines with their own rule
engines on one real database: raising an alarm twice is idempotent, and an
alarm's incident is opened once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest

from ingest.pipeline import Pipeline
from ingest.policy import TwinOptions
from ingest.twin_wiring import build_twin
from tests.incidents.helpers import loop_database, ms, now_utc

ROOT = "commtwin/v1"


def tel(device: str, at: datetime, **values: Any) -> tuple[str, bytes, int]:
    topic = f"{ROOT}/lanting/devices/{device}/telemetry"
    return (topic, orjson.dumps({"ts": ms(at), "values": values}), int(time.time() * 1e6))


@pytest.fixture
def conn() -> Iterator[psycopg.Connection[Any]]:
    with loop_database() as url, psycopg.connect(url, autocommit=True) as c:
        yield c


def test_two_engines_raise_one_alarm_and_one_incident(conn: psycopg.Connection[Any]) -> None:
    first, second = (Pipeline(hooks=build_twin(TwinOptions()).hooks) for _ in range(2))
    for p in (first, second):
        p.attach(conn)
    t0 = now_utc() - timedelta(minutes=5)
    # Both engines load their state before any alarm exists.
    first.write(conn, [tel("leak-b03", t0, leak=False)])
    second.write(conn, [tel("leak-b03", t0 + timedelta(seconds=1), leak=False)])
    # The feed is split between them: each sees a leak and raises.
    first.write(conn, [tel("leak-b03", t0 + timedelta(seconds=2), leak=True)])
    second.write(conn, [tel("leak-b03", t0 + timedelta(seconds=3), leak=True)])
    alarms = conn.execute(
        "SELECT rule_id, state, raised_at, incident_id FROM alarms ORDER BY id"
    ).fetchall()
    [(alarm_id,)] = conn.execute("SELECT id FROM alarms").fetchall()
    assert alarms == [
        ("water_leak", "active_unack", t0 + timedelta(seconds=2), f"alarm-{alarm_id}")
    ]
    assert conn.execute(
        "SELECT id, status, category, assignee, grid_id FROM incidents"
    ).fetchall() == [(f"alarm-{alarm_id}", "reported", "water_leak", None, "g3")]
    assert conn.execute("SELECT count(*) FROM change_log WHERE kind = 'alarm'").fetchone() == (1,)
    # Either engine clears it; the other's clear finds nothing left to clear.
    second.write(conn, [tel("leak-b03", t0 + timedelta(seconds=4), leak=False)])
    first.write(conn, [tel("leak-b03", t0 + timedelta(seconds=5), leak=False)])
    assert conn.execute("SELECT state, cleared_at FROM alarms").fetchall() == [
        ("cleared", t0 + timedelta(seconds=4))
    ]
    assert conn.execute(
        "SELECT data->>'event' FROM change_log WHERE kind = 'alarm' ORDER BY seq"
    ).fetchall() == [("raised",), ("cleared",)]


def test_an_alarm_no_rule_covers_is_cleared_when_the_engine_loads(
    conn: psycopg.Connection[Any],
) -> None:
    t0 = now_utc() - timedelta(minutes=5)
    conn.execute(
        "INSERT INTO alarms (community_id, device_id, rule_id, severity, state, raised_at,"
        " updated_at) VALUES ('lanting', 'leak-b03', 'retired_rule', 'minor', 'active_unack',"
        " %s, %s), ('lanting', 'leak-b03', 'water_leak', 'critical', 'active_ack', %s, %s)",
        (t0, t0, t0, t0),
    )
    pipeline = Pipeline(hooks=build_twin(TwinOptions()).hooks)
    pipeline.attach(conn)
    pipeline.write(conn, [tel("leak-b03", t0 + timedelta(seconds=1), leak=True)])
    assert conn.execute("SELECT rule_id, state FROM alarms ORDER BY rule_id").fetchall() == [
        ("retired_rule", "cleared"),
        ("water_leak", "active_ack"),  # restored as active: the leak raises nothing new
    ]
    assert conn.execute(
        "SELECT data->>'event', data->>'rule' FROM change_log WHERE kind = 'alarm'"
    ).fetchall() == [("cleared", "retired_rule")]
