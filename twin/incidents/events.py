"""The vocabulary of the incident closed loop: statuses, event types, events, errors.

An incident's history is a set of :class:`IncidentEvent`; its current state is
the replay of those events by event time (``twin.incidents.replay``). Events are
validated here, once, when they are built: a malformed event raises
:class:`InvalidEventError` with a reason naming the field.

>>> from datetime import datetime, timezone
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> e = IncidentEvent("lanting", "r-1", "e1", EventType.CLOSED, t, satisfaction=5)
>>> e.type, e.satisfaction
(<EventType.CLOSED: 'closed'>, 5)
>>> IncidentEvent("lanting", "r-1", "e2", EventType.ACCEPTED, t, satisfaction=5)
Traceback (most recent call last):
...
twin.incidents.events.InvalidEventError: satisfaction is only allowed on 'closed' events
>>> parse_event_type("closing")
Traceback (most recent call last):
...
twin.incidents.events.InvalidEventError: unknown incident event type 'closing' (known: reported, \
dispatched, accepted, resolved, closed, reopened, cancelled, escalated, noted)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class IncidentError(ValueError):
    """Base of every incident error: bad events, refused transitions, bad SLA config."""


class InvalidEventError(IncidentError):
    """An event that is malformed on its own, whatever the incident's state."""


class InvalidTransitionError(IncidentError):
    """An event that the incident's status at the event's time does not allow.

    The message names both the status and the event type, e.g.
    ``cannot apply 'closed' to an incident in status 'reported'``.
    """

    def __init__(self, status: Status | None, event_type: EventType, why: str = "") -> None:
        self.status = status
        self.event_type = event_type
        if status is None:
            text = f"cannot apply '{event_type}' to an incident that has not been reported"
        else:
            text = f"cannot apply '{event_type}' to an incident in status '{status}'"
        super().__init__(f"{text}: {why}" if why else text)


class NotReportedError(IncidentError):
    """A history without any applicable ``reported`` event: there is no incident."""


class SlaConfigError(IncidentError):
    """An SLA configuration that does not validate; the message names the key."""


class Status(StrEnum):
    REPORTED = "reported"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class EventType(StrEnum):
    """The wire contract's types; ``escalated`` and ``noted`` never change the status.

    ``escalated`` is an annotation: commtwin's own (source ``auto``, stage
    ``respond`` or ``resolve``, from ``twin.incidents.escalation``) or a person's
    (stage ``manual``, a worker or the office asking for attention). ``noted``
    carries a worker's note (required) on an open incident.
    """

    REPORTED = "reported"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"
    ESCALATED = "escalated"
    NOTED = "noted"


WIRE_EVENT_TYPES: tuple[EventType, ...] = tuple(EventType)
# Types that never change an incident's status (annotations).
ANNOTATIONS: frozenset[EventType] = frozenset({EventType.ESCALATED, EventType.NOTED})
OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.REPORTED, Status.DISPATCHED, Status.ACCEPTED, Status.RESOLVED}
)
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "critical")
SOURCES: tuple[str, ...] = ("mqtt", "api", "auto")
ESCALATION_STAGES: tuple[str, ...] = ("respond", "resolve")  # commtwin's, against the SLA
MANUAL_STAGE = "manual"  # a person's escalation

# The wire contract's id patterns (issue 3); derived ids like "alarm-17" fit.
COMMUNITY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
INCIDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MAX_EVENT_ID = 200
MAX_TEXT = 10_000


def parse_event_type(value: object) -> EventType:
    """The :class:`EventType` named ``value``, or :class:`InvalidEventError` naming it."""
    if isinstance(value, str):
        try:
            return EventType(value)
        except ValueError:
            pass
    known = ", ".join(t.value for t in EventType)
    raise InvalidEventError(f"unknown incident event type {value!r} (known: {known})")


@dataclass(frozen=True)
class Location:
    """Where an incident is, in the community's local frame (metres).

    Any subset may be known: a unit address (building, storey, unit), local
    coordinates, and the grid found by locating either (``twin.geometry.locate``).
    WGS 84 positions are converted to local coordinates before they get here.
    """

    building: str | None = None
    storey: int | None = None
    unit: str | None = None
    x: float | None = None
    y: float | None = None
    z: float | None = None
    grid: str | None = None

    def __post_init__(self) -> None:
        if self.building is None and (self.storey is not None or self.unit is not None):
            raise InvalidEventError("location: storey and unit need a building")
        if (self.x is None) != (self.y is None):
            raise InvalidEventError("location: x and y go together")
        if self.z is not None and self.x is None:
            raise InvalidEventError("location: z needs x and y")
        for name in ("x", "y", "z"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int | float) or isinstance(v, bool)):
                raise InvalidEventError(f"location: {name} must be a finite number")
            if v is not None and not math.isfinite(v):
                raise InvalidEventError(f"location: {name} must be a finite number")
        if self.storey is not None and (
            not isinstance(self.storey, int) or isinstance(self.storey, bool) or self.storey == 0
        ):
            # Storeys count 1 = ground floor, -1 = first basement: there is no 0.
            raise InvalidEventError("location: storey must be a non-zero integer")
        for name in ("building", "unit", "grid"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, str) and v):
                raise InvalidEventError(f"location: {name} must be a non-empty string")


