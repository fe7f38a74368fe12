"""A live state updated change by change equals one rebuilt from the final rows,
and both equal a snapshot computed the plain way from those rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from twin.live.state import (
    AlarmState,
    ClosedLoop,
    CommunityLayout,
    DeviceState,
    IncidentState,
    LiveState,
)
from twin.model.kinds import SCENES, scene_of

T = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
LAYOUT = CommunityLayout.from_mapping("c", "C", {"b01": [-1, 1, 2], "b02": [1]})
BUILDINGS = st.sampled_from(["b01", "b02", "b99", None])
STOREYS = st.sampled_from([-1, 1, 2, 7, None])
KINDS = st.sampled_from(["smoke", "wearable", "power_meter", "parking", "robot", None])
SEVERITIES = ["critical", "major", "minor", "warning"]
MINUTES = st.integers(-2000, 2000).map(lambda m: T + timedelta(minutes=m))

devices = st.builds(
    DeviceState,
    id=st.sampled_from([f"d{i}" for i in range(8)]),
    kind=KINDS,
    building=BUILDINGS,
    storey=STOREYS,
    online=st.sampled_from([True, False, None]),
)
alarms = st.builds(
    AlarmState,
    id=st.integers(1, 10),
    device=st.sampled_from([f"d{i}" for i in range(8)]),
    kind=KINDS,
    rule=st.just("r"),
    severity=st.sampled_from(SEVERITIES),
    state=st.sampled_from(["active_unack", "active_ack", "cleared"]),
    raised_at=MINUTES,
    building=BUILDINGS,
    storey=STOREYS,
)
incidents = st.builds(
    IncidentState,
    id=st.sampled_from([f"r{i}" for i in range(6)]),
    status=st.sampled_from(
        ["reported", "dispatched", "accepted", "resolved", "closed", "cancelled"]
    ),
    reported_at=MINUTES,
    building=BUILDINGS,
    storey=STOREYS,
    respond_due_at=st.one_of(st.none(), MINUTES),
    resolve_due_at=st.one_of(st.none(), MINUTES),
    accepted_at=st.one_of(st.none(), st.just(T)),
    escalated=st.booleans(),
)
changes = st.lists(
    st.one_of(
        devices,
        alarms,
        incidents,
        st.tuples(st.just("remove_device"), st.sampled_from([f"d{i}" for i in range(8)])),
        st.tuples(st.just("remove_incident"), st.sampled_from([f"r{i}" for i in range(6)])),
        st.tuples(st.just("version"), st.integers(0, 100), MINUTES),
        st.builds(ClosedLoop, st.floats(0, 1), st.none(), st.floats(0, 1)),
        st.just("snapshot"),
    ),
    max_size=60,
)


@dataclass
class Rows:
    """What the database holds after the changes."""

    devices: dict[str, DeviceState] = field(default_factory=dict)
    alarms: dict[int, AlarmState] = field(default_factory=dict)
    incidents: dict[str, IncidentState] = field(default_factory=dict)
    loop: ClosedLoop = field(default_factory=ClosedLoop)
    version: int = 0
    at: datetime | None = None


def play(ops: list[object]) -> tuple[LiveState, Rows]:
    live, rows = LiveState(LAYOUT), Rows()
    for op in ops:
        if isinstance(op, DeviceState):
            live.upsert_device(op)
            rows.devices[op.id] = op
        elif isinstance(op, AlarmState):
            live.upsert_alarm(op)
            rows.alarms[op.id] = op
        elif isinstance(op, IncidentState):
            live.upsert_incident(op)
            rows.incidents[op.id] = op
        elif isinstance(op, ClosedLoop):
            live.set_closed_loop(op)
            rows.loop = op
        elif op == "snapshot":
            live.snapshot(T)  # fills the caches the later changes must invalidate
        elif isinstance(op, tuple) and op[0] == "remove_device":
            live.remove_device(op[1])
            rows.devices.pop(op[1], None)
        elif isinstance(op, tuple) and op[0] == "remove_incident":
            live.remove_incident(op[1])
            rows.incidents.pop(op[1], None)
        elif isinstance(op, tuple) and op[0] == "version":
            live.set_version(op[1], op[2])
            if op[1] >= rows.version:
                rows.version, rows.at = op[1], op[2]
    return live, rows


def status(alarms: list[AlarmState], offline: bool) -> str:
    if any(a.severity in ("critical", "major") for a in alarms):
        return "alarm"
    if alarms:
        return "warning"
    return "offline" if offline else "normal"


def node(rows: Rows, now: datetime, building: str, storey: int | None) -> dict[str, Any]:
    """One building (storey None) or storey entry, computed from scratch."""

    def here(b: str | None, s: int | None) -> bool:
        if b != building:
            return False
        if storey is None:
            return True
        return s == storey

    devs = [d for d in rows.devices.values() if here(d.building, d.storey)]
    alarms = [a for a in rows.alarms.values() if a.active and here(a.building, a.storey)]
    incs = [i for i in rows.incidents.values() if i.open and here(i.building, i.storey)]
    scenes = {
        s: status(
            [a for a in alarms if scene_of(a.kind) == s],
            any(d.online is False and scene_of(d.kind) == s for d in devs),
        )
        for s in SCENES
        if s != "governance"
    }
    late = any(i.overdue(now) for i in incs)
    scenes["governance"] = "alarm" if late else "warning" if incs else "normal"
    worst = next((s for s in SEVERITIES if any(a.severity == s for a in alarms)), None)
    return {
        "status": status(alarms, any(d.online is False for d in devs)),
        "worst_severity": worst,
        "devices_total": len(devs),
        "devices_online": sum(d.online is True for d in devs),
        "alarms_active": len(alarms),
        "incidents_open": len(incs),
        "scenes": {s: scenes[s] for s in SCENES},
    }


def reference(rows: Rows, now: datetime) -> dict[str, Any]:
    active = [a for a in rows.alarms.values() if a.active]
    open_ = [i for i in rows.incidents.values() if i.open]
    buildings = []
    for b in LAYOUT.buildings:
        entry = {"id": b.id, **node(rows, now, b.id, None)}
        entry["storeys"] = [{"index": s, **node(rows, now, b.id, s)} for s in sorted(b.storeys)]
        buildings.append(entry)
    return {
        "kpis": {
            "devices_total": len(rows.devices),
            "devices_online": sum(d.online is True for d in rows.devices.values()),
            "alarms_active": {s: sum(a.severity == s for a in active) for s in SEVERITIES},
            "incidents_open": len(open_),
            "incidents_overdue": sum(i.overdue(now) for i in open_),
            "closed_loop_rate": rows.loop.rate,
            "closed_loop_rate_today": rows.loop.rate_today,
            "closed_loop_rate_30d": rows.loop.rate_30d,
        },
        "buildings": buildings,
        "alarm_ids": sorted(a.id for a in active),
        "incident_ids": sorted(i.id for i in open_),
    }


@settings(max_examples=300, deadline=None)
@given(ops=changes, offset=st.integers(-3000, 3000))
def test_incremental_equals_rebuilt_equals_reference(ops: list[object], offset: int) -> None:
    live, rows = play(ops)
    rebuilt = LiveState(
        LAYOUT,
        devices=rows.devices.values(),
        alarms=rows.alarms.values(),
        incidents=rows.incidents.values(),
        closed_loop=rows.loop,
        version=rows.version,
        last_update=rows.at,
    )
    now = T + timedelta(minutes=offset)
    got = live.snapshot(now)
    assert got == rebuilt.snapshot(now)
    assert live.tallies() == rebuilt.tallies()
    want = reference(rows, now)
    assert got["kpis"] == want["kpis"]
    assert got["buildings"] == want["buildings"]
    assert sorted(a["id"] for a in got["alarms"]) == want["alarm_ids"]
    assert sorted(i["id"] for i in got["incidents"]) == want["incident_ids"]
    assert got["version"] == rows.version


@settings(max_examples=300, deadline=None)
@given(incident=incidents, offset=st.integers(-3000, 3000))
def test_overdue_agrees_with_the_incident_state_machine(
    incident: IncidentState, offset: int
) -> None:
    """The live state and the incident records must call the same incidents overdue."""
    from twin.incidents.events import Status  # noqa: PLC0415 (another area's module)
    from twin.incidents.record import IncidentRecord, is_overdue  # noqa: PLC0415

    record = IncidentRecord(
        "c",
        incident.id,
        Status(incident.status),
        incident.reported_at,
        incident.reported_at,
        respond_due_at=incident.respond_due_at,
        resolve_due_at=incident.resolve_due_at,
        accepted_at=incident.accepted_at,
    )
    now = T + timedelta(minutes=offset)
    assert incident.overdue(now) == is_overdue(record, now)
