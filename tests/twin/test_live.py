"""The live state's /live snapshot: its exact shape, statuses, KPIs and updates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from twin.live.state import (
    AlarmState,
    ClosedLoop,
    CommunityLayout,
    DeviceState,
    IncidentState,
    LiveState,
)

T = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
LAYOUT = CommunityLayout.from_mapping("lanting", "兰亭社区", {"b01": [-1, 1, 2, 3], "b02": [1, 2]})
SCENES = ["safety", "elderly", "energy", "traffic", "governance"]
NODE_KEYS = ["status", "worst_severity", "devices_total", "devices_online", "alarms_active",
             "incidents_open", "scenes"]  # fmt: skip


def devices() -> list[DeviceState]:
    return [
        DeviceState("smoke-b01-0101", "smoke", "b01", 1, "1-101", "g1", online=True),
        DeviceState("smoke-b01-0201", "smoke", "b01", 2, "1-201", "g1", online=True),
        DeviceState("wear-1", "wearable", "b01", 3, None, "g1", online=True),
        DeviceState("meter-b02", "power_meter", "b02", 1, None, "g2", online=False),
        DeviceState("parking-north", "parking", None, None, None, "g1", online=True),
        DeviceState("robot-1", "robot", "b02", 2, None, None, online=None),
    ]


def alarm(  # noqa: PLR0917 (a compact test builder)
    aid: int,
    device: str,
    kind: str,
    severity: str,
    building: str | None,
    storey: int | None,
    state: str = "active_unack",
    minutes: int = 0,
) -> AlarmState:
    return AlarmState(
        id=aid, device=device, kind=kind, rule=kind, severity=severity, state=state,
        raised_at=T + timedelta(minutes=minutes), message=f"{kind} alarm", value=1.0,
        building=building, storey=storey, unit=None, grid="g1",
    )  # fmt: skip


def incident(
    iid: str,
    status: str = "dispatched",
    *,
    building: str | None = "b01",
    storey: int | None = 3,
    minutes: int = 0,
    accepted: bool = False,
) -> IncidentState:
    at = T + timedelta(minutes=minutes)
    return IncidentState(
        id=iid, status=status, reported_at=at, category="noise", title="noise at night",
        assignee="w-zhang", grid="g1", building=building, storey=storey, unit=None,
        x=1.0, y=2.0, z=3.0, respond_due_at=at + timedelta(minutes=30),
        resolve_due_at=at + timedelta(hours=24), accepted_at=at if accepted else None,
    )  # fmt: skip


def state() -> LiveState:
    return LiveState(LAYOUT, devices=devices())


def storey(snap: dict[str, object], building: str, index: int) -> dict[str, object]:
    for b in snap["buildings"]:  # type: ignore[attr-defined]
        if b["id"] == building:
            for s in b["storeys"]:
                if s["index"] == index:
                    return s  # type: ignore[no-any-return]
    raise AssertionError(f"no storey {building}/{index}")


def building(snap: dict[str, object], bid: str) -> dict[str, object]:
    return next(b for b in snap["buildings"] if b["id"] == bid)  # type: ignore[attr-defined]


def test_snapshot_has_exactly_the_documented_keys() -> None:
    live = state()
    live.upsert_alarm(alarm(17, "smoke-b01-0101", "smoke", "critical", "b01", 1))
    live.upsert_incident(incident("r-123"))
    live.set_closed_loop(ClosedLoop(0.97, 0.9, 0.97))
    live.set_version(1234, T - timedelta(seconds=2))
    snap = live.snapshot(T)
    assert list(snap) == ["community", "name", "version", "generated_at", "last_update",
                          "kpis", "buildings", "alarms", "incidents"]  # fmt: skip
    assert list(snap["kpis"]) == [
        "devices_total", "devices_online", "alarms_active", "incidents_open",
        "incidents_overdue", "closed_loop_rate", "closed_loop_rate_today", "closed_loop_rate_30d",
    ]  # fmt: skip
    assert list(snap["kpis"]["alarms_active"]) == ["critical", "major", "minor", "warning"]
    b = snap["buildings"][0]
    assert list(b) == ["id", *NODE_KEYS, "storeys"]
    assert list(b["storeys"][0]) == ["index", *NODE_KEYS]
    assert list(b["scenes"]) == SCENES
    assert list(snap["alarms"][0]) == ["id", "device", "kind", "rule", "severity", "state",
                                       "message", "value", "raised_at", "building", "storey",
                                       "unit", "grid", "incident"]  # fmt: skip
    assert list(snap["incidents"][0]) == [
        "id", "status", "category", "priority", "title", "assignee", "grid", "building",
        "storey", "unit", "x", "y", "z", "reported_at", "respond_due_at", "resolve_due_at",
        "overdue", "escalated",
    ]  # fmt: skip
    assert (snap["community"], snap["name"], snap["version"]) == ("lanting", "兰亭社区", 1234)
    assert (snap["generated_at"], snap["last_update"]) == ("2026-11-28T10:00:00Z",
                                                           "2026-11-28T09:59:58Z")  # fmt: skip
    assert snap["alarms"][0]["raised_at"] == "2026-11-28T10:00:00Z"
    assert snap["incidents"][0]["resolve_due_at"] == "2026-11-29T10:00:00Z"
    assert orjson.loads(orjson.dumps(snap)) == snap  # plain JSON all the way down


def test_statuses_per_storey_building_and_scene() -> None:
    live = state()
    snap = live.snapshot(T)
    # b02 has an offline power meter and nothing else wrong
    assert building(snap, "b02")["status"] == "offline"
    assert building(snap, "b02")["scenes"]["energy"] == "offline"  # type: ignore[index]
    assert building(snap, "b02")["scenes"]["safety"] == "normal"  # type: ignore[index]
    assert storey(snap, "b02", 1)["status"] == "offline"
    assert storey(snap, "b02", 2)["status"] == "normal"  # the robot never reported: unknown
    assert building(snap, "b01")["status"] == "normal"

    live.upsert_alarm(alarm(1, "wear-1", "wearable", "minor", "b01", 3))
    live.upsert_alarm(alarm(2, "meter-b02", "power_meter", "major", "b02", 1))
    snap = live.snapshot(T)
    s3 = storey(snap, "b01", 3)
    assert (s3["status"], s3["worst_severity"], s3["alarms_active"]) == ("warning", "minor", 1)
    assert s3["scenes"] == {"safety": "normal", "elderly": "warning", "energy": "normal",
                            "traffic": "normal", "governance": "normal"}  # fmt: skip
    b02 = building(snap, "b02")
    # an alarm outranks the offline device it is about
    assert (b02["status"], b02["worst_severity"]) == ("alarm", "major")
    assert b02["scenes"]["energy"] == "alarm"  # type: ignore[index]

    live.upsert_alarm(alarm(3, "smoke-b01-0101", "smoke", "critical", "b01", 1))
    b01 = building(live.snapshot(T), "b01")
    assert (b01["status"], b01["worst_severity"], b01["alarms_active"]) == ("alarm", "critical", 2)
    assert b01["scenes"]["safety"] == "alarm"  # type: ignore[index]
    assert b01["scenes"]["elderly"] == "warning"  # type: ignore[index]
    # an alarm on a device of a kind in no scene colours only the overall status
    live.upsert_alarm(alarm(4, "robot-1", "robot", "warning", "b02", 2))
    s = storey(live.snapshot(T), "b02", 2)
    assert s["status"] == "warning"
    assert set(s["scenes"].values()) == {"normal"}  # type: ignore[attr-defined]


def test_governance_scene_follows_open_and_overdue_incidents() -> None:
    live = state()
    live.upsert_incident(incident("r-1", storey=3))
    live.upsert_incident(incident("r-2", building="b02", storey=None, accepted=True))
    snap = live.snapshot(T + timedelta(minutes=10))
    assert storey(snap, "b01", 3)["scenes"]["governance"] == "warning"  # type: ignore[index]
    assert storey(snap, "b01", 3)["incidents_open"] == 1
    assert storey(snap, "b01", 3)["status"] == "normal"  # incidents don't colour overall
    assert building(snap, "b02")["scenes"]["governance"] == "warning"  # type: ignore[index]
    assert all(s["incidents_open"] == 0 for s in building(snap, "b02")["storeys"])  # type: ignore[attr-defined]
    assert snap["kpis"]["incidents_overdue"] == 0  # type: ignore[index]
    # 31 minutes: r-1 was never accepted (respond overdue); r-2 was
    snap = live.snapshot(T + timedelta(minutes=31))
    assert storey(snap, "b01", 3)["scenes"]["governance"] == "alarm"  # type: ignore[index]
    assert building(snap, "b01")["scenes"]["governance"] == "alarm"  # type: ignore[index]
    assert building(snap, "b02")["scenes"]["governance"] == "warning"  # type: ignore[index]
    assert [(i["id"], i["overdue"]) for i in snap["incidents"]] == [("r-1", True), ("r-2", False)]  # type: ignore[attr-defined]
    assert snap["kpis"]["incidents_overdue"] == 1  # type: ignore[index]
    # a day later both are past the resolve deadline; a resolved one is not
    live.upsert_incident(replace(incident("r-2", building="b02", storey=None), status="resolved",
                                 accepted_at=T))  # fmt: skip
    snap = live.snapshot(T + timedelta(hours=25))
    assert snap["kpis"]["incidents_overdue"] == 1  # type: ignore[index]
    assert snap["kpis"]["incidents_open"] == 2  # type: ignore[index]
    # closed and cancelled incidents leave the live state
    live.upsert_incident(replace(incident("r-1"), status="closed"))
    live.upsert_incident(replace(incident("r-2"), status="cancelled"))
    snap = live.snapshot(T + timedelta(hours=25))
    assert snap["incidents"] == []
    assert building(snap, "b01")["scenes"]["governance"] == "normal"  # type: ignore[index]


def test_kpis_count_devices_alarms_and_incidents() -> None:
    live = state()
    live.upsert_alarm(alarm(1, "smoke-b01-0101", "smoke", "critical", "b01", 1))
    live.upsert_alarm(alarm(2, "wear-1", "wearable", "warning", "b01", 3, state="active_ack"))
    live.upsert_alarm(alarm(3, "parking-north", "parking", "warning", None, None))
    live.upsert_alarm(alarm(4, "smoke-b01-0201", "smoke", "major", "b01", 2, state="cleared"))
    live.upsert_incident(incident("r-1", building=None, storey=None))
    live.set_closed_loop(ClosedLoop(rate=0.5, rate_today=None, rate_30d=0.75))
    k = live.snapshot(T)["kpis"]
    assert k == {
        "devices_total": 6, "devices_online": 4,
        "alarms_active": {"critical": 1, "major": 0, "minor": 0, "warning": 2},
        "incidents_open": 1, "incidents_overdue": 0,
        "closed_loop_rate": 0.5, "closed_loop_rate_today": None, "closed_loop_rate_30d": 0.75,
    }  # fmt: skip


def test_alarm_list_is_worst_first_then_newest() -> None:
    live = state()
    live.upsert_alarm(alarm(1, "wear-1", "wearable", "warning", "b01", 3, minutes=5))
    live.upsert_alarm(alarm(2, "smoke-b01-0101", "smoke", "critical", "b01", 1, minutes=0))
    live.upsert_alarm(alarm(3, "smoke-b01-0201", "smoke", "critical", "b01", 2, minutes=9))
    live.upsert_alarm(alarm(4, "meter-b02", "power_meter", "major", "b02", 1, minutes=1))
    assert [a["id"] for a in live.snapshot(T)["alarms"]] == [3, 2, 4, 1]


def test_updates_move_counts_and_cleared_alarms_leave() -> None:
    live = state()
    live.upsert_alarm(alarm(1, "wear-1", "wearable", "critical", "b01", 3))
    # the wearer walks to b02 storey 2: the alarm moves with its row
    live.upsert_alarm(alarm(1, "wear-1", "wearable", "critical", "b02", 2))
    snap = live.snapshot(T)
    assert storey(snap, "b01", 3)["alarms_active"] == 0
    assert storey(snap, "b02", 2)["status"] == "alarm"
    live.upsert_alarm(alarm(1, "wear-1", "wearable", "critical", "b02", 2, state="cleared"))
    snap = live.snapshot(T)
    assert snap["alarms"] == []
    assert storey(snap, "b02", 2)["alarms_active"] == 0
    # devices: going online, moving, leaving
    live.upsert_device(DeviceState("meter-b02", "power_meter", "b02", 1, online=True))
    assert building(live.snapshot(T), "b02")["status"] == "normal"
    live.upsert_device(DeviceState("smoke-b01-0101", "smoke", "b02", 2, online=False))
    snap = live.snapshot(T)
    assert storey(snap, "b01", 1)["devices_total"] == 0
    assert storey(snap, "b02", 2)["status"] == "offline"
    live.remove_device("smoke-b01-0101")
    snap = live.snapshot(T)
    assert snap["kpis"]["devices_total"] == 5  # type: ignore[index]
    assert storey(snap, "b02", 2)["status"] == "normal"


def test_rows_outside_the_layout_count_for_the_community_only() -> None:
    live = state()
    live.upsert_device(DeviceState("stray", "smoke", "b99", 1, online=False))
    live.upsert_alarm(alarm(1, "stray", "smoke", "critical", "b99", 1))
    live.upsert_alarm(alarm(2, "smoke-b01-0101", "smoke", "major", "b01", 40))
    snap = live.snapshot(T)
    assert snap["kpis"]["devices_total"] == 7  # type: ignore[index]
    assert snap["kpis"]["alarms_active"]["critical"] == 1  # type: ignore[index]
    b01 = building(snap, "b01")
    assert (b01["status"], b01["alarms_active"]) == ("alarm", 1)  # storey 40: building only
    assert all(s["alarms_active"] == 0 for s in b01["storeys"])  # type: ignore[attr-defined]


def test_storeys_are_listed_bottom_up() -> None:
    layout = CommunityLayout.from_mapping("c", "C", {"b": [3, -1, 1, 2, -2]})
    snap = LiveState(layout).snapshot(T)
    assert [s["index"] for s in snap["buildings"][0]["storeys"]] == [-2, -1, 1, 2, 3]


def test_version_never_goes_back() -> None:
    live = state()
    live.set_version(10, T)
    live.set_version(9, T + timedelta(seconds=5))
    assert (live.version, live.last_update) == (10, T)
    live.set_version(11, T + timedelta(seconds=6))
    assert live.snapshot(T)["last_update"] == "2026-11-28T10:00:06Z"


def test_bad_rows_are_rejected_without_changing_the_state() -> None:
    live = state()
    live.upsert_alarm(alarm(1, "wear-1", "wearable", "minor", "b01", 3))
    before = live.snapshot(T)
    with pytest.raises(ValueError, match="unknown alarm severity 'fatal'"):
        live.upsert_alarm(alarm(1, "wear-1", "wearable", "fatal", "b01", 3))
    with pytest.raises(ValueError, match="alarm 1: unknown state 'open'"):
        live.upsert_alarm(alarm(1, "wear-1", "wearable", "minor", "b01", 3, state="open"))
    with pytest.raises(ValueError, match="incident 'r-1': unknown status 'done'"):
        live.upsert_incident(incident("r-1", status="done"))
    naive = datetime(2026, 1, 1)
    with pytest.raises(ValueError, match="naive datetime"):
        live.snapshot(naive)
    with pytest.raises(ValueError, match="naive datetime"):
        live.upsert_alarm(
            replace(alarm(1, "wear-1", "wearable", "major", "b01", 3), raised_at=naive)
        )
    with pytest.raises(ValueError, match="naive datetime"):
        live.upsert_incident(replace(incident("r-1"), resolve_due_at=naive))
    with pytest.raises(ValueError, match="building 'b01' appears twice"):
        LiveState(CommunityLayout("c", "C", (LAYOUT.buildings[0],) * 2))
    assert live.snapshot(T) == before


def test_latest_values_are_kept_per_device() -> None:
    live = state()
    assert live.set_values("wear-1", {"heart_rate": 72.0}, T)
    assert live.set_values("wear-1", {"battery": 80.0}, T - timedelta(minutes=1))
    got = live.device("wear-1")
    assert got is not None
    assert dict(got.values) == {"heart_rate": 72.0, "battery": 80.0}
    assert got.last_seen == T
    assert not live.set_values("nobody", {"x": 1.0}, T)
    assert live.snapshot(T)["kpis"]["devices_online"] == 4  # type: ignore[index]
