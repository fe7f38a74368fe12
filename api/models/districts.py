"""Districts and their overview (``twin.live.district``), as OpenAPI documents them.

The overview route serves pre-serialised bytes; these models are the
contract those bytes follow, checked by the tests.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.models.common import ApiModel
from api.models.live import AlarmsBySeverity
from api.status import Status


class DistrictPublic(ApiModel):
    id: str
    name: str
    communities: int


class DistrictsPublic(ApiModel):
    count: int
    data: list[DistrictPublic]


class StatusCounts(ApiModel):
    alarm: int
    warning: int
    offline: int
    normal: int


class DistrictTotals(ApiModel):
    communities: int
    devices_total: int
    devices_online: int
    alarms_active: AlarmsBySeverity
    incidents_open: int
    incidents_overdue: int
    closed_loop_rate_today: float | None = Field(
        ge=0, le=1, description="closed ÷ (reported − cancelled), incidents of every member"
    )
    closed_loop_rate_30d: float | None = Field(ge=0, le=1)
    by_status: StatusCounts


class DistrictCommunity(ApiModel):
    id: str
    name: str
    rank: int = Field(ge=1, description="1 needs attention first (docs/api.md, Districts)")
    status: Status = Field(description="worst of device/alarm status and governance")
    devices_total: int
    devices_online: int
    devices_offline: int
    alarms_active: AlarmsBySeverity
    incidents_open: int
    incidents_overdue: int
    closed_loop_rate_today: float | None = Field(ge=0, le=1)
    closed_loop_rate_30d: float | None = Field(ge=0, le=1)
    lon: float | None = Field(description="WGS 84 longitude of the community's local origin")
    lat: float | None
    version: int = Field(description="the version (ETag) of the community's /live")
    cockpit: str = Field(description="path of the community's cockpit page")


class DistrictOverview(ApiModel):
    district: str
    name: str
    etag: str = Field(description="the same as the ETag header")
    generated_at: datetime
    totals: DistrictTotals
    communities: list[DistrictCommunity] = Field(description="in ranking order")
