"""The small map of a person's community: footprints and grids, no personal data."""

from __future__ import annotations

from api.models.buildings import MultiPolygon, Polygon
from api.models.common import ApiModel


class MapBuilding(ApiModel):
    id: str
    name: str | None
    storeys: int
    footprint: Polygon | MultiPolygon


class MapGrid(ApiModel):
    id: str
    name: str | None
    polygon: Polygon | MultiPolygon


class MapHome(ApiModel):
    """A resident's own home, to default a report's place to."""

    building: str
    storey: int | None
    unit: str
    unit_name: str | None


class CommunityMap(ApiModel):
    """Community-local metres (x east, y north), as the model stores them."""

    community: str
    name: str | None
    buildings: list[MapBuilding]
    grids: list[MapGrid]
    home: MapHome | None
