"""The live state of one community: what the cockpit's ``/live`` snapshot shows.

Built from full state (what a database rebuild gives) and kept current by
upserts of the rows that changed; each upsert costs O(1) counter updates.
``snapshot(now)`` renders the document of docs/DESIGN.md; unchanged storeys
and buildings reuse their cached entries, so the returned nested dicts are
shared and must be treated as read-only (serialise them, don't edit them).
Not thread-safe: one owner (the API's event loop) updates and reads it.

>>> from datetime import datetime, timezone
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> live = LiveState(CommunityLayout.from_mapping("lanting", "Lanting", {"b01": [1, 2]}),
...                  devices=[DeviceState("smoke-1", "smoke", "b01", 1, online=True)])
>>> live.upsert_alarm(AlarmState(17, "smoke-1", "smoke", "smoke", "critical", "active_unack", t,
...                              building="b01", storey=1))
>>> live.set_version(5, t)
>>> snap = live.snapshot(t)
>>> snap["version"], snap["kpis"]["alarms_active"], snap["buildings"][0]["status"]
(5, {'critical': 1, 'major': 0, 'minor': 0, 'warning': 0}, 'alarm')
>>> [(s["index"], s["scenes"]["safety"]) for s in snap["buildings"][0]["storeys"]]
[(1, 'alarm'), (2, 'normal')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from twin.live.rows import (
    ALARM_STATES,
    INCIDENT_STATUSES,
    AlarmState,
    BuildingLayout,
    ClosedLoop,
    CommunityLayout,
    DeviceState,
    IncidentState,
    iso,
)
from twin.live.tally import (
    SEVERITY_ORDER,
    Tally,
    governance_status,
    scene_index,
    severity_index,
)

__all__ = [
    "AlarmState",
    "BuildingLayout",
    "ClosedLoop",
    "CommunityLayout",
    "DeviceState",
    "IncidentState",
    "LiveState",
]

_Place = tuple[str | None, int | None]
NO_CLOSED_LOOP = ClosedLoop()


class LiveState:
    def __init__(
        self,
        layout: CommunityLayout,
        *,
        devices: Iterable[DeviceState] = (),
        alarms: Iterable[AlarmState] = (),
        incidents: Iterable[IncidentState] = (),
        closed_loop: ClosedLoop = NO_CLOSED_LOOP,
        version: int = 0,
        last_update: datetime | None = None,
    ) -> None:
        self.layout = layout
        self._community = Tally()
        self._buildings: dict[str, Tally] = {}
        self._storeys: dict[tuple[str, int], Tally] = {}
        self._storey_order: dict[str, tuple[int, ...]] = {}
        for b in layout.buildings:
            if b.id in self._buildings:
                raise ValueError(f"building {b.id!r} appears twice in the layout")
            self._buildings[b.id] = Tally()
            self._storey_order[b.id] = tuple(sorted(set(b.storeys)))
            for idx in self._storey_order[b.id]:
                self._storeys[(b.id, idx)] = Tally()
        self._devices: dict[str, DeviceState] = {}
        self._alarms: dict[int, AlarmState] = {}
        self._alarm_entries: dict[int, dict[str, Any]] = {}
        self._alarm_list: list[dict[str, Any]] | None = None
        self._incidents: dict[str, IncidentState] = {}
        self.closed_loop = closed_loop
        self.version = version
        self.last_update = last_update
        for d in devices:
            self.upsert_device(d)
        for a in alarms:
            self.upsert_alarm(a)
        for i in incidents:
            self.upsert_incident(i)

    # ------------------------------------------------------------ placement
    def _nodes(self, place: _Place) -> list[Tally]:
        """The community, plus the building and storey when the layout has them."""
        building, storey = place
        nodes = [self._community]
        b = self._buildings.get(building) if building is not None else None
        if b is not None:
            nodes.append(b)
            s = self._storeys.get((building, storey)) if storey is not None else None  # type: ignore[arg-type]
            if s is not None:
                nodes.append(s)
        return nodes

    # -------------------------------------------------------------- devices
    def upsert_device(self, device: DeviceState) -> None:
        old = self._devices.get(device.id)
        if old is not None:
            for node in self._nodes((old.building, old.storey)):
                node.add_device(scene_index(old.kind), old.online, -1)
        self._devices[device.id] = device
        for node in self._nodes((device.building, device.storey)):
            node.add_device(scene_index(device.kind), device.online, +1)

    def remove_device(self, device_id: str) -> None:
        old = self._devices.pop(device_id, None)
        if old is not None:
            for node in self._nodes((old.building, old.storey)):
                node.add_device(scene_index(old.kind), old.online, -1)

    def set_values(self, device_id: str, values: Mapping[str, float], at: datetime) -> bool:
        """Merge a device's latest values (no effect on statuses); False if unknown."""
        old = self._devices.get(device_id)
        if old is None:
            return False
        merged = MappingProxyType({**old.values, **values})
        seen = at if old.last_seen is None or at > old.last_seen else old.last_seen
        self._devices[device_id] = replace(old, values=merged, last_seen=seen)
        return True

    def device(self, device_id: str) -> DeviceState | None:
        return self._devices.get(device_id)

    def devices(self) -> list[DeviceState]:
        return list(self._devices.values())

    # --------------------------------------------------------------- alarms
    def upsert_alarm(self, alarm: AlarmState) -> None:
        """Add or change an alarm; a cleared alarm leaves the live state."""
        # Reject bad rows before changing anything.
        severity_index(alarm.severity)
        if alarm.state not in ALARM_STATES:
            raise ValueError(f"alarm {alarm.id}: unknown state {alarm.state!r}")
        entry = alarm_entry(alarm)
        self._remove_alarm(alarm.id)
        if not alarm.active:
            return
        self._alarms[alarm.id] = alarm
        self._alarm_entries[alarm.id] = entry
        for node in self._nodes((alarm.building, alarm.storey)):
            node.add_alarm(scene_index(alarm.kind), alarm.severity, +1)

    def remove_alarm(self, alarm_id: int) -> None:
        self._remove_alarm(alarm_id)

    def _remove_alarm(self, alarm_id: int) -> None:
        old = self._alarms.pop(alarm_id, None)
        self._alarm_list = None
        if old is None:
            return
        del self._alarm_entries[alarm_id]
        for node in self._nodes((old.building, old.storey)):
            node.add_alarm(scene_index(old.kind), old.severity, -1)

    def alarms(self) -> list[AlarmState]:
        return list(self._alarms.values())

    # ------------------------------------------------------------ incidents
    def upsert_incident(self, incident: IncidentState) -> None:
        """Add or change an incident; a closed or cancelled one leaves the live state."""
        if incident.status not in INCIDENT_STATUSES:
            raise ValueError(f"incident {incident.id!r}: unknown status {incident.status!r}")
        incident_entry(incident, overdue=False)  # fails on naive times, before any change
        self.remove_incident(incident.id)
        if not incident.open:
            return
        self._incidents[incident.id] = incident
        for node in self._nodes((incident.building, incident.storey)):
            node.add_incident(+1)

    def remove_incident(self, incident_id: str) -> None:
        old = self._incidents.pop(incident_id, None)
        if old is not None:
            for node in self._nodes((old.building, old.storey)):
                node.add_incident(-1)

    def incidents(self) -> list[IncidentState]:
        return list(self._incidents.values())

    # ------------------------------------------------------------ community
    def set_closed_loop(self, closed_loop: ClosedLoop) -> None:
        self.closed_loop = closed_loop

    def set_version(self, seq: int, at: datetime | None) -> None:
        """The change-log sequence and time this state reflects (never goes back)."""
        if seq >= self.version:
            self.version = seq
            self.last_update = at if at is not None else self.last_update

    # ------------------------------------------------------------- snapshot
    def snapshot(self, now: datetime) -> dict[str, Any]:
        """The ``/live`` document at ``now`` (overdue incidents depend on it)."""
        generated_at = iso(now)
        incidents = sorted(
            self._incidents.values(), key=lambda i: (-i.reported_at.timestamp(), i.id)
        )
        overdue_at: set[_Place] = set()
        entries = []
        for inc in incidents:
            late = inc.overdue(now)
            if late:
                overdue_at.add((inc.building, None))
                overdue_at.add((inc.building, inc.storey))
            entries.append(incident_entry(inc, late))
        c = self._community
        loop = self.closed_loop
        kpis = {
            "devices_total": c.devices_total,
            "devices_online": c.devices_online,
            "alarms_active": dict(zip(SEVERITY_ORDER, c.by_severity(), strict=True)),
            "incidents_open": c.incidents_open,
            "incidents_overdue": sum(1 for e in entries if e["overdue"]),
            "closed_loop_rate": loop.rate,
            "closed_loop_rate_today": loop.rate_today,
            "closed_loop_rate_30d": loop.rate_30d,
        }
        return {
            "community": self.layout.id,
            "name": self.layout.name,
            "version": self.version,
            "generated_at": generated_at,
            "last_update": iso(self.last_update),
            "kpis": kpis,
            "buildings": [self._building_entry(b, overdue_at) for b in self.layout.buildings],
            "alarms": list(self._sorted_alarms()),
            "incidents": entries,
        }

    def _building_entry(self, b: BuildingLayout, overdue_at: set[_Place]) -> dict[str, Any]:
        tally = self._buildings[b.id]
        gov = governance_status((b.id, None) in overdue_at, tally.incidents_open)
        storeys = []
        for idx in self._storey_order[b.id]:
            st = self._storeys[(b.id, idx)]
            st_gov = governance_status((b.id, idx) in overdue_at, st.incidents_open)
            storeys.append(st.body("index", idx, st_gov))
        return {**tally.body("id", b.id, gov), "storeys": storeys}

    def _sorted_alarms(self) -> list[dict[str, Any]]:
        if self._alarm_list is None:
            order = sorted(
                self._alarms.values(),
                key=lambda a: (severity_index(a.severity), -a.raised_at.timestamp(), a.id),
            )
            self._alarm_list = [self._alarm_entries[a.id] for a in order]
        return self._alarm_list

    @property
    def community(self) -> Tally:
        """The whole community's counters (read them, never change them)."""
        return self._community

    def tallies(self) -> dict[str, tuple[object, ...]]:
        """Every node's counters (for checking an incremental state against a rebuild)."""
        out = {"community": self._community.counts()}
        out.update({f"b:{k}": t.counts() for k, t in self._buildings.items()})
        out.update({f"s:{b}:{i}": t.counts() for (b, i), t in self._storeys.items()})
        return out


def alarm_entry(a: AlarmState) -> dict[str, Any]:
    """An alarm as the ``/live`` document lists it."""
    return {
        "id": a.id,
        "device": a.device,
        "kind": a.kind,
        "rule": a.rule,
        "severity": a.severity,
        "state": a.state,
        "message": a.message,
        "value": a.value,
        "raised_at": iso(a.raised_at),
        "building": a.building,
        "storey": a.storey,
        "unit": a.unit,
        "grid": a.grid,
        "incident": a.incident,
    }


def incident_entry(i: IncidentState, overdue: bool) -> dict[str, Any]:
    """An incident as the ``/live`` document lists it."""
    return {
        "id": i.id,
        "status": i.status,
        "category": i.category,
        "priority": i.priority,
        "title": i.title,
        "assignee": i.assignee,
        "grid": i.grid,
        "building": i.building,
        "storey": i.storey,
        "unit": i.unit,
        "x": i.x,
        "y": i.y,
        "z": i.z,
        "reported_at": iso(i.reported_at),
        "respond_due_at": iso(i.respond_due_at),
        "resolve_due_at": iso(i.resolve_due_at),
        "overdue": overdue,
        "escalated": i.escalated,
    }
