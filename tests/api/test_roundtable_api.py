"""The round table through a real server and PostgreSQL: parking reports in a public area
become a suggested topic, an estate table votes on it, the count follows art. 278, the
decision's action items are tracked, and every bad input is refused with nothing stored.

The model (areas in m², by ``area_m2``): building b1 (1-101: 80, 1-102: 100, 1-201: 120,
1-202: 100) and b2 (2-101: 90) lie in grid g1, the estate; b3 (3-101: 90) in grid g2.
"""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader

from tests.api.roundtable_setup import NOW, A, B, Table, table

__all__ = ["table"]  # the module's fixture


def test_parking_reports_become_a_topic_voted_at_an_estate_table_and_followed_through(
    table: Table,
) -> None:
    office = table.session("office")
    tid = adopt_the_suggestion(table, office)
    table_id, vid = an_estate_table_votes(table, office, tid)
    wang = ballots_are_cast_and_counted(table, office, vid)
    the_minutes_print_in_chinese(table, office, table_id)
    the_decision_is_followed_through(table, office, (tid, vid, table_id), wang)
    participation_is_recorded_once(table, office)


def adopt_the_suggestion(table: Table, office: dict[str, str]) -> int:
    http, base = table.http, f"/v1/communities/{A}"
    reader = table.keys["reader_a"]
    # Six parking reports in one public spot of g1 within 30 days: one suggestion.
    found = http.get(f"{base}/topics/suggested", headers=reader)
    assert found.status_code == 200, found.text
    [s] = found.json()["data"]
    assert s["category"] == "parking"
    assert s["incident_ids"] == [f"park-{n}" for n in range(6)]
    assert s["grid_id"] == "g1"
    topic = {
        "title": "北门公共区域停车",
        "body": "北门外公共区域三十天内六次占道停车投诉，建议划定车位并安装道闸。",
        "matter": "ordinary",
        "grid_id": "g1",
        "x": s["x"],
        "y": s["y"],
        "incident_ids": s["incident_ids"],
        "suggestion_key": s["key"],
    }
    made = http.post(f"{base}/topics", json=topic, headers=office)
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    assert made.json()["origin"] == "suggested"
    assert made.json()["incident_ids"] == s["incident_ids"]
    assert http.post(f"{base}/topics", json=topic, headers=office).status_code == 409  # once
    assert http.get(f"{base}/topics/suggested", headers=reader).json()["count"] == 0

    return int(tid)


def an_estate_table_votes(table: Table, office: dict[str, str], tid: int) -> tuple[int, int]:
    http, base = table.http, f"/v1/communities/{A}"
    # An estate table for g1: its five households are concerned.
    scheduled = http.post(
        f"{base}/tables",
        json={
            "level": "estate",
            "title": "一网格小圆桌",
            "grid_id": "g1",
            "starts_at": (NOW + timedelta(days=2)).isoformat(),
            "location": "社区议事厅",
            "topic_ids": [tid],
            "participants": [
                {"role": "office", "name": "社区居委会 陈主任"},
                {"role": "property", "name": "物业 李经理"},
                {"role": "owners_committee", "name": "业委会 王主任"},
            ],
        },
        headers=office,
    )
    assert scheduled.status_code == 201, scheduled.text
    table_id = scheduled.json()["id"]
    assert scheduled.json()["concerned_households"] == 5
    vote = http.post(
        f"{base}/topics/{tid}/votes",
        json={"table_id": table_id, "closes_at": (NOW + timedelta(days=7)).isoformat()},
        headers=office,
    )
    assert vote.status_code == 201, vote.text
    vid = vote.json()["id"]
    assert (vote.json()["concerned_households"], vote.json()["rule_id"]) == (
        5,
        "civil-code-278-ordinary",
    )

    return int(table_id), int(vid)


