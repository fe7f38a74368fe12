"""Grids (the areas grid workers are responsible for) as GeoJSON in WGS 84.

Each grid's status counts come from the community's in-memory live state (the
one ``/live`` renders), taken at one version, like ``/buildings``.
"""

from __future__ import annotations

from api.db import Conn, fetch_all
from api.geo import to_wgs84
from api.live.document import CommunityLive
from api.models.grids import GridCollection, GridFeature, GridProperties
from api.queries.buildings import geometry
from twin.live.grids import GridCounts, grid_counts
from twin.model.crs import Frame

_GRIDS = """
SELECT g.id, g.name, g.polygon, g.worker, g.worker_name
FROM grids g WHERE g.community_id = %(c)s ORDER BY g.id"""


async def grid_collection(
    conn: Conn, community: str, frame: Frame, live: CommunityLive
) -> GridCollection:
    # Read the live state first, with no await: one version for every grid.
    version = live.version
    counts = grid_counts(live.state.devices(), live.state.alarms())
    features = []
    for r in await fetch_all(conn, _GRIDS, {"c": community}):
        c = counts.get(r["id"]) or GridCounts()
        features.append(
            GridFeature(
                type="Feature",
                id=r["id"],
                geometry=geometry(to_wgs84(frame, r["polygon"])),
                properties=GridProperties(
                    id=r["id"],
                    name=r["name"],
                    worker=r["worker"],
                    worker_name=r["worker_name"],
                    status=c.status,
                    worst_severity=c.worst_severity,
                    devices_total=c.devices_total,
                    devices_online=c.devices_online,
                    alarms_active=c.alarms_active,
                ),
            )
        )
    return GridCollection(
        type="FeatureCollection", community=community, version=version, features=features
    )
