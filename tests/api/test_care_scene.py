"""The elderly scene's figures over HTTP (``/scenes/care``), hand-counted from seeded rows."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from api.app import create_app
from api.community_store import import_community
from api.config import ApiConfig
from tests.api.conftest import auth, serve
from tests.incidents.helpers import MODEL
from tests.web.seed import create_key
from twin.community.file import community_from_json

CID = "care-a"


def _model() -> dict[str, Any]:
    model = copy.deepcopy(MODEL)
    model["id"] = CID
    units = model["buildings"][0]["units"]
    units[0]["household"] = {"living_alone": True, "age_band": "80+", "care_level": 2}
    units[1]["household"] = {"living_alone": True, "age_band": "<60"}  # young: not watched
    model["buildings"][1]["units"] = [
        {"id": "2-101", "storey": 1, "household": {"living_alone": True, "age_band": "70-79"}},
        {"id": "2-102", "storey": 1, "household": {"age_band": "60-69", "care_level": 1}},
        {"id": "2-103", "storey": 1},
    ]
    model["devices"] += [
        {"id": "motion-101", "kind": "motion", "building": "b01", "unit": "1-101"},
        {"id": "hm-2102", "kind": "home_meter", "building": "b02", "unit": "2-102"},
    ]
    return model


@pytest.fixture(scope="module")
def care_api(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    now = datetime.now(UTC)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM communities WHERE id = %s", (CID,))
        import_community(conn, community_from_json(_model()))
        alarms = (  # device, rule, severity, state, hours ago, incident
            ("motion-101", "care_check", "critical", "active_unack", 1.0, "alarm-c1"),
            ("motion-101", "care_check", "critical", "cleared", 30.0, None),
            ("hm-2102", "care_anomaly", "minor", "active_unack", 2.0, None),
            ("wear-0001", "fall", "critical", "cleared", 3.0, "alarm-f1"),
            ("wear-0001", "heart_rate_high", "major", "active_ack", 0.5, None),
            ("smoke-b01-0101", "smoke", "critical", "active_unack", 0.2, None),  # not elderly
        )
        for device, rule, severity, state, ago, incident in alarms:
            at = now - timedelta(hours=ago)
            conn.execute(
                "INSERT INTO alarms (community_id, device_id, rule_id, severity, state, raised_at,"
                " updated_at, building_id, storey_idx, unit_id, grid_id, incident_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 'b01', 1, '1-101', 'g1', %s)",
                (CID, device, rule, severity, state, at, at, incident),
            )
        for iid, category, status, ago in (("alarm-c1", "care_check", "dispatched", 1.0),
                                           ("alarm-f1", "fall", "closed", 3.0),
                                           ("alarm-f0", "fall", "closed", 40 * 24.0)):  # fmt: skip
            conn.execute(
                "INSERT INTO incidents (community_id, id, status, category, reported_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (CID, iid, status, category, now - timedelta(hours=ago)),
            )
        key = create_key(conn, ["cockpit:read"], [CID])
        other = create_key(conn, ["cockpit:read"], ["lanting"])
    config = ApiConfig(database_url, rate_per_s=1e6, rate_burst=1e6, key_cache_s=0.0)
    with serve(create_app(config)) as url:
        yield url, {"me": key, "other": other}


def test_care_figures_are_counted_from_households_alarms_and_incidents(care_api: Any) -> None:
    url, keys = care_api
    r = httpx.get(f"{url}/v1/communities/{CID}/scenes/care", headers=auth(keys["me"]), timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["households"] == {
        "known": 4,
        "care_homes": 3,  # 80+, 70-79, 60-69 with a level; not the young one
        "living_alone_checked": 2,  # 1-101 and 2-101
        "checked_with_devices": 1,  # only 1-101 has a motion sensor
        "by_age_band": {"<60": 1, "60-69": 1, "70-79": 1, "80+": 1},
        "by_care_level": [2, 1, 1, 0, 0],
    }
    assert body["alarms"] == {
        "care_check": {"active": 1, "raised_24h": 1},
        "care_anomaly": {"active": 1, "raised_24h": 1},
        "fall": {"active": 0, "raised_24h": 1},
        "sos": {"active": 0, "raised_24h": 0},
        "heart_rate": {"active": 1, "raised_24h": 1},
        "body_temperature": {"active": 0, "raised_24h": 0},
    }
    assert body["incidents"] == {
        "care_check": {"open": 1, "reported_30d": 1, "closed_30d": 0},
        "fall": {"open": 0, "reported_30d": 1, "closed_30d": 1},
        "sos": {"open": 0, "reported_30d": 0, "closed_30d": 0},
    }
    [quiet] = body["quiet_homes"]
    assert (quiet["building"], quiet["unit"], quiet["grid"], quiet["incident"]) == (
        "b01", "1-101", "g1", "alarm-c1",
    )  # fmt: skip
    assert quiet["incident_status"] == "dispatched"
    # Cached with a strong ETag: the same answer is a 304.
    again = httpx.get(
        f"{url}/v1/communities/{CID}/scenes/care",
        headers={**auth(keys["me"]), "If-None-Match": r.headers["etag"]},
        timeout=30,
    )
    assert again.status_code == 304


def test_a_key_of_another_community_does_not_see_it(care_api: Any) -> None:
    url, keys = care_api
    r = httpx.get(
        f"{url}/v1/communities/{CID}/scenes/care", headers=auth(keys["other"]), timeout=30
    )
    assert r.status_code == 404
