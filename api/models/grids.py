from __future__ import annotations

from typing import Literal

from api.models.buildings import MultiPolygon, Polygon
from api.models.common import ApiModel


class GridProperties(ApiModel):
    id: str
    name: str | None
    worker: str | None  # the responsible grid worker's id
    worker_name: str | None
    devices_total: int


class GridFeature(ApiModel):
    type: Literal["Feature"]
    id: str
    geometry: Polygon | MultiPolygon
    properties: GridProperties


class GridCollection(ApiModel):
    """GeoJSON FeatureCollection of a community's grids, in WGS 84."""

    type: Literal["FeatureCollection"]
    community: str
    features: list[GridFeature]
