"""Database rows of the live state (as ``dict_row`` gives them) → twin live rows.

Pure; the SQL that selects these columns lives in :mod:`api.live.loading`.

>>> from datetime import datetime, timezone
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> device_state({"id": "s1", "kind": "smoke", "building_id": "b1", "storey_idx": 2,
...               "unit_id": None, "grid_id": "g1", "online": False})
DeviceState(id='s1', kind='smoke', building='b1', storey=2, unit=None, grid='g1', online=False, \
last_seen=None, values=mappingproxy({}))
>>> layout("c", "C", [{"id": "b1", "name": "1幢", "storeys": [-1, 1, 2]}]).buildings
(BuildingLayout(id='b1', storeys=(-1, 1, 2), name='1幢'),)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from api.live.document import RecentIncident
from twin.live.state import (
    AlarmState,
    BuildingLayout,
    CommunityLayout,
    DeviceState,
    IncidentState,
)

Row = Mapping[str, Any]


def layout(community: str, name: str, buildings: Iterable[Row]) -> CommunityLayout:
    """Buildings in the order given, each with its storey indexes."""
    return CommunityLayout(
        community,
        name,
        tuple(BuildingLayout(b["id"], tuple(b["storeys"] or ()), b.get("name")) for b in buildings),
    )


def device_state(r: Row) -> DeviceState:
    """A device at its modelled place (a wearable's home; located positions are
    telemetry and do not move the live state)."""
    return DeviceState(
        r["id"],
        kind=r["kind"],
        building=r["building_id"],
        storey=r["storey_idx"],
        unit=r["unit_id"],
        grid=r["grid_id"],
        online=r["online"],
    )


def alarm_state(r: Row) -> AlarmState:
    return AlarmState(
        int(r["id"]),
        r["device_id"],
        r["kind"],
        r["rule_id"],
        r["severity"],
        r["state"],
        r["raised_at"],
        message=r["message"],
        value=r["value"],
        building=r["building_id"],
        storey=r["storey_idx"],
        unit=r["unit_id"],
        grid=r["grid_id"],
        incident=r["incident_id"],
    )


def incident_state(r: Row) -> IncidentState:
    return IncidentState(
        r["id"],
        r["status"],
        r["reported_at"],
        category=r["category"],
        priority=r["priority"],
        title=r["title"],
        assignee=r["assignee"],
        grid=r["grid_id"],
        building=r["building_id"],
        storey=r["storey_idx"],
        unit=r["unit_id"],
        x=r["x"],
        y=r["y"],
        z=r["z"],
        respond_due_at=r["respond_due_at"],
        resolve_due_at=r["resolve_due_at"],
        accepted_at=r["accepted_at"],
        escalated=r["escalated_at"] is not None,
    )


def recent_incident(r: Row) -> RecentIncident:
    return RecentIncident(r["reported_at"], r["status"])
