"""Service-circle rows of the community tables (``schemas/sql/0060_service_circle.sql``).

Rows are what psycopg returns (jsonb as dicts), keyed like
``twin.community.rows``: facilities and walk_paths by id, entrances by
(building, idx) with idx the entrance's rank in its building.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twin.model.community import Community
from twin.model.facilities import Facility, facility_geometry, geometry_from_json, geometry_to_json
from twin.model.walk_network import Entrance, WalkPath

_LINES = ("LineString", "MultiLineString")
Key = tuple[Any, ...]
Row = tuple[Any, ...]


def service_rows(community: Community) -> dict[str, dict[Key, Row]]:
    rows: dict[str, dict[Key, Row]] = {"facilities": {}, "walk_paths": {}, "entrances": {}}
    for f in community.facilities:
        rows["facilities"][(f.id,)] = (
            f.type,
            f.name,
            geometry_to_json(f.geometry),
            dict(f.attributes),
        )
    for p in community.paths:
        rows["walk_paths"][(p.id,)] = (p.kind, geometry_to_json(p.geometry))
    rank: dict[str, int] = {}
    for e in community.entrances:  # sorted by building, x, y
        idx = rank.get(e.building, 0)
        rank[e.building] = idx + 1
        rows["entrances"][(e.building, idx)] = (e.x, e.y)
    return rows


def services_from_rows(
    tables: Mapping[str, list[Row]],
) -> tuple[tuple[Facility, ...], tuple[WalkPath, ...], tuple[Entrance, ...]]:
    facilities = tuple(
        Facility(fid, kind, facility_geometry(geom, f"facility {fid}"), name, attrs)
        for fid, kind, name, geom, attrs in tables.get("facilities", [])
    )
    paths = tuple(
        WalkPath(
            pid, geometry_from_json(geom, f"path {pid}", ("LineString", "MultiLineString")), kind
        )
        for pid, kind, geom in tables.get("walk_paths", [])
    )
    entrances = tuple(Entrance(bid, x, y) for bid, _idx, x, y in tables.get("entrances", []))
    return facilities, paths, entrances