def ballots_are_cast_and_counted(table: Table, office: dict[str, str], vid: int) -> dict[str, str]:
    http, base = table.http, f"/v1/communities/{A}"
    reader = table.keys["reader_a"]
    wang = table.resident("wang.fang", "b1", "1-101")
    wang2 = table.resident("wang.lei", "b1", "1-101")  # same household
    others = [table.resident(f"r{u}", "b1", u) for u in ("1-102", "1-201", "1-202")]
    outsider = table.resident("zhao.min", "b3", "3-101")
    ballot = f"{base}/votes/{vid}/ballot"
    assert http.put(ballot, json={"choice": "yes"}, headers=wang).status_code == 200
    last = http.put(ballot, json={"choice": "no"}, headers=wang2)
    assert last.status_code == 200, last.text
    for h in others:
        assert http.put(ballot, json={"choice": "yes"}, headers=h).status_code == 200
    assert http.get(f"{base}/votes/{vid}", headers=wang).json()["my_choice"] == "no"

    # Refused, nothing stored: outside the concerned set, tampered ballots.
    stranger = http.put(ballot, json={"choice": "yes"}, headers=outsider)
    assert stranger.status_code == 403
    assert "3-101 is not concerned" in stranger.json()["detail"]
    assert http.put(ballot, json={"choice": "maybe"}, headers=wang).status_code == 422
    forged = {"choice": "yes", "building_id": "b1", "unit_id": "1-102"}
    assert http.put(ballot, json=forged, headers=wang).status_code == 403
    assert (
        http.put(
            f"{base}/votes/{vid + 1000}/ballot", json={"choice": "yes"}, headers=wang
        ).status_code
        == 404
    )
    assert (
        http.put(
            f"/v1/communities/{B}/votes/{vid}/ballot", json={"choice": "yes"}, headers=wang
        ).status_code
        == 404
    )
    assert (
        http.put(ballot, json={"choice": "yes"}, headers=office).status_code == 403
    )  # not a resident
    assert http.get(f"{base}/votes/{vid}", headers=reader).json()["ballots"] == 4

    closed = http.post(f"{base}/votes/{vid}/close", headers=office)
    assert closed.status_code == 200, closed.text
    r = closed.json()["result"]
    # 4 of 5 owners and 400 of 490 m² took part; yes: 3 of 4 owners, 320 of 400 m².
    assert (r["total_owners"], r["total_area"]) == (5, "490")
    assert (r["participating_owners"], r["participating_area"]) == (4, "400")
    assert (r["yes_owners"], r["yes_area"], r["no_owners"], r["no_area"]) == (3, "320", 1, "80")
    assert r["passed"] is True
    assert "第二百七十八条" in r["source"]
    late = http.put(ballot, json={"choice": "no"}, headers=others[0])
    assert late.status_code == 409
    assert http.get(f"{base}/votes/{vid}/result", headers=reader).json() == r
    assert http.post(f"{base}/votes/{vid}/close", headers=office).status_code == 409

    return wang


def the_minutes_print_in_chinese(table: Table, office: dict[str, str], table_id: int) -> None:
    http, base = table.http, f"/v1/communities/{A}"
    reader = table.keys["reader_a"]
    # Minutes and attendance, then the PDF in Chinese.
    participants = http.get(f"{base}/tables/{table_id}", headers=reader).json()["participants"]
    held = http.patch(
        f"{base}/tables/{table_id}",
        json={
            "status": "held",
            "minutes": "经充分协商，同意在北门外划定临时停车位并由物业安装道闸。",
            "attendance": [{"participant_id": p["id"], "attended": True} for p in participants],
        },
        headers=office,
    )
    assert held.status_code == 200, held.text
    pdf = http.get(f"{base}/tables/{table_id}/minutes.pdf", headers=reader)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (
        "民情圆桌会会议纪要",
        "北门公共区域停车",
        "业委会 王主任（出席）",
        "划定临时停车位",
        "通过",
        "第二百七十八条",
        "490",
    ):
        assert expected in text, expected


def the_decision_is_followed_through(
    table: Table, office: dict[str, str], ids: tuple[int, int, int], wang: dict[str, str]
) -> None:
    http, base = table.http, f"/v1/communities/{A}"
    reader = table.keys["reader_a"]
    tid, vid, table_id = ids
    # The decision's two action items: one done, one overdue.
    decided = http.post(
        f"{base}/topics/{tid}/decisions",
        json={
            "body": "划定临时停车位，安装道闸。",
            "vote_id": vid,
            "table_id": table_id,
            "actions": [
                {
                    "title": "划定临时停车位",
                    "owner_role": "property",
                    "due_at": (NOW + timedelta(days=5)).isoformat(),
                    "grid_id": "g1",
                },
                {
                    "title": "安装道闸",
                    "owner_role": "property",
                    "due_at": (NOW - timedelta(hours=1)).isoformat(),
                    "grid_id": "g1",
                },
            ],
        },
        headers=office,
    )
    assert decided.status_code == 201, decided.text
    lines, gate = sorted(decided.json()["actions"], key=lambda a: a["title"] != "划定临时停车位")
    assert gate["overdue"] is True
    done = http.patch(f"{base}/actions/{lines['id']}", json={"status": "done"}, headers=office)
    assert done.status_code == 200, done.text
    assert (
        http.patch(
            f"{base}/actions/{lines['id']}", json={"status": "open"}, headers=office
        ).status_code
        == 409
    )
    mine = http.get(f"{base}/topics/{tid}/decisions", headers=wang).json()
    assert mine[0]["kpis"] == {
        "total": 2,
        "open": 1,
        "done": 1,
        "cancelled": 0,
        "overdue": 1,
        "done_late": 0,
        "closed_loop_rate": 0.5,
    }
    assert http.get(f"{base}/topics/{tid}", headers=reader).json()["status"] == "decided"


