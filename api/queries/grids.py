"""Grids (the areas grid workers are responsible for) as GeoJSON in WGS 84."""

from __future__ import annotations

from api.db import Conn, fetch_all
from api.geo import to_wgs84
from api.models.grids import GridCollection, GridFeature, GridProperties
from api.queries.buildings import geometry
from twin.crs import Frame

_GRIDS = """
SELECT g.id, g.name, g.polygon, g.worker, g.worker_name,
       (SELECT count(*) FROM devices d
         WHERE d.community_id = g.community_id AND d.grid_id = g.id) AS devices_total
FROM grids g WHERE g.community_id = %(c)s ORDER BY g.id"""


async def grid_collection(conn: Conn, community: str, frame: Frame) -> GridCollection:
    features = [
        GridFeature(
            type="Feature",
            id=r["id"],
            geometry=geometry(to_wgs84(frame, r["polygon"])),
            properties=GridProperties(
                id=r["id"],
                name=r["name"],
                worker=r["worker"],
                worker_name=r["worker_name"],
                devices_total=r["devices_total"],
            ),
        )
        for r in await fetch_all(conn, _GRIDS, {"c": community})
    ]
    return GridCollection(type="FeatureCollection", community=community, features=features)
