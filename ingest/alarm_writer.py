"""Persist alarm events of the rule engine: ``alarms`` rows, ``change_log``, incidents.

Called inside the transaction that holds the readings that caused the events
(or the clock tick's own transaction), before the engine applies them:

* ``raised`` → a new ``alarms`` row (``active_unack``) with the place of the
  device: its stored placement, or for a mobile device (wearable) the place
  its latest position was located in. ``ON CONFLICT DO NOTHING`` on the
  ``alarms_one_active`` index makes raising idempotent: a second ingestor of
  a shared subscription, or a redelivery after a crash, adds nothing.
* ``updated`` (severity up) → severity, value, message of the active row.
* ``cleared`` → ``state = 'cleared'``, ``cleared_at``.
* each change → a ``change_log`` row of kind ``alarm`` (``ref`` = alarm id);
* a critical alarm whose rule maps to an incident category (raised, or
  updated to critical) opens incident ``alarm-<id>`` through
  :meth:`ingest.incident_writer.IncidentBook.open_for_alarm` and is linked
  both ways (``alarms.incident_id``, ``incidents.alarm_id``). Clearing the
  alarm leaves the incident open: someone still has to look.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
import psycopg

from ingest.incident_writer import IncidentBook
from twin.incidents.dispatch import RaisedAlarm
from twin.rules.engine import AlarmEvent

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class AlarmPlace:
    building: str | None = None
    storey: int | None = None
    unit: str | None = None
    grid: str | None = None
    x: float | None = None
    y: float | None = None
    z: float | None = None


NOWHERE: Final = AlarmPlace()
# (conn, community, device id) → where the device is now.
PlaceOf = Callable[[Conn, str, str], AlarmPlace]


@dataclass(frozen=True, slots=True)
class AlarmWriteResult:
    raised: int = 0
    updated: int = 0
    cleared: int = 0
    incidents: int = 0  # incidents opened (or found) for critical alarms

    @property
    def changes(self) -> int:
        return self.raised + self.updated + self.cleared


_RAISE: Final = """
INSERT INTO alarms AS a
    (community_id, device_id, rule_id, metric, severity, state, message, value,
     raised_at, updated_at, building_id, storey_idx, unit_id, grid_id)
VALUES (%(community)s, %(device)s, %(rule)s, %(metric)s, %(severity)s, 'active_unack',
        %(message)s, %(value)s, %(ts)s, %(ts)s, %(building)s, %(storey)s, %(unit)s, %(grid)s)
ON CONFLICT (community_id, device_id, rule_id) WHERE state <> 'cleared' DO NOTHING
RETURNING id, raised_at, state
"""
_UPDATE: Final = """
UPDATE alarms SET severity = %(severity)s, value = %(value)s, message = %(message)s,
                  updated_at = GREATEST(updated_at, %(ts)s)
WHERE community_id = %(community)s AND device_id = %(device)s AND rule_id = %(rule)s
  AND state <> 'cleared'
RETURNING id, raised_at, state
"""
# The raised message stays (it says what happened); the clear message goes
# to the change log.
_CLEAR: Final = """
UPDATE alarms SET state = 'cleared', cleared_at = %(ts)s, updated_at = GREATEST(updated_at, %(ts)s)
WHERE community_id = %(community)s AND device_id = %(device)s AND rule_id = %(rule)s
  AND state <> 'cleared'
RETURNING id, raised_at, state
"""
_LINK: Final = "UPDATE alarms SET incident_id = %s WHERE id = %s AND incident_id IS NULL"
_LOG: Final = """
INSERT INTO change_log (community_id, kind, ref, data) VALUES (%s, 'alarm', %s, %s::jsonb)
"""
_SQL: Final = {"raised": _RAISE, "updated": _UPDATE, "cleared": _CLEAR}


def write_alarm_events(
    conn: Conn,
    events: Sequence[AlarmEvent],
    *,
    place_of: PlaceOf,
    book: IncidentBook | None = None,
) -> AlarmWriteResult:
    """Persist ``events`` (time order, as the engine gives them) in the open transaction."""
    counts = {"raised": 0, "updated": 0, "cleared": 0}
    incidents = 0
    for event in events:
        ts = datetime.fromtimestamp(event.ts, UTC)
        place = place_of(conn, event.community, event.device) if event.kind == "raised" else NOWHERE
        params = {
            "community": event.community,
            "device": event.device,
            "rule": event.rule_id,
            "metric": event.metric,
            "severity": event.severity,
            "message": event.message,
            "value": event.value,
            "ts": ts,
            "building": place.building,
            "storey": place.storey,
            "unit": place.unit,
            "grid": place.grid,
        }
        row = conn.execute(_SQL[event.kind], params).fetchone()
        if row is None:
            continue  # already raised elsewhere, or nothing active to update or clear
        alarm_id, raised_at, state = int(row[0]), row[1], str(row[2])
        counts[event.kind] += 1
        change: dict[str, Any] = {
            "event": event.kind,
            "state": state,
            "severity": event.severity,
            "rule": event.rule_id,
            "device": event.device,
            "message": event.message,
        }
        if book is not None and event.kind != "cleared" and event.severity == "critical":
            if event.kind == "updated":
                place = place_of(conn, event.community, event.device)
            raised = RaisedAlarm(
                community_id=event.community,
                alarm_id=alarm_id,
                rule_id=event.rule_id,
                severity=event.severity,
                device_id=event.device,
                raised_at=raised_at,
                message=event.message,
                building_id=place.building,
                storey_idx=place.storey,
                unit_id=place.unit,
                grid_id=place.grid,
                x=place.x,
                y=place.y,
                z=place.z,
            )
            incident = book.open_for_alarm(conn, raised)
            if incident is not None:
                conn.execute(_LINK, (incident, alarm_id))
                change["incident"] = incident
                incidents += 1
        conn.execute(_LOG, (event.community, str(alarm_id), orjson.dumps(change).decode()))
    return AlarmWriteResult(counts["raised"], counts["updated"], counts["cleared"], incidents)
