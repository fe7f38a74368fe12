"""A community written back as one self-contained model file.

Geometry that came from referenced CityJSON/GeoJSON files is inlined (the
database keeps the buildings, not the files), storeys are written explicitly,
and :func:`twin.community.file.community_from_json` reads the result back into
an equal :class:`~twin.model.community.Community`.
"""

from __future__ import annotations

from typing import Any

from twin.geometry.geojson import footprint_to_geojson
from twin.model.community import Building, Community, Device, Grid
from twin.model.households import household_to_json
from twin.services.file import services_to_json


def community_to_json(community: Community) -> dict[str, Any]:
    """The model file of a community: self-contained, reads back into an equal Community."""
    out: dict[str, Any] = {
        "id": community.id,
        "name": community.name,
        "crs": community.crs,
        "offset": list(community.offset),
        "storey_height": community.storey_height,
        "buildings": [building_to_json(b) for b in community.buildings],
        "grids": [_grid_to_json(g) for g in community.grids],
        "devices": [device_to_json(d) for d in community.devices],
    }
    if community.attributes:
        out["attributes"] = dict(community.attributes)
    out.update(services_to_json(community))
    return out


def building_to_json(b: Building) -> dict[str, Any]:
    out: dict[str, Any] = {"id": b.id}
    if b.name is not None:
        out["name"] = b.name
    out.update(
        footprint=footprint_to_geojson(b.footprint),
        ground_z=b.ground_z,
        roof_z=b.roof_z,
        storeys=[
            _drop_none(index=s.index, floor_z=s.floor_z, height=s.height, name=s.name)
            for s in b.storeys
        ],
    )
    if b.units:
        out["units"] = [
            _drop_none(
                id=u.id,
                storey=u.storey,
                name=u.name,
                footprint=footprint_to_geojson(u.footprint) if u.footprint is not None else None,
                attributes=dict(u.attributes) or None,
                household=household_to_json(u.household) if u.household is not None else None,
            )
            for u in b.units
        ]
    if b.flags:
        out["flags"] = list(b.flags)
    if b.attributes:
        out["attributes"] = dict(b.attributes)
    return out


def device_to_json(d: Device) -> dict[str, Any]:
    p = d.placement
    position = None
    if p.position is not None:
        position = _drop_none(x=p.position.x, y=p.position.y, z=p.position.z)
    return _drop_none(
        id=d.id,
        kind=d.kind,
        metrics=list(d.metrics),
        building=p.building,
        storey=p.storey,
        unit=p.unit,
        position=position,
        mobile=d.mobile or None,
        name=d.name,
        attributes=dict(d.attributes) or None,
    )


def _grid_to_json(g: Grid) -> dict[str, Any]:
    return _drop_none(
        id=g.id,
        name=g.name,
        polygon=footprint_to_geojson(g.polygon),
        worker=g.worker,
        worker_name=g.worker_name,
    )


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}
