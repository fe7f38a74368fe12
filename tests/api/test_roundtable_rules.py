"""The round table's law as data through the API: a community's own counting rule, fixed
when a vote opens; a home without a floor area refused; the cockpit's governance read."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from tests.api.roundtable_setup import NOW, A, Table, table

__all__ = ["table"]  # the module's fixture

OWN_RULE = {
    "id": "lanting-2026",
    "rules": [
        {
            "id": "lanting-all",
            "name": "本社区议事规则：过半参与，三分之二以上同意",
            "source": "兰亭社区业主大会议事规则 第十条",
            "participation": {"area": ">= 1/2", "owners": ">= 1/2"},
            "pass": {"area": ">= 2/3", "owners": ">= 2/3"},
            "matters": None,
        }
    ],
}


def set_rules(url: str, rules: object) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE communities SET attributes = attributes || %s WHERE id = %s",
            (Jsonb({"counting_rules": rules}), A),
        )


def test_a_communitys_own_rule_counts_its_votes_and_is_fixed_at_opening(table: Table) -> None:
    http, base = table.http, f"/v1/communities/{A}"
    office = table.session("office")
    set_rules(table.url, OWN_RULE)
    topic = http.post(
        f"{base}/topics",
        json={"title": "1幢加装电梯", "body": "1幢加装电梯的方案与分摊。", "building_id": "b1"},
        headers=office,
    ).json()
    closes = (NOW + timedelta(days=3)).isoformat()
    vote = http.post(
        f"{base}/topics/{topic['id']}/votes",
        json={"level": "building", "closes_at": closes},
        headers=office,
    )
    assert vote.status_code == 201, vote.text
    assert (vote.json()["rule_id"], vote.json()["concerned_households"]) == ("lanting-all", 4)
    set_rules(table.url, None)  # the community goes back to art. 278: this vote keeps its rule
    # Two of four homes vote (1-201: 120 m², 1-202: 100 m²; 220 of 400 m²), both yes.
    # Art. 278 would miss participation (2 of 4 owners); this rule wants half: met.
    for login, unit in (("a.liu", "1-201"), ("b.liu", "1-202")):
        home = table.resident(login, "b1", unit)
        cast = http.put(
            f"{base}/votes/{vote.json()['id']}/ballot", json={"choice": "yes"}, headers=home
        )
        assert cast.status_code == 200, cast.text
    closed = http.post(f"{base}/votes/{vote.json()['id']}/close", headers=office)
    r = closed.json()["result"]
    assert (r["law_id"], r["rule_id"], r["source"]) == (
        "lanting-2026",
        "lanting-all",
        "兰亭社区业主大会议事规则 第十条",
    )
    assert (r["participating_owners"], r["participating_area"], r["total_area"]) == (
        2,
        "220",
        "400",
    )
    assert r["participation_met"] is True
    assert r["passed"] is True
    # A new vote now counts by art. 278 again.
    again = http.post(
        f"{base}/topics/{topic['id']}/votes",
        json={"level": "building", "closes_at": closes, "matter": "rebuild"},
        headers=office,
    )
    assert again.json()["rule_id"] == "civil-code-278-special"


def test_a_bad_rule_and_a_home_without_area_are_refused_and_nothing_is_stored(
    table: Table,
) -> None:
    http, base = table.http, f"/v1/communities/{A}"
    office = table.session("office")
    topic = http.post(
        f"{base}/topics",
        json={"title": "3幢门禁", "body": "3幢门禁常坏。", "building_id": "b3"},
        headers=office,
    ).json()
    with psycopg.connect(table.url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO units (community_id, building_id, id, storey_idx) VALUES (%s, 'b3',"
            " '3-102', 1)",
            (A,),
        )
        try:
            votes = f"{base}/topics/{topic['id']}/votes"
            body = {"level": "building", "closes_at": (NOW + timedelta(days=1)).isoformat()}
            refused = http.post(votes, json=body, headers=office)
            assert refused.status_code == 409
            assert "b3/3-102 has no floor area" in refused.json()["detail"]
            assert http.get(votes, headers=office).json() == []
            past = http.post(votes, json={**body, "closes_at": NOW.isoformat()}, headers=office)
            assert past.status_code == 400
            naive = http.post(
                votes, json={**body, "closes_at": "2030-01-01T00:00:00"}, headers=office
            )
            assert naive.status_code == 422
        finally:
            conn.execute("DELETE FROM units WHERE community_id = %s AND id = '3-102'", (A,))
    set_rules(table.url, {"rules": [{"participation": {"area": "most", "owners": ">= 1/2"}}]})
    try:
        bad = http.post(f"{base}/topics", json={"title": "x", "body": "y"}, headers=office)
        assert bad.status_code == 409, bad.text
        assert "counting_rules" in bad.json()["detail"]
    finally:
        set_rules(table.url, None)


def test_the_governance_read_of_the_cockpit(table: Table) -> None:
    http, base = table.http, f"/v1/communities/{A}"
    office = table.session("office")
    topic = http.post(
        f"{base}/topics",
        json={"title": "小区绿化改造", "body": "中心花园改造方案。", "grid_id": "g1"},
        headers=office,
    ).json()
    http.post(
        f"{base}/tables",
        json={
            "level": "estate",
            "title": "绿化改造小圆桌",
            "grid_id": "g1",
            "starts_at": (NOW + timedelta(days=1)).isoformat(),
            "topic_ids": [topic["id"]],
        },
        headers=office,
    )
    http.post(
        f"{base}/topics/{topic['id']}/votes",
        json={"level": "estate", "closes_at": (NOW + timedelta(days=2)).isoformat()},
        headers=office,
    )
    # A participant's account must be of this community.
    b_office = table.session("office", "xixi")
    b_id = http.get("/v1/me", headers=b_office).json()["account_id"]
    foreign = http.post(
        f"{base}/tables",
        json={
            "level": "community",
            "title": "跨社区",
            "starts_at": (NOW + timedelta(days=1)).isoformat(),
            "participants": [{"role": "office", "name": "外社区", "account_id": b_id}],
        },
        headers=office,
    )
    assert foreign.status_code == 400
    assert "no such account" in foreign.json()["detail"]
    scene = http.get(f"{base}/governance", headers=table.keys["reader_a"])
    assert scene.status_code == 200, scene.text
    g = scene.json()
    assert topic["id"] in [t["id"] for t in g["open_topics"]]
    assert "绿化改造小圆桌" in [t["title"] for t in g["upcoming_tables"]]
    assert topic["id"] in [v["topic_id"] for v in g["open_votes"]]
    assert g["participation"]["households"] == 6
    assert set(g["actions"]["kpis"]) >= {"overdue", "closed_loop_rate"}
    assert http.get(f"{base}/governance").status_code == 401


def test_the_store_refuses_a_ballot_once_the_announced_close_has_passed(table: Table) -> None:
    http, base = table.http, f"/v1/communities/{A}"
    office = table.session("office")
    voter = table.resident("zhou.ping", "b2", "2-101")
    topic = http.post(
        f"{base}/topics",
        json={"title": "2幢楼道灯", "body": "2幢楼道灯更换。", "building_id": "b2"},
        headers=office,
    ).json()
    closes = datetime.now(UTC) + timedelta(seconds=2)
    vote = http.post(
        f"{base}/topics/{topic['id']}/votes",
        json={"level": "building", "closes_at": closes.isoformat()},
        headers=office,
    ).json()
    ballot = f"{base}/votes/{vote['id']}/ballot"
    assert http.put(ballot, json={"choice": "yes"}, headers=voter).status_code == 200
    time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.2)
    late = http.put(ballot, json={"choice": "no"}, headers=voter)
    assert late.status_code == 409
    assert "not open" in late.json()["detail"]
    # Not yet counted by the office, the kept ballot is the one cast in time.
    r = http.post(f"{base}/votes/{vote['id']}/close", headers=office).json()["result"]
    assert (r["yes_owners"], r["no_owners"], r["participating_owners"]) == (1, 0, 1)
    assert r["passed"] is True
    assert http.get(f"{base}/topics/suggested?window_days=0.001", headers=office).status_code == 422


def test_two_accounts_of_one_household_voting_at_once_leave_one_ballot(table: Table) -> None:
    http, base = table.http, f"/v1/communities/{A}"
    office = table.session("office")
    first, second = (table.resident(f"ma.{n}", "b1", "1-101") for n in ("yun", "li"))
    topic = http.post(
        f"{base}/topics",
        json={"title": "1幢门禁", "body": "1幢门禁改造。", "building_id": "b1"},
        headers=office,
    ).json()
    vote = http.post(
        f"{base}/topics/{topic['id']}/votes",
        json={"level": "building", "closes_at": (NOW + timedelta(days=1)).isoformat()},
        headers=office,
    ).json()
    ballot = f"{base}/votes/{vote['id']}/ballot"
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda n: (
                    http.put(
                        ballot,
                        json={"choice": "yes" if n % 2 else "no"},
                        headers=first if n % 2 else second,
                    ).status_code
                ),
                range(16),
            )
        )
    assert answers == [200] * 16
    seen = http.get(f"{base}/votes/{vote['id']}", headers=first).json()
    assert seen["ballots"] == 1
    assert seen["my_choice"] in ("yes", "no")
    r = http.post(f"{base}/votes/{vote['id']}/close", headers=office).json()["result"]
    assert r["participating_owners"] == 1
    assert r["yes_owners"] + r["no_owners"] == 1
