"""Incident rows against the real schema: events and records round-trip through PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from psycopg import sql
from psycopg.types.json import Jsonb

from tests.twin.incident_builders import T, at, ev, lifecycle
from tests.twin.test_incident_replay import valid_histories
from twin.incidents.events import IncidentEvent, InvalidEventError, Location
from twin.incidents.replay import replay
from twin.incidents.rows import (
    INCIDENT_COLUMNS,
    event_from_row,
    event_to_row,
    live_incident,
    record_from_row,
    record_to_row,
)

Conn = psycopg.Connection[tuple[Any, ...]]
COMMUNITY = "incident-rows"
RICH = [
    ev(
        "e1",
        T.REPORTED,
        0,
        community=COMMUNITY,
        category="water_leak",
        priority="high",
        title="漏水 in the basement",
        description="water on the floor",
        reporter="resident-9",
        actor="app:resident-9",
        source="api",
        location=Location(building="b01", storey=-1, unit="B1-01", x=1.5, y=-2, z=-3.25, grid="g1"),
    ),
    ev("e2", T.DISPATCHED, 1, community=COMMUNITY, assignee="w-zhang", note="go"),
    ev("e3", T.ESCALATED, 5, community=COMMUNITY, stage="respond", source="auto"),
    ev("e4", T.ACCEPTED, 6, community=COMMUNITY),
    ev("e5", T.RESOLVED, 30, community=COMMUNITY),
    ev("e6", T.CLOSED, 40, community=COMMUNITY, satisfaction=4),
]


@pytest.fixture
def community(conn: Conn) -> str:
    conn.execute(
        "INSERT INTO communities (id, name, crs) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (COMMUNITY, "rows test", "EPSG:4326"),
    )
    conn.execute("DELETE FROM incident_events WHERE community_id = %s", (COMMUNITY,))
    conn.execute("DELETE FROM incidents WHERE community_id = %s", (COMMUNITY,))
    return COMMUNITY


def _insert(conn: Conn, table: str, row: dict[str, Any]) -> None:
    values = {k: Jsonb(v) if k == "data" else v for k, v in row.items()}
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    conn.execute(query, list(values.values()))


def _stored_events(conn: Conn, incident: str) -> list[IncidentEvent]:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    rows = cur.execute(
        "SELECT * FROM incident_events WHERE community_id = %s AND incident_id = %s"
        " ORDER BY received_at, ts",
        (COMMUNITY, incident),
    ).fetchall()
    return [event_from_row(r) for r in rows]


def test_events_round_trip_through_incident_events(conn: Conn, community: str) -> None:
    for e in RICH:
        _insert(conn, "incident_events", event_to_row(e))
    back = _stored_events(conn, "r-1")
    assert sorted(back, key=lambda e: e.event_id) == RICH
    assert replay(back) == replay(RICH)


def test_record_row_fits_the_incidents_table(conn: Conn, community: str) -> None:
    record = replay(RICH)
    row = record_to_row(record)
    assert tuple(row) == INCIDENT_COLUMNS
    _insert(conn, "incidents", row)
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    cols = sql.SQL(", ").join(map(sql.Identifier, INCIDENT_COLUMNS))
    got = cur.execute(
        sql.SQL("SELECT {} FROM incidents WHERE community_id = %s AND id = %s").format(cols),
        (COMMUNITY, "r-1"),
    ).fetchone()
    assert got == row
    back = record_from_row({**got, "updated_at": at(40)})
    assert back == replace(record, escalations=frozenset(), event_count=0)
    assert (got["status"], got["satisfaction"], got["escalated_at"]) == ("closed", 4, at(5))


@pytest.mark.parametrize("status", ["reported", "dispatched", "accepted", "resolved", "cancelled"])
def test_every_status_passes_the_check_constraint(conn: Conn, community: str, status: str) -> None:
    events = [e for e in lifecycle() if e.type != T.CLOSED]
    n = {"reported": 1, "dispatched": 2, "accepted": 3, "resolved": 4}.get(status)
    history = events[:n] if n else [events[0], ev("c", T.CANCELLED, 1)]
    record = replay([replace(e, community_id=COMMUNITY) for e in history])
    _insert(conn, "incidents", record_to_row(record))


@settings(deadline=None, max_examples=40)
@given(history=valid_histories())
def test_any_valid_history_round_trips_as_rows(history: list[IncidentEvent]) -> None:
    for e in history:
        assert event_from_row(event_to_row(e)) == e


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"data": {"colour": "red"}}, "unknown key 'colour'"),
        ({"data": ["x"]}, "data must be a JSON object"),
        ({"data": {"location": {"lat": 1}}}, "expected keys among building"),
        ({"data": {"satisfaction": "5"}}, "satisfaction is only allowed on 'closed'"),
        ({"type": "teleported"}, "unknown incident event type 'teleported'"),
        ({"ts": "2026-01-01"}, "ts must be a timestamp"),
        ({"event_id": None}, "event_id must be 1 to 200 characters"),
        ({"source": "carrier-pigeon"}, "source must be one of"),
    ],
)
def test_corrupt_rows_are_rejected_with_a_reason(change: dict[str, Any], message: str) -> None:
    row = {**event_to_row(RICH[0]), **change}
    with pytest.raises(InvalidEventError, match=message):
        event_from_row(row)


def test_bad_incident_rows_are_rejected_with_a_reason() -> None:
    row = record_to_row(replay(lifecycle()))
    with pytest.raises(InvalidEventError, match="unknown status 'reopened'"):
        record_from_row({**row, "status": "reopened"})
    with pytest.raises(InvalidEventError, match="lacks 'grid_id'"):
        record_from_row({k: v for k, v in row.items() if k != "grid_id"})
    with pytest.raises(InvalidEventError, match="reported_at must be a timestamp"):
        record_from_row({**row, "reported_at": None})
    assert record_from_row(row).last_event_at == row["reported_at"]


def test_row_without_a_key_column() -> None:
    row = event_to_row(RICH[0])
    del row["incident_id"]
    with pytest.raises(InvalidEventError, match="lacks 'incident_id'"):
        event_from_row(row)


def test_live_item_follows_the_design_contract() -> None:
    record = replay(RICH[:2])
    item = live_incident(record, at(6))
    assert set(item) == {
        "id", "status", "category", "priority", "title", "assignee", "grid", "building",
        "storey", "unit", "x", "y", "z", "reported_at", "respond_due_at", "resolve_due_at",
        "overdue", "escalated",
    }  # fmt: skip
    assert (item["status"], item["grid"], item["storey"], item["overdue"]) == (
        "dispatched",
        "g1",
        -1,
        True,  # water_leak: respond within 5 min
    )
    assert live_incident(record, at(5))["overdue"] is False
