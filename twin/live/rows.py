"""The rows the live state is built from: plain frozen dataclasses the API fills
from the database (a rebuild) or from change-log rows (an update).

Times are timezone-aware datetimes; the snapshot prints them in UTC with a Z.

>>> from datetime import datetime, timedelta, timezone
>>> iso(datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)), iso(None)
('2026-11-28T10:00:00Z', None)
>>> iso(datetime(2026, 11, 28, 18, 0, 0, 250000, tzinfo=timezone(timedelta(hours=8))))
'2026-11-28T10:00:00.250Z'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

ACTIVE_ALARM_STATES = frozenset({"active_unack", "active_ack"})
ALARM_STATES = ACTIVE_ALARM_STATES | {"cleared"}
OPEN_INCIDENT_STATUSES = frozenset({"reported", "dispatched", "accepted", "resolved"})
INCIDENT_STATUSES = OPEN_INCIDENT_STATUSES | {"closed", "cancelled"}


def iso(at: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z; milliseconds only when there are any."""
    if at is None:
        return None
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: the live state needs aware times")
    utc = at.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class BuildingLayout:
    id: str
    storeys: tuple[int, ...]  # storey indexes (1 = ground floor, -1 = first basement)
    name: str | None = None


@dataclass(frozen=True)
class CommunityLayout:
    """What the live state needs of the community model: buildings and storeys."""

    id: str
    name: str
    buildings: tuple[BuildingLayout, ...] = ()

    @classmethod
    def from_mapping(
        cls, id: str, name: str, storeys: Mapping[str, list[int] | tuple[int, ...]]
    ) -> CommunityLayout:
        """From ``{building id: [storey indexes]}`` (buildings in mapping order)."""
        return cls(id, name, tuple(BuildingLayout(b, tuple(s)) for b, s in storeys.items()))


@dataclass(frozen=True)
class DeviceState:
    """A device's place (a mobile device's current located place, else its home),
    online state (None = never reported) and latest values."""

    id: str
    kind: str | None = None
    building: str | None = None
    storey: int | None = None
    unit: str | None = None
    grid: str | None = None
    online: bool | None = None
    last_seen: datetime | None = None
    values: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}), hash=False)


@dataclass(frozen=True)
class AlarmState:
    """A row of ``alarms``; ``kind`` is the device's kind (it picks the scene)."""

    id: int
    device: str
    kind: str | None
    rule: str
    severity: str
    state: str  # active_unack | active_ack | cleared
    raised_at: datetime
    message: str | None = None
    value: float | None = None
    building: str | None = None
    storey: int | None = None
    unit: str | None = None
    grid: str | None = None
    incident: str | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_ALARM_STATES


@dataclass(frozen=True)
class IncidentState:
    """A row of ``incidents``. ``accepted_at`` says whether it was ever responded to
    (a reopened incident has been); ``escalated`` is ``escalated_at IS NOT NULL``."""

    id: str
    status: str
    reported_at: datetime
    category: str | None = None
    priority: str = "normal"
    title: str | None = None
    assignee: str | None = None
    grid: str | None = None
    building: str | None = None
    storey: int | None = None
    unit: str | None = None
    x: float | None = None
    y: float | None = None
    z: float | None = None
    respond_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    accepted_at: datetime | None = None
    escalated: bool = False

    @property
    def open(self) -> bool:
        return self.status in OPEN_INCIDENT_STATUSES

    def overdue(self, now: datetime) -> bool:
        """Past its respond deadline and never accepted, or past its resolve deadline
        and not resolved (the rule of `twin.incidents.record.overdue_stages`)."""
        if not self.open:
            return False
        if (
            self.accepted_at is None
            and self.respond_due_at is not None
            and now > self.respond_due_at
        ):
            return True
        return (
            self.status != "resolved"
            and self.resolve_due_at is not None
            and now > self.resolve_due_at
        )


@dataclass(frozen=True)
class ClosedLoop:
    """Closed-loop rates (0-1) computed elsewhere (incident KPIs); None = no data."""

    rate: float | None = None
    rate_today: float | None = None
    rate_30d: float | None = None
