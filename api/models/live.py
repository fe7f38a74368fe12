"""The ``/live`` snapshot (docs/DESIGN.md) and the ``/stream`` events, as OpenAPI documents them.

The route serves pre-serialised bytes (rendered by ``twin.live.state``); these
models are the contract those bytes follow, checked by the tests and by the
schemathesis run against every response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.models.common import ApiModel
from api.status import Severity, Status

IncidentStatus = Literal["reported", "dispatched", "accepted", "resolved", "closed", "cancelled"]
Priority = Literal["low", "normal", "high", "critical"]


class Scenes(ApiModel):
    """Status per cockpit scene; governance: ``alarm`` with an overdue incident,
    ``warning`` with an open one."""

    safety: Status
    elderly: Status
    energy: Status
    traffic: Status
    governance: Status


class NodeStatus(ApiModel):
    status: Status
    worst_severity: Severity | None
    devices_total: int
    devices_online: int
    alarms_active: int
    incidents_open: int
    scenes: Scenes


class LiveStorey(NodeStatus):
    index: int


class LiveBuilding(NodeStatus):
    id: str
    storeys: list[LiveStorey]


class AlarmsBySeverity(ApiModel):
    critical: int
    major: int
    minor: int
    warning: int


class LiveKpis(ApiModel):
    devices_total: int
    devices_online: int
    alarms_active: AlarmsBySeverity
    incidents_open: int
    incidents_overdue: int
    closed_loop_rate: float | None = Field(
        description="closed ÷ (reported − cancelled) over the last 30 days, 0–1", ge=0, le=1
    )
    closed_loop_rate_today: float | None = Field(ge=0, le=1)
    closed_loop_rate_30d: float | None = Field(ge=0, le=1)


class LiveAlarm(ApiModel):
    id: int
    device: str
    kind: str | None
    rule: str
    severity: Severity
    state: Literal["active_unack", "active_ack", "cleared"]
    message: str | None
    value: float | None
    raised_at: datetime
    building: str | None
    storey: int | None
    unit: str | None
    grid: str | None
    incident: str | None


class LiveIncident(ApiModel):
    id: str
    status: IncidentStatus
    category: str | None
    priority: str
    title: str | None
    assignee: str | None
    grid: str | None
    building: str | None
    storey: int | None
    unit: str | None
    x: float | None
    y: float | None
    z: float | None
    reported_at: datetime
    respond_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool
    escalated: bool


class LiveSnapshot(ApiModel):
    """The whole cockpit state of one community; ``version`` is the ETag."""

    community: str
    name: str
    version: int = Field(description="change-log sequence this state reflects (the ETag)")
    model_version: int | None = Field(
        description="change-log sequence of the latest model import kept in the log; "
        "reload buildings when it changes"
    )
    generated_at: datetime
    last_update: datetime | None
    kpis: LiveKpis
    buildings: list[LiveBuilding]
    alarms: list[LiveAlarm] = Field(description="active alarms, worst first, then newest")
    incidents: list[LiveIncident] = Field(description="open incidents, newest first")


class LiveDevice(ApiModel):
    id: str
    kind: str | None
    building: str | None
    storey: int | None
    unit: str | None
    grid: str | None
    online: bool | None


class ChangeEvent(ApiModel):
    """``data`` of a ``device``, ``alarm``, ``incident`` or ``community`` event: the
    change-log row and the object's current state (null when it is gone)."""

    seq: int
    at: datetime | None
    community: str
    kind: Literal["device", "alarm", "incident", "community"]
    ref: str
    change: dict[str, object]
    device: LiveDevice | None = None
    alarm: LiveAlarm | None = None
    incident: LiveIncident | None = None


class VersionEvent(ApiModel):
    """``data`` of a ``version`` event: ``/live`` now answers this ETag."""

    version: int
    etag: str


class ResetEvent(ApiModel):
    """``data`` of a ``reset`` event: changes were missed, refetch ``/live``."""

    reason: str
    version: int
