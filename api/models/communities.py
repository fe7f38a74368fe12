from __future__ import annotations

from api.models.common import ApiModel


class CommunityCounts(ApiModel):
    buildings: int
    devices: int
    devices_online: int
    alarms_active: int


class CommunityPublic(ApiModel):
    id: str
    name: str
    crs: str
    offset: tuple[float, float, float]
    counts: CommunityCounts


class CommunitiesPublic(ApiModel):
    count: int
    data: list[CommunityPublic]
