from __future__ import annotations

from typing import Literal

from api.models.buildings import MultiPolygon, Polygon, StatusCounts
from api.models.common import ApiModel


class GridProperties(StatusCounts):
    """A grid, with the status of its devices and active alarms as ``/live`` holds them."""

    id: str
    name: str | None
    worker: str | None  # the responsible grid worker's id
    worker_name: str | None


class GridFeature(ApiModel):
    type: Literal["Feature"]
    id: str
    geometry: Polygon | MultiPolygon
    properties: GridProperties


class GridCollection(ApiModel):
    """GeoJSON FeatureCollection of a community's grids, in WGS 84."""

    type: Literal["FeatureCollection"]
    community: str
    version: int  # the /live version whose status the features carry
    features: list[GridFeature]
