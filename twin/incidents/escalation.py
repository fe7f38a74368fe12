"""Escalation of overdue incidents: one ``escalated`` event per incident and SLA stage.

A periodic tick (ingest or the API, with its clock) calls :func:`escalations`
with the open incidents and ``now``, and applies the events it returns through
:func:`twin.incidents.replay.check_event`. Each event is dated at the deadline that
was missed and has an id derived from the incident and stage, so every tick
after the first returns the same events, which are duplicates, and an
incident that has been escalated on a stage is not escalated on it again.

``escalated`` is an annotation: it never changes the incident's status (the
state machine allows it in every status), it sets ``escalated_at`` and adds
the stage to ``escalations``; the cockpit shows the flag.

>>> from datetime import datetime, timedelta, timezone
>>> from twin.incidents.replay import replay, IncidentEvent, EventType as T
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> r = replay([IncidentEvent("lanting", "r-1", "e1", T.REPORTED, t, category="noise")])
>>> escalations([r], t + timedelta(minutes=30))
()
>>> [(e.event_id, e.stage, e.ts - t) for e in escalations([r], t + timedelta(minutes=31))]
[('escalate-respond:r-1', 'respond', datetime.timedelta(seconds=1800))]
>>> r2 = replay([*escalations([r], t + timedelta(minutes=31)), IncidentEvent(
...     "lanting", "r-1", "e1", T.REPORTED, t, category="noise")])
>>> r2.status, r2.escalated, escalations([r2], t + timedelta(minutes=40))
(<Status.REPORTED: 'reported'>, True, ())
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from twin.incidents.events import EventType, IncidentEvent
from twin.incidents.record import IncidentRecord, overdue_stages


def escalation_event_id(incident_id: str, stage: str) -> str:
    return f"escalate-{stage}:{incident_id}"


def escalation_event(record: IncidentRecord, stage: str) -> IncidentEvent:
    """The ``escalated`` event for ``stage`` (``respond`` | ``resolve``) of ``record``."""
    due = record.respond_due_at if stage == "respond" else record.resolve_due_at
    if due is None:
        raise ValueError(f"incident {record.id} has no {stage} deadline")
    what = "accepted" if stage == "respond" else "resolved"
    return IncidentEvent(
        community_id=record.community_id,
        incident_id=record.id,
        event_id=escalation_event_id(record.id, stage),
        type=EventType.ESCALATED,
        ts=due,
        source="auto",
        stage=stage,
        assignee=record.assignee,
        note=f"not {what} by {due.isoformat()} ({stage} SLA)",
    )


def escalations(records: Iterable[IncidentRecord], now: datetime) -> tuple[IncidentEvent, ...]:
    """Escalation events for the stages each incident is overdue on at ``now`` and
    has not yet been escalated on, ordered by deadline then incident id."""
    events = [
        escalation_event(r, stage)
        for r in records
        for stage in sorted(overdue_stages(r, now) - r.escalations)
    ]
    return tuple(sorted(events, key=lambda e: (e.ts, e.incident_id, e.event_id)))
