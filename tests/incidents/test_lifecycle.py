"""Incident lifecycles through MQTT, the real broker, a real ingestor and PostgreSQL:
auto-dispatch by grid, redelivery, out-of-order events, invalid transitions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from pyproj import Transformer

from tests.incidents.helpers import (
    MODEL,
    event,
    now_utc,
    publish_events,
    rows,
    wait_rows,
)
from tests.ingest.helpers import IngestProcess
from tests.services import Broker

MIN = timedelta(minutes=1)
INCIDENT_ROW = "SELECT status, assignee, building_id, storey_idx, unit_id, grid_id, satisfaction " \
    "FROM incidents WHERE id = %s"  # fmt: skip
EVENTS = "SELECT event_id, type, source FROM incident_events WHERE incident_id = %s ORDER BY seq"
DEAD = "SELECT reason, detail, payload FROM dead_letters WHERE topic = %s ORDER BY id"


def _settle(loop_db: str, broker: Broker, root: str, marker: str) -> None:
    """Publish a marker report and wait for it: everything published before it,
    on the same connection order, has been committed by then."""
    publish_events(broker.url, root, [event(marker, "m", "reported", now_utc())])
    assert wait_rows(loop_db, "SELECT 1 FROM incidents WHERE id = %s", marker, expect=[(1,)])


def test_full_lifecycle_with_auto_dispatch_and_redelivery(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str
) -> None:
    t0 = now_utc() - timedelta(hours=2)
    events = [
        event("r-100", "e1", "reported", t0, category="noise", title="Loud music",
              reporter="res-1", location={"building": "b01", "storey": 3, "unit": "1-301"}),
        event("r-100", "e2", "accepted", t0 + 10 * MIN, note="on my way"),
        event("r-100", "e3", "resolved", t0 + 60 * MIN),
        event("r-100", "e4", "closed", t0 + 90 * MIN, satisfaction=4),
    ]  # fmt: skip
    publish_events(broker.url, root, events)
    publish_events(broker.url, root, events)  # the broker may redeliver any of them
    _settle(loop_db, broker, root, "marker-100")
    # The report named no assignee: it went to the worker of grid g1 (unit 1-301).
    assert rows(loop_db, INCIDENT_ROW, "r-100") == [
        ("closed", "w-zhang", "b01", 3, "1-301", "g1", 4)
    ]
    assert rows(loop_db, EVENTS, "r-100") == [
        ("e1", "reported", "mqtt"),
        ("auto-dispatch:r-100", "dispatched", "auto"),
        ("e2", "accepted", "mqtt"),
        ("e3", "resolved", "mqtt"),
        ("e4", "closed", "mqtt"),
    ]
    changes = rows(
        loop_db,
        "SELECT data->>'event', data->>'status' FROM change_log "
        "WHERE kind = 'incident' AND ref = 'r-100' ORDER BY seq",
    )
    assert changes == [
        ("reported", "reported"),
        ("dispatched", "dispatched"),
        ("accepted", "accepted"),
        ("resolved", "resolved"),
        ("closed", "closed"),
    ]
    assert rows(loop_db, DEAD, f"{root}/lanting/incidents/r-100/events") == []
    due = rows(
        loop_db,
        "SELECT respond_due_at - reported_at, resolve_due_at - reported_at, closed_at "
        "FROM incidents WHERE id = 'r-100'",
    )
    assert due == [(timedelta(minutes=30), timedelta(hours=24), t0 + 90 * MIN)]


def test_out_of_order_events_apply_by_event_time(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str
) -> None:
    t0 = now_utc() - timedelta(hours=3)
    events = [
        event("r-200", "e1", "reported", t0, category="water_leak", location={"x": 80, "y": 5}),
        event("r-200", "e2", "dispatched", t0 + 5 * MIN, assignee="w-wang"),
        event("r-200", "e3", "accepted", t0 + 10 * MIN),
        event("r-200", "e4", "resolved", t0 + 60 * MIN),
        event("r-200", "e5", "closed", t0 + 90 * MIN, satisfaction=5),
    ]
    publish_events(broker.url, root, events[::-1])  # newest first
    _settle(loop_db, broker, root, "marker-200")
    # Located from its coordinates: building b02, ground floor, grid g2; the
    # human dispatch (to w-wang) was there, so nothing was auto-dispatched.
    assert rows(loop_db, INCIDENT_ROW, "r-200") == [("closed", "w-wang", "b02", 1, None, "g2", 5)]
    assert [r[0] for r in rows(loop_db, EVENTS, "r-200")] == ["e5", "e4", "e3", "e2", "e1"]
    # Each early event was refused when it came (and kept): dead letters that
    # name the event and why.
    dead = rows(loop_db, DEAD, f"{root}/lanting/incidents/r-200/events")
    assert [(r[0], r[1]) for r in dead] == [
        ("invalid_transition", f"cannot apply '{t}' to an incident that has not been reported")
        for t in ("closed", "resolved", "accepted", "dispatched")
    ]
    assert [orjson.loads(r[2])["event_id"] for r in dead] == ["e5", "e4", "e3", "e2"]


def test_invalid_transitions_are_dead_lettered_naming_both_states(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str
) -> None:
    t0 = now_utc() - timedelta(hours=1)
    publish_events(
        broker.url,
        root,
        [
            event("r-300", "e1", "reported", t0, category="garbage"),
            event("r-300", "e2", "closed", t0 + 2 * MIN),
            event("r-300", "e3", "dispatched", t0 + 3 * MIN),  # no assignee anywhere
            event("r-300", "e4", "dispatched", t0 + 4 * MIN, assignee="w-li"),
            event("r-300", "e5", "reopened", t0 + 5 * MIN),
            event("r-300", "e6", "cancelled", t0 + 6 * MIN, note="duplicate report"),
            event("r-300", "e7", "accepted", t0 + 7 * MIN),
        ],
    )
    _settle(loop_db, broker, root, "marker-300")
    dead = rows(loop_db, DEAD, f"{root}/lanting/incidents/r-300/events")
    assert [(r[0], r[1]) for r in dead] == [
        ("invalid_transition", "cannot apply 'closed' to an incident in status 'reported'"),
        (
            "invalid_transition",
            "cannot apply 'dispatched' to an incident in status 'reported': no assignee given",
        ),
        ("invalid_transition", "cannot apply 'reopened' to an incident in status 'dispatched'"),
        ("invalid_transition", "cannot apply 'accepted' to an incident in status 'cancelled'"),
    ]
    assert rows(loop_db, "SELECT status, assignee FROM incidents WHERE id = 'r-300'") == [
        ("cancelled", "w-li")
    ]


def test_a_too_early_event_takes_effect_when_its_predecessor_arrives(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str
) -> None:
    t0 = now_utc() - timedelta(hours=1)
    publish_events(
        broker.url,
        root,
        [
            event("r-310", "e1", "reported", t0, assignee="w-zhao"),  # the app chose: no auto
            event("r-310", "e3", "accepted", t0 + 10 * MIN),  # before its dispatch
        ],
    )
    _settle(loop_db, broker, root, "marker-310")
    assert rows(loop_db, "SELECT status FROM incidents WHERE id = 'r-310'") == [("reported",)]
    publish_events(broker.url, root, [event("r-310", "e2", "dispatched", t0 + 5 * MIN)])
    assert wait_rows(
        loop_db, "SELECT status, assignee FROM incidents WHERE id = 'r-310'",
        expect=[("accepted", "w-zhao")],
    ) == [("accepted", "w-zhao")]  # fmt: skip


def _lonlat(x: float, y: float) -> tuple[float, float]:
    to_wgs84 = Transformer.from_crs(MODEL["crs"], "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(x, y)
    return float(lon), float(lat)


def test_auto_dispatch_by_grid(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str
) -> None:
    t0 = now_utc() - timedelta(minutes=30)
    lon, lat = _lonlat(140.0, 6.0)  # building b03, grid g3 (no worker)
    located: list[dict[str, Any]] = [
        event("r-400", "e1", "reported", t0, location={"x": 85.0, "y": 6.0, "z": 4.5}),
        event("r-401", "e1", "reported", t0, location={"lon": lon, "lat": lat, "alt": 1.0}),
        event("r-402", "e1", "reported", t0, assignee="w-wang", location={"building": "b01"}),
        event("r-403", "e1", "reported", t0, location={"x": 45.0, "y": 30.0}),
    ]
    publish_events(broker.url, root, located)
    _settle(loop_db, broker, root, "marker-400")
    found = {
        r[0]: r[1:]
        for r in rows(
            loop_db,
            "SELECT id, status, assignee, building_id, storey_idx, grid_id FROM incidents "
            "WHERE id LIKE 'r-40_' ORDER BY id",
        )
    }
    assert found == {
        "r-400": ("dispatched", "w-li", "b02", 2, "g2"),  # z 4.5 m: second storey
        "r-401": ("reported", None, "b03", 1, "g3"),  # grid without a worker: waits
        "r-402": ("reported", "w-wang", "b01", None, "g1"),  # the app named the assignee
        "r-403": ("dispatched", "w-zhang", None, None, "g1"),  # outside buildings: grid only
    }
    dispatch = rows(
        loop_db,
        "SELECT ts - %s, assignee, note FROM incident_events WHERE event_id = %s",
        t0,
        "auto-dispatch:r-400",
    )
    note = "auto-dispatched to the worker of grid g2"
    assert dispatch == [(timedelta(milliseconds=1), "w-li", note)]


def test_bad_satisfaction_and_priority_are_schema_dead_letters(
    ingestor: IngestProcess, loop_db: str, broker: Broker, root: str
) -> None:
    t0 = now_utc() - timedelta(minutes=10)
    publish_events(
        broker.url,
        root,
        [
            event("r-500", "e1", "reported", t0, priority="urgent"),
            event("r-500", "e2", "resolved", t0, satisfaction=5),
            event("r-500", "e3", "reported", t0, priority="high", category="lift"),
        ],
    )
    _settle(loop_db, broker, root, "marker-500")
    dead = rows(loop_db, DEAD, f"{root}/lanting/incidents/r-500/events")
    assert [(r[0], r[1]) for r in dead] == [
        ("schema", "priority must be one of low, normal, high, critical"),
        ("schema", "satisfaction is only allowed on 'closed' events"),
    ]
    # A high-priority lift report keeps the ordinary SLA (priority critical would not).
    assert rows(
        loop_db, "SELECT priority, respond_due_at - reported_at FROM incidents WHERE id = 'r-500'"
    ) == [("high", timedelta(minutes=30))]
