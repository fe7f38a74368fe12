"""Events commtwin emits by itself: auto-dispatch to the grid worker, incidents from alarms.

Both return ordinary :class:`~twin.incidents.events.IncidentEvent` (source
``auto``) with deterministic ids, so ingest passes them through
:func:`twin.incidents.replay.check_event` like any other event and a redelivery or
a second evaluation is a duplicate, never a second dispatch or incident.

>>> from datetime import datetime, timezone
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> alarm = RaisedAlarm("lanting", 17, "smoke", "critical", "smoke-b01-0101", t,
...                     message="smoke detected", building_id="b01", storey_idx=1, grid_id="g1")
>>> report = alarm_incident_event(alarm)
>>> report.incident_id, report.event_id, report.category, report.priority, report.alarm_id
('alarm-17', 'alarm-17:reported', 'fire', 'critical', 17)
>>> from twin.incidents.replay import replay
>>> dispatch = auto_dispatch(replay([report]), {"g1": "w-zhang"})
>>> dispatch.event_id, dispatch.assignee, dispatch.source, dispatch.ts - t
('auto-dispatch:alarm-17', 'w-zhang', 'auto', datetime.timedelta(microseconds=1000))
>>> alarm_incident_event(RaisedAlarm("lanting", 18, "pm25_high", "minor", "aq-1", t)) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from twin.incidents.events import EventType, IncidentEvent, Location, Status
from twin.incidents.record import IncidentRecord

# A dispatch decided for a report is dated just after it: any human dispatch
# dated later wins (it re-assigns), and the two never tie on time (ties fall
# back to arrival order, which storage may not keep). 1 ms survives a round
# trip through epoch-millisecond timestamps.
AUTO_DISPATCH_DELAY = timedelta(milliseconds=1)


def auto_dispatch_event_id(incident_id: str) -> str:
    return f"auto-dispatch:{incident_id}"


def auto_dispatch(
    record: IncidentRecord, workers: Mapping[str, str | None]
) -> IncidentEvent | None:
    """The ``dispatched`` event assigning a newly reported incident to its grid's worker.

    ``workers`` maps grid id → responsible worker id (the ``grids.worker``
    column); ``record.grid_id`` comes from locating the report (``twin.geometry.locate``)
    before it was applied. None when there is nothing to do: the incident is
    past ``reported``, already names an assignee (the app that chose one
    dispatches), has no grid, or its grid has no worker — it then waits in
    ``reported`` for a human dispatcher (and shows as overdue when late).
    """
    if record.status != Status.REPORTED or record.assignee is not None:
        return None
    worker = workers.get(record.grid_id) if record.grid_id is not None else None
    if not worker:
        return None
    return IncidentEvent(
        community_id=record.community_id,
        incident_id=record.id,
        event_id=auto_dispatch_event_id(record.id),
        type=EventType.DISPATCHED,
        ts=record.reported_at + AUTO_DISPATCH_DELAY,
        source="auto",
        assignee=worker,
        note=f"auto-dispatched to the worker of grid {record.grid_id}",
    )


DEFAULT_ALARM_CATEGORIES: Mapping[str, str] = MappingProxyType(
    {
        # Rule ids of twin.rules.defaults → incident categories.
        "smoke": "fire",
        "water_leak": "water_leak",
        "gas": "gas_leak",
        "fall": "fall",
        "sos": "sos",
    }
)


@dataclass(frozen=True)
class AlarmIncidentPolicy:
    """Which alarms open incidents: rule id → incident category, for these severities.

    Build ``categories`` from a rule set's ``incident`` fields to follow a
    community's own rules file.
    """

    categories: Mapping[str, str] = field(
        default_factory=lambda: DEFAULT_ALARM_CATEGORIES, hash=False
    )
    severities: frozenset[str] = frozenset({"critical"})
    priority: str = "critical"


DEFAULT_ALARM_POLICY = AlarmIncidentPolicy()


@dataclass(frozen=True)
class RaisedAlarm:
    """What an incident needs to know of an alarm (columns of the ``alarms`` table)."""

    community_id: str
    alarm_id: int
    rule_id: str
    severity: str
    device_id: str
    raised_at: datetime
    message: str | None = None
    building_id: str | None = None
    storey_idx: int | None = None
    unit_id: str | None = None
    grid_id: str | None = None
    x: float | None = None
    y: float | None = None
    z: float | None = None


def alarm_incident_id(alarm_id: int) -> str:
    return f"alarm-{alarm_id}"


def alarm_incident_event(
    alarm: RaisedAlarm, policy: AlarmIncidentPolicy = DEFAULT_ALARM_POLICY
) -> IncidentEvent | None:
    """The ``reported`` event of the incident a critical alarm opens, or None.

    Call it when an alarm is raised and again when its severity rises (a gas
    alarm escalating to critical): the ids are derived from the alarm id, so a
    repeat is a duplicate. Clearing the alarm does nothing to the incident:
    someone still has to check the flat and close the loop.
    """
    category = policy.categories.get(alarm.rule_id)
    if category is None or alarm.severity not in policy.severities:
        return None
    location = None
    if any(
        v is not None
        for v in (alarm.building_id, alarm.x, alarm.grid_id, alarm.storey_idx, alarm.unit_id)
    ):
        location = Location(
            building=alarm.building_id,
            storey=alarm.storey_idx if alarm.building_id is not None else None,
            unit=alarm.unit_id if alarm.building_id is not None else None,
            x=alarm.x if alarm.y is not None else None,
            y=alarm.y if alarm.x is not None else None,
            z=alarm.z if alarm.x is not None and alarm.y is not None else None,
            grid=alarm.grid_id,
        )
    incident_id = alarm_incident_id(alarm.alarm_id)
    return IncidentEvent(
        community_id=alarm.community_id,
        incident_id=incident_id,
        event_id=f"{incident_id}:reported",
        type=EventType.REPORTED,
        ts=alarm.raised_at,
        source="auto",
        category=category,
        priority=policy.priority,
        title=f"{alarm.message or alarm.rule_id} ({alarm.device_id})",
        reporter=f"device:{alarm.device_id}",
        alarm_id=alarm.alarm_id,
        location=location,
    )
