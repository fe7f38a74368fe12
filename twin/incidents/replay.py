"""The incident closed loop, pure: replay histories by event time, check incoming events.

An incident is the replay of its events ordered by ``(ts, arrival order)``:
each event is applied if the incident's status at that time allows it
(``twin.incidents.record``), otherwise it is *skipped* with the reason. A
repeated ``event_id`` is a no-op (the first arrival wins). The result depends
only on the set of events (for distinct timestamps), never on the order they
arrived in, so out-of-order delivery is harmless.

Ingest calls :func:`check_event` for each incoming event with the incident's
stored events (in arrival order):

* :class:`Duplicate` — the event_id is already stored: acknowledge, write nothing.
* :class:`Applied` — valid at its time position: store it, upsert ``record``.
* :class:`Rejected` — refused at its time position: dead-letter it with
  ``reason``. Storing it as well (recommended for MQTT, whose sender cannot be
  told) lets it take effect if a missing earlier event arrives later, e.g. an
  ``accepted`` delivered before its ``dispatched``; the replay keeps skipping
  it otherwise. The API answers 409 and stores nothing.

>>> from datetime import datetime, timedelta, timezone
>>> from twin.incidents.events import IncidentEvent, EventType as T
>>> t0 = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> def ev(eid, type, minutes, **kw):
...     return IncidentEvent("lanting", "r-1", eid, type, t0 + timedelta(minutes=minutes), **kw)
>>> stored = [ev("e1", T.REPORTED, 0, category="noise"), ev("e3", T.ACCEPTED, 9)]
>>> replay(stored).status  # 'accepted' waits for its dispatch
<Status.REPORTED: 'reported'>
>>> out = check_event(stored, ev("e2", T.DISPATCHED, 5, assignee="w-zhang"))
>>> type(out).__name__, out.record.status, out.record.assignee
('Applied', <Status.ACCEPTED: 'accepted'>, 'w-zhang')
>>> [e.event_id for e in out.newly_applied]
['e3']
>>> stored += [out.event]
>>> type(check_event(stored, ev("e2", T.DISPATCHED, 5, assignee="w-zhang"))).__name__
'Duplicate'
>>> check_event(stored, ev("e4", T.CLOSED, 12)).reason
"cannot apply 'closed' to an incident in status 'accepted'"
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from twin.incidents.events import (
    EventType,
    IncidentError,
    IncidentEvent,
    InvalidEventError,
    InvalidTransitionError,
    Location,
    NotReportedError,
    Status,
)
from twin.incidents.record import (
    IncidentRecord,
    apply_event,
    is_overdue,
    overdue_stages,
    sla_breaches,
)
from twin.incidents.sla import DEFAULT_SLA, SlaPolicy

__all__ = [
    "DEFAULT_SLA",
    "Applied",
    "Duplicate",
    "EventType",
    "IncidentError",
    "IncidentEvent",
    "IncidentRecord",
    "InvalidEventError",
    "InvalidTransitionError",
    "Location",
    "NotReportedError",
    "Outcome",
    "Rejected",
    "Replay",
    "SlaPolicy",
    "Status",
    "Step",
    "apply_event",
    "check_event",
    "is_overdue",
    "overdue_stages",
    "replay",
    "sla_breaches",
    "trace",
]


@dataclass(frozen=True)
class Step:
    """One event of a replay: applied, or skipped with the reason."""

    event: IncidentEvent
    applied: bool
    reason: str | None = None


@dataclass(frozen=True)
class Replay:
    """A history replayed by event time. ``record`` is None when nothing was reported."""

    record: IncidentRecord | None
    steps: tuple[Step, ...]
    duplicates: tuple[IncidentEvent, ...] = ()

    @property
    def skipped(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if not s.applied)

    def step_of(self, event_id: str) -> Step | None:
        return next((s for s in self.steps if s.event.event_id == event_id), None)


def trace(events: Iterable[IncidentEvent], policy: SlaPolicy = DEFAULT_SLA) -> Replay:
    """Replay ``events`` (given in arrival order) by ``(ts, arrival order)``.

    Raises :class:`InvalidEventError` if the events belong to different incidents.
    """
    seen: set[str] = set()
    unique: list[IncidentEvent] = []
    duplicates: list[IncidentEvent] = []
    for e in events:
        if e.event_id in seen:
            duplicates.append(e)
        else:
            seen.add(e.event_id)
            unique.append(e)
    if unique:
        key = (unique[0].community_id, unique[0].incident_id)
        for e in unique:
            if (e.community_id, e.incident_id) != key:
                raise InvalidEventError(
                    f"event {e.event_id!r} is for incident {e.community_id}/{e.incident_id},"
                    f" not {key[0]}/{key[1]}"
                )
    # sorted() is stable: equal timestamps keep their arrival order.
    ordered = sorted(unique, key=lambda e: e.ts)
    record: IncidentRecord | None = None
    steps: list[Step] = []
    for e in ordered:
        try:
            record = apply_event(record, e, policy)
        except InvalidTransitionError as refused:
            steps.append(Step(e, applied=False, reason=str(refused)))
        else:
            steps.append(Step(e, applied=True))
    return Replay(record=record, steps=tuple(steps), duplicates=tuple(duplicates))


def replay(events: Iterable[IncidentEvent], policy: SlaPolicy = DEFAULT_SLA) -> IncidentRecord:
    """The incident that ``events`` describe; skipped events leave no trace in it.

    Raises :class:`NotReportedError` when no ``reported`` event applies.
    """
    result = trace(events, policy)
    if result.record is None:
        n = len(result.steps)
        raise NotReportedError(f"no applicable 'reported' event among {n} event(s)")
    return result.record


@dataclass(frozen=True)
class Duplicate:
    """``event``'s id is already stored; ``identical`` is False when the contents differ
    (an id reused by a faulty sender, worth logging; the stored event stands)."""

    event: IncidentEvent
    existing: IncidentEvent

    @property
    def identical(self) -> bool:
        return self.event == self.existing


@dataclass(frozen=True)
class Applied:
    """``event`` applies at its time position; ``record`` is the incident after it.

    ``newly_skipped``: stored events it made inapplicable (e.g. a ``cancelled``
    dated before a stored ``accepted``). ``newly_applied``: stored events that
    were waiting for it (e.g. an early-delivered ``accepted``).
    """

    event: IncidentEvent
    record: IncidentRecord
    newly_skipped: tuple[Step, ...] = ()
    newly_applied: tuple[IncidentEvent, ...] = ()


@dataclass(frozen=True)
class Rejected:
    """``event`` is refused at its time position; ``reason`` names status and event."""

    event: IncidentEvent
    reason: str
    record: IncidentRecord | None = None


Outcome = Duplicate | Applied | Rejected


def check_event(
    stored: Sequence[IncidentEvent], new: IncidentEvent, policy: SlaPolicy = DEFAULT_SLA
) -> Outcome:
    """What happens when ``new`` joins the incident's ``stored`` events (arrival order).

    ``stored`` may include events that are currently skipped. Raises
    :class:`InvalidEventError` only for a caller error: ``new`` belongs to another
    incident than ``stored``.
    """
    for e in stored:
        if e.event_id == new.event_id:
            return Duplicate(event=new, existing=e)
    after = trace([*stored, new], policy)
    step = after.step_of(new.event_id)
    assert step is not None  # new is not a duplicate, so it was replayed
    if not step.applied:
        return Rejected(event=new, reason=step.reason or "refused", record=after.record)
    assert after.record is not None  # new was applied, so an incident exists
    before = trace(stored, policy)
    was_applied = {s.event.event_id for s in before.steps if s.applied}
    now_applied = {s.event.event_id for s in after.steps if s.applied}
    return Applied(
        event=new,
        record=after.record,
        newly_skipped=tuple(s for s in after.skipped if s.event.event_id in was_applied),
        newly_applied=tuple(
            s.event
            for s in after.steps
            if s.event.event_id in now_applied - was_applied and s.event is not new
        ),
    )