@dataclass(frozen=True)
class IncidentEvent:
    """One event of an incident's history, as stored in ``incident_events``.

    ``ts`` is the event time (timezone-aware); replay orders by it. Optional
    descriptive fields (category, priority, title, description, location) set
    the incident on ``reported`` and amend it when a later event carries them.
    ``satisfaction`` (1–5) is only allowed on ``closed``; ``alarm_id`` only on
    ``reported``; ``stage`` only, and always, on ``escalated`` (``respond`` |
    ``resolve`` from commtwin, source ``auto``; ``manual`` from anyone else);
    ``note`` always on ``noted``.
    """

    community_id: str
    incident_id: str
    event_id: str
    type: EventType
    ts: datetime
    source: str = "mqtt"
    actor: str | None = None
    category: str | None = None
    priority: str | None = None
    title: str | None = None
    description: str | None = None
    reporter: str | None = None
    assignee: str | None = None
    note: str | None = None
    location: Location | None = None
    satisfaction: int | None = None
    alarm_id: int | None = None
    stage: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.type, EventType):
            raise InvalidEventError(f"type must be an EventType, got {self.type!r}")
        if not (isinstance(self.community_id, str) and COMMUNITY_ID.match(self.community_id)):
            raise InvalidEventError(f"malformed community id {self.community_id!r}")
        if not (isinstance(self.incident_id, str) and INCIDENT_ID.match(self.incident_id)):
            raise InvalidEventError(f"malformed incident id {self.incident_id!r}")
        if not (isinstance(self.event_id, str) and 0 < len(self.event_id) <= MAX_EVENT_ID):
            raise InvalidEventError(f"event_id must be 1 to {MAX_EVENT_ID} characters")
        if not isinstance(self.ts, datetime) or self.ts.utcoffset() is None:
            raise InvalidEventError("ts must be a timezone-aware datetime")
        if self.source not in SOURCES:
            known = ", ".join(SOURCES)
            raise InvalidEventError(f"source must be one of {known}, got {self.source!r}")
        if self.priority is not None and self.priority not in PRIORITIES:
            raise InvalidEventError(
                f"priority must be one of {', '.join(PRIORITIES)}, got {self.priority!r}"
            )
        self._check_texts()
        self._check_type_specific_fields()

    def _check_texts(self) -> None:
        for name in ("actor", "category", "title", "description", "reporter", "assignee", "note"):
            v = getattr(self, name)
            if v is None:
                continue
            if not isinstance(v, str):
                raise InvalidEventError(f"{name} must be a string when given")
            if not v.strip():
                # Apps send "" for an empty form field: that is no value, not
                # a reason to refuse a resident's report.
                object.__setattr__(self, name, None)
                continue
            if len(v) > MAX_TEXT:
                raise InvalidEventError(f"{name} is longer than {MAX_TEXT} characters")

    def _check_type_specific_fields(self) -> None:
        if self.satisfaction is not None:
            if self.type != EventType.CLOSED:
                raise InvalidEventError("satisfaction is only allowed on 'closed' events")
            s = self.satisfaction
            if not isinstance(s, int) or isinstance(s, bool) or not 1 <= s <= 5:
                raise InvalidEventError(
                    f"satisfaction must be an integer from 1 to 5, got {self.satisfaction!r}"
                )
        if self.alarm_id is not None:
            if self.type != EventType.REPORTED:
                raise InvalidEventError("alarm_id is only allowed on 'reported' events")
            if not isinstance(self.alarm_id, int) or isinstance(self.alarm_id, bool):
                raise InvalidEventError(f"alarm_id must be an integer, got {self.alarm_id!r}")
        if self.type == EventType.ESCALATED:
            if self.source == "auto" and self.stage not in ESCALATION_STAGES:
                raise InvalidEventError(
                    f"an 'escalated' event needs stage respond or resolve, got {self.stage!r}"
                )
            if self.source != "auto" and self.stage != MANUAL_STAGE:
                # The SLA stages are commtwin's own judgement against its clock;
                # a client may only ask for attention (stage manual).
                raise InvalidEventError(
                    f"a person's 'escalated' event has stage {MANUAL_STAGE!r}, got {self.stage!r}"
                )
        elif self.stage is not None:
            raise InvalidEventError("stage is only allowed on 'escalated' events")
        if self.type == EventType.NOTED and self.note is None:
            raise InvalidEventError("a 'noted' event needs a note")

    @property
    def location_fields(self) -> dict[str, Any]:
        """The location as ``incidents`` column names (empty when none is carried)."""
        loc = self.location
        if loc is None:
            return {}
        return {
            "building_id": loc.building,
            "storey_idx": loc.storey,
            "unit_id": loc.unit,
            "grid_id": loc.grid,
            "x": loc.x,
            "y": loc.y,
            "z": loc.z,
        }
