"""Small builders for incident tests: events at minute offsets, canonical histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from twin.incidents.events import EventType, IncidentEvent

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
T = EventType


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(
    event_id: str,
    type: EventType,
    minutes: float,
    *,
    incident: str = "r-1",
    community: str = "lanting",
    **fields: Any,
) -> IncidentEvent:
    return IncidentEvent(community, incident, event_id, type, at(minutes), **fields)


def lifecycle(incident: str = "r-1", **report: Any) -> list[IncidentEvent]:
    """reported → dispatched → accepted → resolved → closed, minutes 0/2/10/60/120."""
    return [
        ev("e1", T.REPORTED, 0, incident=incident, **report),
        ev("e2", T.DISPATCHED, 2, incident=incident, assignee="w-zhang"),
        ev("e3", T.ACCEPTED, 10, incident=incident),
        ev("e4", T.RESOLVED, 60, incident=incident),
        ev("e5", T.CLOSED, 120, incident=incident, satisfaction=5),
    ]


# Shortest history reaching each status (cancelled: straight from reported).
PATH_TO: dict[str, int] = {
    "reported": 1,
    "dispatched": 2,
    "accepted": 3,
    "resolved": 4,
    "closed": 5,
}


def history_in(status: str) -> list[IncidentEvent]:
    if status == "cancelled":
        return [*lifecycle()[:1], ev("ec", T.CANCELLED, 1)]
    return lifecycle()[: PATH_TO[status]]
