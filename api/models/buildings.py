from __future__ import annotations

from typing import Literal

from api.models.common import ApiModel
from api.models.devices import DeviceDetailPublic
from api.status import Severity, Status


class StatusCounts(ApiModel):
    status: Status
    worst_severity: Severity | None
    devices_total: int
    devices_online: int
    alarms_active: int


class StoreyPublic(StatusCounts):
    index: int
    name: str | None
    floor_z: float
    height: float


class Polygon(ApiModel):
    type: Literal["Polygon"]
    coordinates: list[list[list[float]]]


class MultiPolygon(ApiModel):
    type: Literal["MultiPolygon"]
    coordinates: list[list[list[list[float]]]]


class BuildingProperties(StatusCounts):
    id: str
    name: str | None
    ground_z: float
    roof_z: float
    height: float
    storey_count: int  # storeys above ground
    storeys: list[StoreyPublic]
    flags: list[str]


class BuildingFeature(ApiModel):
    type: Literal["Feature"]
    id: str
    geometry: Polygon | MultiPolygon
    properties: BuildingProperties


class BuildingCollection(ApiModel):
    """GeoJSON FeatureCollection, coordinates in WGS 84 longitude/latitude."""

    type: Literal["FeatureCollection"]
    community: str
    version: int  # the /live version whose status the features carry
    features: list[BuildingFeature]


class UnitPublic(ApiModel):
    id: str
    name: str | None


class StoreyDetailPublic(StoreyPublic):
    units: list[UnitPublic]


class BuildingDetailPublic(StatusCounts):
    id: str
    name: str | None
    ground_z: float
    roof_z: float
    height: float
    # In the community's local metres (x east, y north), as stored.
    footprint: Polygon | MultiPolygon
    flags: list[str]
    storeys: list[StoreyDetailPublic]
    devices: list[DeviceDetailPublic]
    version: int  # the /live version whose status this carries
