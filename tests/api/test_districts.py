"""Districts: the district:read scope, GET /v1/districts/{id}/overview and its /stream.

A private seeded database (communities A and B), a district holding A only,
and keys made through the API: a district key reads the overview and A's
cockpit data, nothing of B; other keys see the district as the rules say.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.db import run_once
from api.queries.districts import add_members, create_district
from tests.api.live_fixtures import LiveSite, SseReader, live_site, log_change, wait_until
from tests.api.seed import A, B

DISTRICT = "apitest-d"


@pytest.fixture(scope="module")
def site() -> Iterator[LiveSite]:
    with live_site("commtwin_districts", key_cache_s=0.0) as s:
        run_once(s.url, lambda c: create_district(c, DISTRICT, "测试街道 Test"))
        run_once(s.url, lambda c: add_members(c, DISTRICT, [A]))
        made = httpx.post(
            f"{s.base}/v1/keys",
            headers=s.headers("admin"),
            json={"scopes": ["district:read"], "districts": [DISTRICT], "name": "district screen"},
        )
        assert made.status_code == 201, made.text
        assert made.json()["districts"] == [DISTRICT]
        s.extra_keys["district"] = made.json()["key"]
        yield s


def get(site: LiveSite, path: str, role: str = "district", **headers: str) -> httpx.Response:
    return httpx.get(f"{site.base}{path}", headers={**site.headers(role), **headers}, timeout=30)


def overview_path() -> str:
    return f"/v1/districts/{DISTRICT}/overview"


def test_the_overview_shows_each_member_as_its_live_document_does(site: LiveSite) -> None:
    r = get(site, overview_path())
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["district"], body["name"], body["etag"]) == (
        DISTRICT,
        "测试街道 Test",
        r.headers["etag"],
    )
    [row] = body["communities"]
    kpis = get(site, f"/v1/communities/{A}/live").json()["kpis"]
    assert row["id"] == A
    assert row["rank"] == 1
    assert row["cockpit"] == f"/cockpit/{A}"
    for field in ("devices_total", "devices_online", "alarms_active", "incidents_open"):
        assert row[field] == kpis[field], field
    assert row["incidents_overdue"] == kpis["incidents_overdue"]
    assert row["closed_loop_rate_30d"] == kpis["closed_loop_rate_30d"]
    assert row["closed_loop_rate_today"] == kpis["closed_loop_rate_today"]
    # The seed holds an active critical alarm on A: its status is alarm.
    assert kpis["alarms_active"]["critical"] >= 1
    assert row["status"] == "alarm"
    assert body["totals"]["communities"] == 1
    assert body["totals"]["by_status"]["alarm"] == 1
    assert isinstance(row["lon"], float)
    assert isinstance(row["lat"], float)


def test_etag_304_and_a_member_change_changes_it(site: LiveSite) -> None:
    first = get(site, overview_path())
    etag = first.headers["etag"]
    assert get(site, overview_path(), **{"If-None-Match": etag}).status_code == 304
    gz = get(site, overview_path(), **{"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip"
    assert gz.json() == first.json()
    online_before = first.json()["communities"][0]["devices_online"]
    device = site.sql(
        "SELECT id FROM devices WHERE community_id = %s AND online IS NOT TRUE ORDER BY id LIMIT 1",
        (A,),
    )[0][0]
    site.sql("UPDATE devices SET online = true WHERE community_id = %s AND id = %s", (A, device))
    log_change(site, A, "device", device, {"online": True})

    def changed() -> bool:
        return get(site, overview_path(), **{"If-None-Match": etag}).status_code == 200

    assert wait_until(changed, timeout=10)
    after = get(site, overview_path()).json()
    assert after["communities"][0]["devices_online"] == online_before + 1
    assert after["etag"] != etag


def test_the_district_key_reads_member_cockpits_only(site: LiveSite) -> None:
    assert get(site, f"/v1/communities/{A}/live").status_code == 200
    assert get(site, f"/v1/communities/{A}/kpis").status_code == 200
    assert get(site, f"/v1/communities/{B}/live").status_code == 404
    assert [c["id"] for c in get(site, "/v1/communities").json()["data"]] == [A]
    listed = get(site, "/v1/districts").json()
    assert listed == {
        "count": 1,
        "data": [{"id": DISTRICT, "name": "测试街道 Test", "communities": 1}],
    }
    # Not a maintainer: reading does not grant acting.
    ack = httpx.post(
        f"{site.base}/v1/communities/{A}/alarms/{site.seeded.alarm_active}/ack",
        headers=site.headers("district"),
    )
    assert ack.status_code == 403


def test_other_keys_see_the_district_as_their_limits_say(site: LiveSite) -> None:
    assert get(site, overview_path(), role="admin").status_code == 200
    # A community-limited key sees no district at all; an unlimited reader lacks the scope.
    assert get(site, overview_path(), role="reader_a").status_code == 404
    refused = get(site, overview_path(), role="reader_all")
    assert refused.status_code == 403
    assert "district:read" in refused.json()["detail"]
    assert get(site, "/v1/districts/nowhere/overview", role="admin").status_code == 404
    assert get(site, "/v1/districts/nowhere/overview").status_code == 404
    assert get(site, "/v1/districts/Bad_Id/overview", role="admin").status_code == 422
    assert httpx.get(f"{site.base}{overview_path()}").status_code == 401
    bad = httpx.post(
        f"{site.base}/v1/keys",
        headers=site.headers("admin"),
        json={"scopes": ["district:read"], "districts": ["nowhere"]},
    )
    assert bad.status_code == 400
    assert "nowhere" in bad.json()["detail"]


def test_the_stream_sends_the_overview_then_its_changes(site: LiveSite) -> None:
    url = f"{site.base}/v1/districts/{DISTRICT}/stream"
    with SseReader(url, site.headers("district")) as s:
        assert s.status == 200
        first = s.next(timeout=10)
        assert first.event == "overview"
        assert first.data["district"] == DISTRICT
        device = site.sql(
            "SELECT id FROM devices WHERE community_id = %s AND online IS NOT FALSE"
            " ORDER BY id LIMIT 1",
            (A,),
        )[0][0]
        site.sql(
            "UPDATE devices SET online = false WHERE community_id = %s AND id = %s", (A, device)
        )
        log_change(site, A, "device", device, {"online": False})
        later = s.until(
            lambda e: e.event == "overview" and e.data["etag"] != first.data["etag"], 10
        )
        online = later[-1].data["communities"][0]["devices_online"]
        assert online == first.data["communities"][0]["devices_online"] - 1
    with SseReader(url, site.headers("reader_a")) as refused:
        assert refused.status == 404