def participation_is_recorded_once(table: Table, office: dict[str, str]) -> None:
    http, base = table.http, f"/v1/communities/{A}"
    reader = table.keys["reader_a"]
    # Participation: four households voted; volunteer hours recorded once per client id.
    entry = {
        "client_id": "vol-2026-12-01-3-101",
        "building_id": "b3",
        "unit_id": "3-101",
        "kind": "volunteer_hours",
        "hours": 2.5,
    }
    assert http.post(f"{base}/participation", json=entry, headers=office).status_code == 201
    again = http.post(f"{base}/participation", json=entry, headers=office)
    assert again.status_code == 200
    assert again.json()["created"] is False
    kpi = http.get(f"{base}/participation/kpi", headers=reader).json()
    assert (kpi["households"], kpi["participating"]) == (6, 5)
    assert kpi["by_kind"] == {"vote_cast": 4, "volunteer_hours": 1}
    assert kpi["volunteer_hours"] == 2.5


def test_topics_residents_raise_and_what_is_refused(table: Table) -> None:
    http, base = table.http, f"/v1/communities/{A}"
    resident = table.resident("sun.li", "b2", "2-101")
    office = table.session("office")
    before = http.get(f"{base}/topics", headers=table.keys["reader_a"]).json()["count"]
    good = {
        "title": "2幢外墙脱落",
        "body": "2幢北侧外墙瓷砖脱落，请求维修。",
        "building_id": "b2",
        "matter": "use_maintenance_fund",
    }
    made = http.post(f"{base}/topics", json=good, headers=resident)
    assert made.status_code == 201, made.text
    assert made.json()["origin"] == "resident"
    tid = made.json()["id"]
    cases = [
        ({**good, "body": ""}, 422),
        ({**good, "body": "长" * 5001}, 422),
        ({**good, "matter": "coronation"}, 400),
        ({**good, "building_id": "b9"}, 400),
        ({**good, "incident_ids": ["nope"]}, 400),
        ({**good, "stairwell": "1", "building_id": None}, 400),
    ]
    for body, status in cases:
        r = http.post(f"{base}/topics", json=body, headers=resident)
        assert r.status_code == status, (body, r.text)
    huge = http.post(f"{base}/topics", json={**good, "body": "x" * (1 << 20)}, headers=resident)
    assert huge.status_code == 413
    assert (
        http.post(f"{base}/topics", json=good, headers={"Cookie": resident["Cookie"]}).status_code
        == 403
    )  # no CSRF
    assert http.post(f"{base}/topics", json=good, headers=table.keys["reader_a"]).status_code == 403
    assert http.post(f"{base}/topics", json=good).status_code == 401
    assert http.get(f"{base}/topics", headers=table.keys["reader_a"]).json()["count"] == before + 1
    # Another community's office sees nothing here.
    elsewhere = table.session("office", B)
    assert http.get(f"{base}/topics/{tid}", headers=elsewhere).status_code == 404
    assert http.get(f"/v1/communities/{B}/topics/{tid}", headers=elsewhere).status_code == 404
    # Opinions: the topic's building's household may, another building's may not.
    assert (
        http.post(
            f"{base}/topics/{tid}/opinions", json={"body": "同意尽快维修"}, headers=resident
        ).status_code
        == 201
    )
    far = table.resident("qian.yu", "b3", "3-101")
    refused = http.post(f"{base}/topics/{tid}/opinions", json={"body": "路过"}, headers=far)
    assert refused.status_code == 403
    seen = http.get(f"{base}/topics/{tid}/opinions", headers=far).json()
    assert [(o["building_id"], o["unit_id"]) for o in seen] == [("b2", None)]  # units: the office's
    assert http.get(f"{base}/topics/{tid}/opinions", headers=office).json()[0]["unit_id"] == "2-101"
