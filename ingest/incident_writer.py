"""Persist incident events: the ONE place ingest writes incidents.

Until the incident state machine lands (``twin.incidents``, incidents issue),
events are recorded as given: every new event is appended to
``incident_events`` and moves the ``incidents`` row to the status its type
names; nothing is refused. The incidents engineer replaces the internals of
:func:`write_incident_events` (validate transitions, SLA deadlines,
escalation) and keeps its signature: the pipeline calls it inside the batch's
transaction and turns each :class:`IncidentRejection` into a dead letter
(reason ``invalid_transition``) with the message's raw bytes.

Idempotence: ``event_id`` identifies an event within its incident, so a
redelivered event (even one without ``ts``, which then carries a new receive
time) is a no-op. A per-incident advisory lock serialises two ingestors that
receive the same event at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
import psycopg

from ingest.messages import IncidentEvent, LocalPosition, UnitLocation

Conn = psycopg.Connection[Any]

STATUS_AFTER: Final = {
    "reported": "reported",
    "dispatched": "dispatched",
    "accepted": "accepted",
    "resolved": "resolved",
    "closed": "closed",
    "reopened": "reported",
    "cancelled": "cancelled",
}
_STAMP: Final = {
    "dispatched": "dispatched_at",
    "accepted": "accepted_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
    "cancelled": "cancelled_at",
}


@dataclass(frozen=True, slots=True)
class IncidentRejection:
    """Event ``index`` (into the sequence given) was refused; it becomes a dead letter."""

    index: int
    reason: str  # a dead-letter reason code, e.g. "invalid_transition"
    detail: str


@dataclass(frozen=True, slots=True)
class IncidentWriteResult:
    applied: int  # new events recorded
    duplicates: int  # redelivered events, ignored
    rejections: tuple[IncidentRejection, ...] = ()


_LOCK: Final = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
_INSERT_EVENT: Final = """
INSERT INTO incident_events
    (community_id, incident_id, event_id, type, ts, source, actor, assignee, note, data)
SELECT %(community)s, %(incident)s, %(event_id)s, %(type)s, %(ts)s, %(source)s,
       %(actor)s, %(assignee)s, %(note)s, %(data)s::jsonb
WHERE NOT EXISTS (SELECT 1 FROM incident_events
                  WHERE community_id = %(community)s AND incident_id = %(incident)s
                    AND event_id = %(event_id)s)
RETURNING 1
"""
_UPSERT_INCIDENT: Final = """
INSERT INTO incidents AS i
    (community_id, id, status, category, title, description, reporter, assignee,
     building_id, storey_idx, unit_id, x, y, z, reported_at,
     dispatched_at, accepted_at, resolved_at, closed_at, cancelled_at, reopen_count, updated_at)
VALUES (%(community)s, %(incident)s, %(status)s, %(category)s, %(title)s, %(description)s,
        %(reporter)s, %(assignee)s, %(building)s, %(storey)s, %(unit)s, %(x)s, %(y)s, %(z)s,
        %(ts)s, %(dispatched_at)s, %(accepted_at)s, %(resolved_at)s, %(closed_at)s,
        %(cancelled_at)s, %(reopened)s, now())
ON CONFLICT (community_id, id) DO UPDATE SET
    status = EXCLUDED.status,
    category = COALESCE(EXCLUDED.category, i.category),
    title = COALESCE(EXCLUDED.title, i.title),
    description = COALESCE(EXCLUDED.description, i.description),
    reporter = COALESCE(EXCLUDED.reporter, i.reporter),
    assignee = COALESCE(EXCLUDED.assignee, i.assignee),
    building_id = COALESCE(EXCLUDED.building_id, i.building_id),
    storey_idx = COALESCE(EXCLUDED.storey_idx, i.storey_idx),
    unit_id = COALESCE(EXCLUDED.unit_id, i.unit_id),
    x = COALESCE(EXCLUDED.x, i.x),
    y = COALESCE(EXCLUDED.y, i.y),
    z = COALESCE(EXCLUDED.z, i.z),
    reported_at = LEAST(i.reported_at, EXCLUDED.reported_at),
    dispatched_at = COALESCE(EXCLUDED.dispatched_at, i.dispatched_at),
    accepted_at = COALESCE(EXCLUDED.accepted_at, i.accepted_at),
    resolved_at = COALESCE(EXCLUDED.resolved_at, i.resolved_at),
    closed_at = COALESCE(EXCLUDED.closed_at, i.closed_at),
    cancelled_at = COALESCE(EXCLUDED.cancelled_at, i.cancelled_at),
    reopen_count = i.reopen_count + EXCLUDED.reopen_count,
    updated_at = now()
RETURNING status
"""
_LOG: Final = """
INSERT INTO change_log (community_id, kind, ref, data)
VALUES (%s, 'incident', %s, %s::jsonb)
"""


def write_incident_events(
    conn: Conn, events: Sequence[IncidentEvent], *, source: str = "mqtt"
) -> IncidentWriteResult:
    """Record ``events`` (arrival order) inside the caller's open transaction.

    Positional locations must already be community-local
    (:class:`~ingest.messages.LocalPosition`); the pipeline converts WGS 84.
    """
    # Lock every incident of the batch up front, in one order, so two
    # ingestors cannot deadlock on each other's incidents.
    for key in sorted({f"incident/{e.community}/{e.incident}" for e in events}):
        conn.execute(_LOCK, (key,))
    applied = duplicates = 0
    for event in events:
        params = _params(event, source)
        if conn.execute(_INSERT_EVENT, params).fetchone() is None:
            duplicates += 1
            continue
        row = conn.execute(_UPSERT_INCIDENT, params).fetchone()
        status = row[0] if row else STATUS_AFTER[event.type]
        change = {"event": event.type, "event_id": event.event_id, "status": status}
        conn.execute(_LOG, (event.community, event.incident, orjson.dumps(change).decode()))
        applied += 1
    return IncidentWriteResult(applied, duplicates)


def _params(event: IncidentEvent, source: str) -> dict[str, Any]:
    loc = event.location
    unit = loc if isinstance(loc, UnitLocation) else None
    point = loc if isinstance(loc, LocalPosition) else None
    data = {
        k: v
        for k, v in (
            ("category", event.category),
            ("title", event.title),
            ("description", event.description),
            ("reporter", event.reporter),
            ("location", _location_json(loc)),
        )
        if v is not None
    }
    stamp = _STAMP.get(event.type)
    params: dict[str, Any] = {
        "community": event.community,
        "incident": event.incident,
        "event_id": event.event_id,
        "type": event.type,
        "ts": event.ts,
        "source": source,
        "actor": event.reporter if event.type == "reported" else event.assignee,
        "assignee": event.assignee,
        "note": event.note,
        "data": orjson.dumps(data).decode(),
        "status": STATUS_AFTER[event.type],
        "category": event.category,
        "title": event.title,
        "description": event.description,
        "reporter": event.reporter,
        "building": unit.building if unit else None,
        "storey": unit.storey if unit else None,
        "unit": unit.unit if unit else None,
        "x": point.x if point else None,
        "y": point.y if point else None,
        "z": point.z if point else None,
        "reopened": 1 if event.type == "reopened" else 0,
    }
    for column in _STAMP.values():
        params[column] = event.ts if column == stamp else None
    return params


def _location_json(loc: object) -> dict[str, Any] | None:
    if isinstance(loc, UnitLocation):
        return {"building": loc.building, "storey": loc.storey, "unit": loc.unit}
    if isinstance(loc, LocalPosition):
        return {"x": loc.x, "y": loc.y, "z": loc.z}
    return None
