"""An incident's current state and the state machine that advances it, one event at a time.

Lifecycle::

    reported → dispatched → accepted → resolved → closed
                  ↑  ↺ re-assign  │        │         │
                  └──── reopened ─┴────────┘─────────┘   (from resolved or closed)
    cancelled: from any open status (reported, dispatched, accepted, resolved)

Edge cases, decided:

* ``reported`` on an existing incident is refused (a second report of the
  same problem is a new incident or a duplicate event_id).
* ``dispatched`` again, from dispatched or accepted, re-assigns: the new
  assignee must accept again. A dispatch needs an assignee, on the event or
  already on the incident. It is refused once resolved (use ``reopened``).
* ``accepted`` only from dispatched; the event's assignee (if any) becomes the
  assignee. ``resolved`` only from accepted; ``closed`` only from resolved.
* ``reopened`` returns to dispatched (same assignee unless the event names
  one), clears resolved_at/closed_at/satisfaction and counts the reopen.
* ``cancelled`` is terminal: every later event except ``escalated`` is refused.
* ``escalated`` is an annotation: allowed in any status once reported, never
  changes the status; it records the stage and the first escalation time.
* ``noted`` (a worker's note) is an annotation on an open incident: it only
  counts as an event (``last_event_at``); the note lives in the timeline.
* ``dispatched_at`` and ``accepted_at`` keep the FIRST dispatch/acceptance
  (response time is measured to the first acceptance); ``resolved_at`` and
  ``closed_at`` hold the latest and are set only while resolved/closed.

>>> from datetime import datetime, timedelta, timezone
>>> from twin.incidents.events import IncidentEvent, EventType as T
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> r = apply_event(None, IncidentEvent("lanting", "r-1", "e1", T.REPORTED, t, category="noise"))
>>> r.status, r.respond_due_at - t
(<Status.REPORTED: 'reported'>, datetime.timedelta(seconds=1800))
>>> apply_event(r, IncidentEvent("lanting", "r-1", "e2", T.CLOSED, t))
Traceback (most recent call last):
...
twin.incidents.events.InvalidTransitionError: cannot apply 'closed' to an incident \
in status 'reported'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from twin.incidents.events import (
    OPEN_STATUSES,
    EventType,
    IncidentEvent,
    InvalidEventError,
    InvalidTransitionError,
    Status,
)
from twin.incidents.sla import DEFAULT_SLA, SlaPolicy

_ANY_REPORTED = frozenset(Status)
ALLOWED_FROM: Mapping[EventType, frozenset[Status]] = MappingProxyType(
    {
        EventType.DISPATCHED: frozenset({Status.REPORTED, Status.DISPATCHED, Status.ACCEPTED}),
        EventType.ACCEPTED: frozenset({Status.DISPATCHED}),
        EventType.RESOLVED: frozenset({Status.ACCEPTED}),
        EventType.CLOSED: frozenset({Status.RESOLVED}),
        EventType.REOPENED: frozenset({Status.RESOLVED, Status.CLOSED}),
        EventType.CANCELLED: OPEN_STATUSES,
        EventType.ESCALATED: _ANY_REPORTED,
        EventType.NOTED: OPEN_STATUSES,
    }
)
"""Statuses each event type may be applied in (``reported`` needs no incident yet)."""


@dataclass(frozen=True)
class IncidentRecord:
    """The replayed state of one incident. Field names follow the ``incidents`` table.

    Not in that table: ``reopened_at``, ``escalations`` (the escalated stages),
    ``last_event_at`` and ``event_count`` (applied events).
    """

    community_id: str
    id: str
    status: Status
    reported_at: datetime
    last_event_at: datetime
    category: str | None = None
    priority: str = "normal"
    title: str | None = None
    description: str | None = None
    reporter: str | None = None
    assignee: str | None = None
    building_id: str | None = None
    storey_idx: int | None = None
    unit_id: str | None = None
    grid_id: str | None = None
    x: float | None = None
    y: float | None = None
    z: float | None = None
    alarm_id: int | None = None
    dispatched_at: datetime | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    reopened_at: datetime | None = None
    reopen_count: int = 0
    satisfaction: int | None = None
    respond_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    escalated_at: datetime | None = None
    escalations: frozenset[str] = frozenset()
    event_count: int = 1

    @property
    def is_open(self) -> bool:
        """Not closed and not cancelled (a resolved incident awaits the resident's closure)."""
        return self.status in OPEN_STATUSES

    @property
    def escalated(self) -> bool:
        return self.escalated_at is not None


def _new_record(event: IncidentEvent, policy: SlaPolicy) -> IncidentRecord:
    priority = event.priority or "normal"
    respond_due, resolve_due = policy.due(event.ts, event.category, priority)
    record = IncidentRecord(
        community_id=event.community_id,
        id=event.incident_id,
        status=Status.REPORTED,
        reported_at=event.ts,
        last_event_at=event.ts,
        category=event.category,
        priority=priority,
        title=event.title,
        description=event.description,
        reporter=event.reporter or event.actor,
        assignee=event.assignee,
        alarm_id=event.alarm_id,
        respond_due_at=respond_due,
        resolve_due_at=resolve_due,
    )
    return _evolve(record, event.location_fields)


def _evolve(record: IncidentRecord, changes: dict[str, Any]) -> IncidentRecord:
    """``dataclasses.replace`` without re-running ``__init__`` over 35 fields.

    Replay runs this once per event; the record has no validation of its own,
    so a copy with some attributes changed is the same value, several times
    faster. Unknown names are a bug, caught here rather than silently added.
    """
    unknown = changes.keys() - record.__dict__.keys()
    if unknown:
        raise AttributeError(f"IncidentRecord has no field {sorted(unknown)[0]!r}")
    new = object.__new__(IncidentRecord)
    new.__dict__.update(record.__dict__)
    new.__dict__.update(changes)
    return new


def _amend(record: IncidentRecord, event: IncidentEvent, changes: dict[str, Any]) -> bool:
    """Add the descriptive fields a later event carries (reclassification) to ``changes``;
    True when the category or priority changes, which moves the deadlines."""
    changes.update(event.location_fields)
    for name in ("category", "priority", "title", "description"):
        value = getattr(event, name)
        if value is not None:
            changes[name] = value
    return (
        changes.get("category", record.category) != record.category
        or changes.get("priority", record.priority) != record.priority
    )


def apply_event(
    record: IncidentRecord | None, event: IncidentEvent, policy: SlaPolicy = DEFAULT_SLA
) -> IncidentRecord:
    """The incident after ``event``, or :class:`InvalidTransitionError` naming status and event.

    Pure and strict: it does not check event ids or time order (``twin.incidents.replay``
    replays histories by event time and drops duplicate event ids).
    """
    if record is None:
        if event.type != EventType.REPORTED:
            raise InvalidTransitionError(None, event.type)
        return _new_record(event, policy)
    if (event.community_id, event.incident_id) != (record.community_id, record.id):
        raise InvalidEventError(
            f"event {event.event_id!r} is for incident {event.community_id}/"
            f"{event.incident_id}, not {record.community_id}/{record.id}"
        )
    if event.type == EventType.REPORTED or record.status not in ALLOWED_FROM[event.type]:
        raise InvalidTransitionError(record.status, event.type)
    changes = _transition(record, event)
    if _amend(record, event, changes):
        changes["respond_due_at"], changes["resolve_due_at"] = policy.due(
            record.reported_at,
            changes.get("category", record.category),
            changes.get("priority", record.priority),
        )
    changes["last_event_at"] = max(record.last_event_at, event.ts)
    changes["event_count"] = record.event_count + 1
    return _evolve(record, changes)


def _transition(r: IncidentRecord, e: IncidentEvent) -> dict[str, Any]:
    """The fields ``e`` changes, its type being allowed in ``r``'s status."""
    t = e.type
    if t == EventType.DISPATCHED:
        assignee = e.assignee or r.assignee
        if assignee is None:
            raise InvalidTransitionError(r.status, t, "no assignee given")
        return {
            "status": Status.DISPATCHED,
            "assignee": assignee,
            "dispatched_at": r.dispatched_at or e.ts,
        }
    if t == EventType.ACCEPTED:
        return {
            "status": Status.ACCEPTED,
            "assignee": e.assignee or r.assignee or e.actor,
            "accepted_at": r.accepted_at or e.ts,
        }
    if t == EventType.RESOLVED:
        return {"status": Status.RESOLVED, "resolved_at": e.ts}
    if t == EventType.CLOSED:
        return {"status": Status.CLOSED, "closed_at": e.ts, "satisfaction": e.satisfaction}
    if t == EventType.REOPENED:
        return {
            "status": Status.DISPATCHED,
            "assignee": e.assignee or r.assignee,
            "resolved_at": None,
            "closed_at": None,
            "satisfaction": None,
            "reopened_at": e.ts,
            "reopen_count": r.reopen_count + 1,
        }
    if t == EventType.CANCELLED:
        return {"status": Status.CANCELLED, "cancelled_at": e.ts}
    if t == EventType.NOTED:
        return {}  # an annotation: the note is in the timeline
    # ESCALATED: an annotation, the status stays.
    assert e.stage is not None  # guaranteed by IncidentEvent validation
    return {
        "escalated_at": min(r.escalated_at, e.ts) if r.escalated_at else e.ts,
        "escalations": r.escalations | {e.stage},
    }


def overdue_stages(record: IncidentRecord, now: datetime) -> frozenset[str]:
    """The SLA stages the incident is overdue on at ``now``.

    ``respond``: past respond_due_at and never accepted, while open.
    ``resolve``: past resolve_due_at and not resolved (reported, dispatched or
    accepted; a reopened incident is unresolved again). A resolved incident
    awaiting the resident's closure is not overdue.

    >>> from datetime import datetime, timedelta, timezone
    >>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
    >>> r = IncidentRecord("lanting", "r-1", Status.DISPATCHED, t, t,
    ...     respond_due_at=t + timedelta(minutes=30), resolve_due_at=t + timedelta(hours=24))
    >>> sorted(overdue_stages(r, t + timedelta(minutes=30)))
    []
    >>> sorted(overdue_stages(r, t + timedelta(hours=25)))
    ['resolve', 'respond']
    """
    stages: set[str] = set()
    if not record.is_open:
        return frozenset()
    if record.accepted_at is None and record.respond_due_at and now > record.respond_due_at:
        stages.add("respond")
    if (
        record.status != Status.RESOLVED
        and record.resolve_due_at is not None
        and now > record.resolve_due_at
    ):
        stages.add("resolve")
    return frozenset(stages)


def is_overdue(record: IncidentRecord, now: datetime) -> bool:
    """Whether the incident is overdue on any SLA stage at ``now``."""
    return bool(overdue_stages(record, now))


def sla_breaches(record: IncidentRecord, as_of: datetime) -> frozenset[str]:
    """Stages whose deadline the incident missed, now or in the past, as of ``as_of``.

    The wait ends at the first acceptance (respond) or the latest resolution
    (resolve); for an incident still waiting it ends at its cancellation, else
    at ``as_of``. Cancelled before a deadline: not a breach of it.
    """
    still_waiting_until = record.cancelled_at or as_of
    breaches: set[str] = set()
    responded = record.accepted_at or still_waiting_until
    if record.respond_due_at is not None and responded > record.respond_due_at:
        breaches.add("respond")
    resolved = record.resolved_at or still_waiting_until
    if record.resolve_due_at is not None and resolved > record.resolve_due_at:
        breaches.add("resolve")
    return frozenset(breaches)
