"""Facilities, paths and entrances through the model file, the database and back."""

from __future__ import annotations

import copy
from typing import Any

import psycopg
import pytest

from api.community_store import import_community, load_community
from tests.twin.test_community_file import LANTING
from tests.twin.test_community_store import unique
from twin.community.export import community_to_json
from twin.community.file import community_from_json
from twin.errors import ModelError

Conn = psycopg.Connection[tuple[object, ...]]

SERVICES: dict[str, Any] = {
    "facilities": [
        {
            "id": "clinic-1",
            "type": "clinic",
            "name": "社区卫生服务站",
            "geometry": {"type": "Point", "coordinates": [40, 5]},
        },
        {
            "id": "park-1",
            "type": "park",
            "geometry": {"type": "Polygon", "coordinates": [[[70, 0], [90, 0], [90, 20], [70, 0]]]},
        },
    ],
    "paths": [
        {
            "id": "p1",
            "kind": "footway",
            "geometry": {"type": "LineString", "coordinates": [[-5, -5], [100, -5]]},
        },
    ],
    "entrances": [{"building": "b01", "x": 15, "y": 0}],
}


def with_services(cid: str, **changes: Any) -> dict[str, Any]:
    return copy.deepcopy(LANTING) | {"id": cid} | copy.deepcopy(SERVICES) | changes


def test_services_round_trip_through_the_database(conn: Conn) -> None:
    cid = unique()
    community = community_from_json(with_services(cid))
    assert [f.id for f in community.facilities] == ["clinic-1", "park-1"]
    report = import_community(conn, community)
    assert report.changes["facilities"].added == ("clinic-1", "park-1")
    assert report.changes["entrances"].added == ("b01/0",)
    stored = load_community(conn, cid)
    assert stored == community
    assert community_from_json(community_to_json(stored)) == community
    again = import_community(conn, community)
    assert not again.changed
    fewer = with_services(cid)
    fewer["facilities"] = fewer["facilities"][:1]
    fewer["entrances"] = []
    report = import_community(conn, community_from_json(fewer))
    assert report.changes["facilities"].removed == ("park-1",)
    assert report.changes["entrances"].removed == ("b01/0",)
    assert load_community(conn, cid) == community_from_json(fewer)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "facilities": [
                    {
                        "id": "x",
                        "type": "bank",
                        "geometry": {"type": "Point", "coordinates": [0, 0]},
                    }
                ]
            },
            "facility x: type must be one of",
        ),
        (
            {
                "facilities": [
                    {
                        "id": "x",
                        "type": "park",
                        "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                    }
                ]
            },
            "facility x: geometry must be a GeoJSON Point",
        ),
        (
            {"paths": [{"id": "p", "geometry": {"type": "Point", "coordinates": [0, 0]}}]},
            "path p: geometry must be a GeoJSON LineString",
        ),
        ({"entrances": [{"building": "nope", "x": 0, "y": 0}]}, "building 'nope' does not exist"),
        (
            {"paths": [{"id": "p", "geometry": {"type": "LineString", "coordinates": [[0, 0]]}}]},
            "path p: geometry is not valid GeoJSON",
        ),
    ],
)
def test_bad_services_name_the_object(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        community_from_json(with_services("bad") | change)
