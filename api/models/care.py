"""The elderly scene's figures (``GET …/scenes/care``): counts, never readings."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.models.common import ApiModel


class CareHouseholds(ApiModel):
    known: int = Field(description="homes whose household the model describes")
    care_homes: int = Field(description="elderly (60+) or with a care level: baseline watched")
    living_alone_checked: int = Field(description="care homes living alone: daily check")
    checked_with_devices: int = Field(description="of those, homes with an activity device")
    by_age_band: dict[str, int]
    by_care_level: list[int] = Field(description="homes per GB/T 42195 level 0-4")


class CareAlarmCount(ApiModel):
    active: int
    raised_24h: int


class CareIncidentCount(ApiModel):
    open: int
    reported_30d: int
    closed_30d: int


class QuietHome(ApiModel):
    alarm: int
    building: str | None
    storey: int | None
    unit: str | None
    grid: str | None
    raised_at: datetime
    incident: str | None
    incident_status: str | None


class CareSummary(ApiModel):
    community: str
    households: CareHouseholds
    alarms: dict[str, CareAlarmCount] = Field(
        description="per rule family: care_check, care_anomaly, fall, sos, heart_rate,"
        " body_temperature"
    )
    incidents: dict[str, CareIncidentCount] = Field(description="care_check, fall, sos")
    quiet_homes: list[QuietHome] = Field(
        description="homes with an active care_check, oldest first"
    )
