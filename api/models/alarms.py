from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.models.common import ApiModel
from api.status import Severity

AlarmState = Literal["active_unack", "active_ack", "cleared"]


class AlarmPublic(ApiModel):
    id: int
    device: str
    rule: str
    metric: str | None
    severity: Severity
    state: AlarmState
    message: str | None
    value: float | None
    raised_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    building: str | None
    storey: int | None
    unit: str | None
    grid: str | None
    incident: str | None


class AlarmsPublic(ApiModel):
    count: int
    data: list[AlarmPublic]


class AlarmAck(ApiModel):
    """Optional body of an acknowledgement."""

    by: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00]*$")
    note: str | None = Field(default=None, max_length=2000, pattern=r"^[^\x00]*$")
