"""GET /stream: server-sent events of committed changes, resume with Last-Event-ID,
resets (too old, ahead, slow client), keep-alive pings, access, a lost link."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from api.db import run_once
from api.live.listener import APPLICATION_NAME
from api.queries.keys import create_key
from tests.api.live_fixtures import LiveSite, SseReader, live_site, log_change, wait_until
from tests.api.seed import A, B


@pytest.fixture(scope="module")
def site() -> Iterator[LiveSite]:
    with live_site("commtwin_stream", key_cache_s=1.0) as s:
        yield s


def stream(site: LiveSite, role: str = "reader_a", **headers: str) -> SseReader:
    url = f"{site.base}/v1/communities/{A}/stream"
    return SseReader(url, {**site.headers(role), **headers})


def live_etag(site: LiveSite) -> str:
    r = httpx.get(f"{site.base}/v1/communities/{A}/live", headers=site.headers("reader_a"))
    return r.headers["etag"]


def set_online(site: LiveSite, device: str, online: bool) -> int:
    site.sql(
        "UPDATE devices SET online = %s WHERE community_id = %s AND id = %s", (online, A, device)
    )
    return log_change(site, A, "device", device, {"online": online, "was": not online})


def test_the_stream_starts_with_the_version_then_sends_changes(site: LiveSite) -> None:
    with stream(site) as s:
        assert s.status == 200
        first = s.next()
        assert first.event == "version"
        assert s.retry == 3000
        assert first.data["etag"] == live_etag(site)
        assert first.id == str(first.data["version"])
        seq = set_online(site, "env-a2b", False)
        device, version = s.until(lambda e: e.event == "version")
        assert (device.event, device.id) == ("device", str(seq))
        assert device.data["device"] == {
            "id": "env-a2b",
            "kind": "env",
            "building": "b1",
            "storey": 2,
            "unit": None,
            "grid": None,
            "online": False,
        }
        assert device.data["change"] == {"online": False, "was": True}
        assert version.data == {"version": seq, "etag": f'"{seq}"'}
        assert live_etag(site) == f'"{seq}"'
        # An alarm acknowledged through the API arrives as an alarm event.
        aid = site.seeded.alarm_active
        ack = httpx.post(
            f"{site.base}/v1/communities/{A}/alarms/{aid}/ack", headers=site.headers("incidents_a")
        )
        assert ack.status_code == 200
        alarm = s.until(lambda e: e.event == "alarm")[-1]
        assert alarm.data["ref"] == str(aid)
        assert alarm.data["alarm"]["state"] == "active_ack"
        assert alarm.data["alarm"]["severity"] == "critical"
        assert s.next().event == "version"


def test_resume_replays_the_missed_changes_in_order(site: LiveSite) -> None:
    with stream(site) as s:
        start = int(s.next().data["version"])
    missed = [set_online(site, "env-a2b", True), set_online(site, "env-b2", False)]
    for headers, params in (
        ({"Last-Event-ID": str(start)}, None),
        ({}, {"last_event_id": str(start)}),
    ):
        url = f"{site.base}/v1/communities/{A}/stream"
        with SseReader(url, {**site.headers("reader_a"), **headers}, params) as s:
            events = s.until(lambda e: e.event == "version")
        assert [(e.event, e.id) for e in events[:-1]] == [("device", str(q)) for q in missed]
        assert events[0].data["device"]["online"] is True
        assert events[1].data["device"]["id"] == "env-b2"
        assert events[-1].data["version"] >= missed[-1]


def test_pings_keep_an_idle_stream_alive(site: LiveSite) -> None:
    with stream(site) as s:
        s.next()
        assert wait_until(lambda: s.comments >= 1, timeout=3.0)  # sse_ping_s is 1 here


def test_a_resume_the_log_cannot_serve_says_reset(site: LiveSite) -> None:
    with stream(site, **{"Last-Event-ID": str(10**15)}) as s:
        reset = s.next()
        assert reset.event == "reset"
        assert "ahead of the change log" in reset.data["reason"]
        assert s.next().event == "version"
    with stream(site) as s:
        start = int(s.next().data["version"])
    seqs = [set_online(site, "env-b2", online) for online in (True, False, True)]
    # Retention pruned the first two of them.
    site.sql("DELETE FROM change_log WHERE seq <= %s", (seqs[1],))
    with stream(site, **{"Last-Event-ID": str(start)}) as s:
        reset = s.next()
    assert reset.event == "reset"
    assert "no longer kept" in reset.data["reason"]


def test_bad_resume_ids_and_other_communities(site: LiveSite) -> None:
    url = f"{site.base}/v1/communities/{A}/stream"
    r = httpx.get(url, headers={**site.headers("reader_a"), "Last-Event-ID": "abc"})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("Last-Event-ID:")
    r = httpx.get(url, headers=site.headers("reader_a"), params={"last_event_id": "-1"})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("last_event_id:")
    for role in ("reader_a", "incidents_a"):
        for cid in (B, "no-such"):
            other = httpx.get(
                f"{site.base}/v1/communities/{cid}/stream", headers=site.headers(role)
            )
            assert other.status_code == 404
            assert other.json() == {"detail": f"community {cid!r} not found"}
    assert httpx.get(url).status_code == 401


def test_a_lost_database_link_is_replayed_to_subscribers(site: LiveSite) -> None:
    with stream(site) as s:
        s.next()
        site.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (APPLICATION_NAME,),
        )
        seq = set_online(site, "smoke-a1", False)
        events = s.until(lambda e: e.event == "device" and e.id == str(seq), timeout=10)
        assert events[-1].data["device"]["online"] is False
        # Whether it came as a notification or from the replay, it comes once.
        s.until(lambda e: e.event == "version" and e.data["version"] >= seq)
        later = set_online(site, "smoke-a1", True)
        rest = s.until(lambda e: e.event == "device" and e.id == str(later), timeout=10)
        assert [e.id for e in rest if e.event == "device"].count(str(seq)) == 0


def test_a_client_that_falls_behind_is_told_to_refetch() -> None:
    with live_site("commtwin_stream_slow", sse_queue=3) as site, stream(site) as s:
        s.next()
        # Six changes in one transaction arrive together: more than the queue holds.
        with psycopg.connect(site.url) as conn, conn.transaction():
            for i in range(6):
                conn.execute(
                    "INSERT INTO change_log (community_id, kind, ref, data)"
                    " VALUES (%s, 'device', 'env-b2', %s)",
                    (A, json.dumps({"i": i})),
                )
        events = s.until(lambda e: e.event == "reset")
        assert events[-1].data["reason"] == "this client fell behind the changes"
        assert len(events) <= 4
        # And it goes on with what comes next.
        seq = set_online(site, "env-b2", False)
        assert s.until(lambda e: e.id == str(seq))[-1].event == "device"


def test_a_revoked_key_ends_its_stream(site: LiveSite) -> None:
    made = run_once(site.url, lambda c: create_key(c, ["cockpit:read"], [A], "stream-key"))
    url = f"{site.base}/v1/communities/{A}/stream"
    with SseReader(url, {"Authorization": f"Bearer {made.key}"}) as s:
        assert s.next().event == "version"
        site.sql("UPDATE api_keys SET revoked_at = now() WHERE prefix = %s", (made.prefix,))
        # The check runs every key_cache_s (1 s here), busy stream or not.
        for online in (True, False, True):
            set_online(site, "env-b2", online)
        closing = s.until(lambda e: e.event == "closing", timeout=10)[-1]
    assert closing.data == {"reason": "the API key is not valid or has been revoked"}
