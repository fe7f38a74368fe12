"""Incidents as plain rows: ``incident_events`` and ``incidents`` columns, the /live item.

The writer stores an event with :func:`event_to_row` (fields without a column
of their own go into ``data``) and rebuilds it for replay with
:func:`event_from_row`; the pair round-trips exactly. :func:`record_to_row`
gives the ``incidents`` columns of a replayed record, :func:`record_from_row` reads
them back. No SQL here: the keys are
column names, the values plain Python (datetimes, ints, str, dicts for jsonb).

>>> from datetime import datetime, timezone
>>> from twin.incidents.events import IncidentEvent, EventType, Location
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> e = IncidentEvent("lanting", "r-1", "e1", EventType.REPORTED, t, category="noise",
...                   location=Location(building="b01", storey=3, grid="g1"))
>>> row = event_to_row(e)
>>> row["type"], row["data"]
('reported', {'category': 'noise', 'location': {'building': 'b01', 'storey': 3, 'grid': 'g1'}})
>>> event_from_row(row) == e
True
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from twin.incidents.events import (
    IncidentEvent,
    InvalidEventError,
    Location,
    Status,
    parse_event_type,
)
from twin.incidents.record import IncidentRecord, is_overdue

# incident_events columns besides the keys; everything else of an event lives in `data`.
_EVENT_COLUMNS = ("source", "actor", "assignee", "note")
_DATA_FIELDS = (
    "category",
    "priority",
    "title",
    "description",
    "reporter",
    "satisfaction",
    "alarm_id",
    "stage",
)
_LOCATION_KEYS = ("building", "storey", "unit", "x", "y", "z", "grid")

INCIDENT_COLUMNS: tuple[str, ...] = (
    "community_id",
    "id",
    "status",
    "category",
    "priority",
    "title",
    "description",
    "reporter",
    "assignee",
    "building_id",
    "storey_idx",
    "unit_id",
    "grid_id",
    "x",
    "y",
    "z",
    "alarm_id",
    "reported_at",
    "dispatched_at",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "cancelled_at",
    "respond_due_at",
    "resolve_due_at",
    "escalated_at",
    "reopen_count",
    "satisfaction",
)
"""Columns of ``incidents`` that :func:`record_to_row` fills (``updated_at`` is the writer's)."""


def event_to_row(event: IncidentEvent) -> dict[str, Any]:
    """The ``incident_events`` row of ``event`` (``received_at`` is left to the database)."""
    data: dict[str, Any] = {
        name: getattr(event, name) for name in _DATA_FIELDS if getattr(event, name) is not None
    }
    if event.location is not None:
        data["location"] = {
            k: getattr(event.location, k)
            for k in _LOCATION_KEYS
            if getattr(event.location, k) is not None
        }
    return {
        "community_id": event.community_id,
        "incident_id": event.incident_id,
        "event_id": event.event_id,
        "type": event.type.value,
        "ts": event.ts,
        **{name: getattr(event, name) for name in _EVENT_COLUMNS},
        "data": data,
    }


def event_from_row(row: Mapping[str, Any]) -> IncidentEvent:
    """The event stored in an ``incident_events`` row; :class:`InvalidEventError` if the
    row does not hold a valid event (e.g. written by hand)."""
    data = row.get("data") or {}
    if not isinstance(data, Mapping):
        raise InvalidEventError("incident_events.data must be a JSON object")
    unknown = set(data) - {*_DATA_FIELDS, "location"}
    if unknown:
        raise InvalidEventError(f"incident_events.data: unknown key {sorted(unknown)[0]!r}")
    location = None
    if data.get("location") is not None:
        loc = data["location"]
        if not isinstance(loc, Mapping) or set(loc) - set(_LOCATION_KEYS):
            raise InvalidEventError(
                f"incident_events.data.location: expected keys among {', '.join(_LOCATION_KEYS)}"
            )
        location = Location(**loc)
    ts = row.get("ts")
    if not isinstance(ts, datetime):
        raise InvalidEventError("incident_events.ts must be a timestamp")
    try:
        return IncidentEvent(
            community_id=row["community_id"],
            incident_id=row["incident_id"],
            event_id=row["event_id"],
            type=parse_event_type(row.get("type")),
            ts=ts,
            source=row.get("source") or "mqtt",
            actor=row.get("actor"),
            assignee=row.get("assignee"),
            note=row.get("note"),
            location=location,
            **{name: data.get(name) for name in _DATA_FIELDS},
        )
    except KeyError as missing:
        raise InvalidEventError(f"incident_events row lacks {missing}") from None


def record_to_row(record: IncidentRecord) -> dict[str, Any]:
    """The ``incidents`` row of ``record`` (keys: :data:`INCIDENT_COLUMNS`)."""
    row = {name: getattr(record, name) for name in INCIDENT_COLUMNS}
    row["status"] = record.status.value
    return row


def record_from_row(row: Mapping[str, Any]) -> IncidentRecord:
    """An ``incidents`` row back as a record, for KPIs and the live state without replay.

    The row lacks what the table has no column for: ``escalations`` is empty
    (the stages live in the events; an escalation tick over such records
    yields events that :func:`twin.incidents.replay.check_event` finds duplicate),
    ``reopened_at`` is None, ``last_event_at`` is ``updated_at`` (or
    ``reported_at``) and ``event_count`` 0.
    """
    try:
        status = Status(row["status"])
        values = {name: row[name] for name in INCIDENT_COLUMNS if name != "status"}
    except KeyError as missing:
        raise InvalidEventError(f"incidents row lacks {missing}") from None
    except ValueError:
        raise InvalidEventError(f"incidents row has unknown status {row['status']!r}") from None
    reported_at = values["reported_at"]
    if not isinstance(reported_at, datetime):
        raise InvalidEventError("incidents.reported_at must be a timestamp")
    return IncidentRecord(
        status=status,
        last_event_at=row.get("updated_at") or reported_at,
        event_count=0,
        **values,
    )


def live_incident(record: IncidentRecord, now: datetime) -> dict[str, Any]:
    """The item of the /live snapshot's ``incidents`` list (docs/DESIGN.md); datetimes
    stay datetimes for the API's serializer."""
    return {
        "id": record.id,
        "status": record.status.value,
        "category": record.category,
        "priority": record.priority,
        "title": record.title,
        "assignee": record.assignee,
        "grid": record.grid_id,
        "building": record.building_id,
        "storey": record.storey_idx,
        "unit": record.unit_id,
        "x": record.x,
        "y": record.y,
        "z": record.z,
        "reported_at": record.reported_at,
        "respond_due_at": record.respond_due_at,
        "resolve_due_at": record.resolve_due_at,
        "overdue": is_overdue(record, now),
        "escalated": record.escalated,
    }
