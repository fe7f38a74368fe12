"""Alarms (list, acknowledge with its change_log row) and dead letters."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest

from tests.api.seed import A, B, Seed

H = dict[str, dict[str, str]]
ALARMS = f"/v1/communities/{A}/alarms"


@pytest.mark.parametrize(
    ("query", "rules"),
    [
        ("", ["temp_high", "power_high", "smoke"]),  # newest first
        ("?state=active", ["power_high", "smoke"]),
        ("?state=cleared", ["temp_high"]),
        ("?severity=critical", ["smoke"]),
        ("?state=active&severity=major", []),
    ],
)
def test_alarm_filters(client: httpx.Client, keys: H, query: str, rules: list[str]) -> None:
    r = client.get(ALARMS + query, headers=keys["reader_a"])
    assert r.status_code == 200
    got = [a["rule"] for a in r.json()["data"] if a["device"] != "ack-test"]
    assert got == rules


def test_alarm_fields(client: httpx.Client, keys: H, seeded: Seed) -> None:
    data = client.get(ALARMS + "?severity=critical", headers=keys["reader_a"]).json()["data"]
    a = data[0]
    assert (a["id"], a["device"], a["building"], a["storey"], a["state"]) == (
        seeded.alarm_active,
        "smoke-a1",
        "b1",
        1,
        "active_unack",
    )


def _new_alarm(database_url: str, state: str = "active_unack") -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO alarms (community_id, device_id, rule_id, severity, state, raised_at,"
            " updated_at) VALUES (%s, 'ack-test', %s, 'minor', %s, now() - interval '10 days',"
            " now() - interval '10 days') RETURNING id",
            (A, f"rule-{uuid.uuid4().hex}", state),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_ack_sets_state_and_writes_change_log(
    client: httpx.Client, keys: H, database_url: str
) -> None:
    aid = _new_alarm(database_url)
    r = client.post(
        f"{ALARMS}/{aid}/ack",
        headers=keys["maintainer_a"],
        json={"by": "张伟", "note": "on my way"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["state"], body["acknowledged_by"]) == ("active_ack", "张伟")
    assert body["acknowledged_at"] is not None
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT kind, data FROM change_log WHERE community_id = %s AND ref = %s",
            (A, str(aid)),
        ).fetchall()
    assert rows == [("alarm", {"state": "active_ack", "by": "张伟", "note": "on my way"})]
    # Idempotent: the second ack returns the same alarm and writes nothing.
    again = client.post(f"{ALARMS}/{aid}/ack", headers=keys["incidents_a"])
    assert again.status_code == 200
    assert again.json()["acknowledged_by"] == "张伟"
    with psycopg.connect(database_url) as conn:
        n = conn.execute("SELECT count(*) FROM change_log WHERE ref = %s", (str(aid),)).fetchone()
    assert n == (1,)


def test_ack_without_body_names_the_key(client: httpx.Client, keys: H, database_url: str) -> None:
    aid = _new_alarm(database_url)
    r = client.post(f"{ALARMS}/{aid}/ack", headers=keys["incidents_a"])
    assert r.json()["acknowledged_by"] == "incidents_a"


def test_ack_refusals(client: httpx.Client, keys: H, seeded: Seed) -> None:
    m = keys["maintainer_a"]
    cleared = client.post(f"{ALARMS}/{seeded.alarm_cleared}/ack", headers=m)
    assert cleared.status_code == 409
    assert "cleared" in cleared.json()["detail"]
    assert client.post(f"{ALARMS}/99999999/ack", headers=m).json() == {
        "detail": "alarm 99999999 not found"
    }
    # B's alarm through A's path, and through B's path with A's key.
    assert client.post(f"{ALARMS}/{seeded.alarm_b}/ack", headers=m).status_code == 404
    assert (
        client.post(f"/v1/communities/{B}/alarms/{seeded.alarm_b}/ack", headers=m).status_code
        == 404
    )
    assert client.post(f"{ALARMS}/0/ack", headers=m).status_code == 422
    assert client.post(f"{ALARMS}/{2**64}/ack", headers=m).status_code == 422
    bad = client.post(f"{ALARMS}/1/ack", headers=m, json={"by": "x", "extra": True})
    assert bad.status_code == 422


def test_oversized_bodies_are_413(client: httpx.Client, keys: H, seeded: Seed) -> None:
    url = f"{ALARMS}/{seeded.alarm_active}/ack"
    big = {"note": "x" * 70_000}
    r = client.post(url, headers=keys["maintainer_a"], json=big)
    assert r.status_code == 413
    assert "larger than" in r.json()["detail"]

    def chunks():  # no Content-Length: chunked transfer
        for _ in range(100):
            yield b"x" * 1000

    r = client.post(
        url, headers={**keys["maintainer_a"], "Content-Type": "application/json"}, content=chunks()
    )
    assert r.status_code == 413
    # The alarm was left alone.
    state = client.get(ALARMS + "?severity=critical", headers=keys["reader_a"]).json()
    assert state["data"][0]["state"] == "active_unack"


def test_dead_letters(client: httpx.Client, keys: H) -> None:
    url = f"/v1/communities/{A}/deadletters"
    r = client.get(url, headers=keys["maintainer_a"])
    assert r.status_code == 200
    letters = {d["reason"]: d for d in r.json()["data"]}
    assert set(letters) == {"bad_json", "bad_encoding"}
    assert letters["bad_json"]["payload_text"] == "{not json"
    enc = letters["bad_encoding"]
    assert (enc["payload_size"], enc["payload_truncated"]) == (5002, True)
    assert enc["payload_text"].startswith("\ufffd\ufffdxxx")
    only = client.get(url + "?reason=bad_json", headers=keys["maintainer_a"]).json()
    assert [d["topic"] for d in only["data"]] == ["commtwin/v1/apitest-a/x/telemetry"]
    future = client.get(
        url, params={"from": "2400-01-01T00:00:00Z"}, headers=keys["maintainer_a"]
    ).json()
    assert future == {"count": 0, "data": []}
