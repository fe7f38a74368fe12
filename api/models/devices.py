from __future__ import annotations

from datetime import datetime

from api.models.common import ApiModel


class LatestValue(ApiModel):
    value: float
    ts: datetime


class DevicePublic(ApiModel):
    id: str
    kind: str | None
    metrics: list[str]
    building: str | None
    storey: int | None
    unit: str | None
    x: float | None
    y: float | None
    z: float | None
    grid: str | None
    mobile: bool
    modelled: bool
    online: bool | None
    battery: float | None
    rssi: float | None
    status_at: datetime | None
    last_seen: datetime | None


class DeviceDetailPublic(DevicePublic):
    # Latest value per metric, within the configured look-back.
    latest: dict[str, LatestValue]


class DevicesPublic(ApiModel):
    count: int  # matching devices in total (data holds one page)
    data: list[DevicePublic]
