"""Incidents: list items, one incident with its timeline, and the bodies apps POST.

Request bodies mirror the MQTT incident event (``schemas/mqtt/incident_event.json``):
the API publishes them there, so an app using HTTP and one using MQTT go
through the same path and rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from api.models.common import ApiModel
from api.models.live import IncidentStatus, Priority
from api.params import IsoDatetime

# The wire contract's id pattern (incident ids, event ids, building ids).
WIRE_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
WireId = Annotated[str, Field(pattern=WIRE_ID, examples=["r-1024"])]
Text = Annotated[str, Field(max_length=10_000, pattern=r"^[^\x00]*$")]
Finite = Annotated[float, Field(allow_inf_nan=False)]
TransitionType = Literal["dispatched", "accepted", "resolved", "closed", "reopened", "cancelled"]


class IncidentPublic(ApiModel):
    id: str
    status: IncidentStatus
    category: str | None
    priority: str
    title: str | None
    description: str | None
    reporter: str | None
    assignee: str | None
    grid: str | None
    building: str | None
    storey: int | None
    unit: str | None
    x: float | None
    y: float | None
    z: float | None
    alarm_id: int | None
    reported_at: datetime
    dispatched_at: datetime | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    respond_due_at: datetime | None
    resolve_due_at: datetime | None
    escalated_at: datetime | None
    reopen_count: int
    satisfaction: int | None
    overdue: bool = Field(description="past a deadline it has not met, now")
    escalated: bool
    updated_at: datetime


class IncidentsPublic(ApiModel):
    count: int = Field(description="incidents matching the filters (all pages)")
    data: list[IncidentPublic]


class IncidentEventPublic(ApiModel):
    """One stored event; ``applied`` false: the state machine skipped it (``reason``)."""

    event_id: str
    type: str
    ts: datetime
    received_at: datetime
    source: str
    actor: str | None
    assignee: str | None
    note: str | None
    data: dict[str, object]
    applied: bool | None = Field(description="null when the stored row is not a valid event")
    reason: str | None


class IncidentDetail(IncidentPublic):
    events: list[IncidentEventPublic] = Field(description="the timeline, by event time")


class IncidentPending(ApiModel):
    """202: published to the broker; the ingestor had not committed it in time."""

    incident: str
    event_id: str
    detail: str


class UnitPlace(ApiModel):
    building: WireId
    storey: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    unit: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")] | None = None


class LocalPoint(ApiModel):
    """Community-local metres: x east, y north, z up."""

    x: Finite
    y: Finite
    z: Finite | None = None


class GeoPoint(ApiModel):
    """WGS 84; converted to the community's frame by the ingestor."""

    lon: Annotated[float, Field(ge=-180, le=180)]
    lat: Annotated[float, Field(ge=-90, le=90)]
    alt: Finite | None = None


Location = UnitPlace | LocalPoint | GeoPoint


class IncidentReport(ApiModel):
    """A resident's report. ``id`` and ``event_id`` are generated when left out;
    ``ts`` defaults to now; without ``assignee`` the grid's worker is dispatched."""

    id: WireId | None = None
    event_id: WireId | None = None
    ts: IsoDatetime | None = None
    category: Text | None = None
    priority: Priority | None = None
    title: Text | None = None
    description: Text | None = None
    reporter: Text | None = None
    assignee: Text | None = None
    note: Text | None = None
    location: Location | None = None


class IncidentEventIn(ApiModel):
    """A step of the closed loop; ``satisfaction`` (1–5) only on ``closed``."""

    type: TransitionType
    event_id: WireId | None = None
    ts: IsoDatetime | None = None
    assignee: Text | None = None
    note: Text | None = None
    category: Text | None = None
    priority: Priority | None = None
    title: Text | None = None
    description: Text | None = None
    location: Location | None = None
    satisfaction: Annotated[int, Field(ge=1, le=5)] | None = None
