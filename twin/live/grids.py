"""Status per governance grid from the live state's devices and active alarms.

Pure. The same rule as every storey and building (:func:`twin.live.status.status_of`),
counted from the same in-memory state as ``/live``, so ``/grids`` and ``/live``
agree for one version.

>>> from datetime import datetime, timezone
>>> from twin.live.rows import AlarmState, DeviceState
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> devices = [DeviceState("s1", "smoke", grid="g1", online=True),
...            DeviceState("s2", "smoke", grid="g1", online=False),
...            DeviceState("w1", "water", grid="g2", online=True)]
>>> alarms = [AlarmState(1, "w1", "water", "leak", "minor", "active_unack", t, grid="g2")]
>>> counts = grid_counts(devices, alarms)
>>> counts["g1"].status, counts["g1"].devices_online, counts["g2"].status
('offline', 1, 'warning')
>>> counts["g2"].worst_severity, counts["g2"].alarms_active
('minor', 1)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from twin.live.rows import AlarmState, DeviceState
from twin.live.status import Severity, Status, status_of, worst


@dataclass(slots=True)
class GridCounts:
    devices_total: int = 0
    devices_online: int = 0
    devices_offline: int = 0
    alarms_active: int = 0
    severities: list[str] = field(default_factory=list)

    @property
    def worst_severity(self) -> Severity | None:
        return worst(self.severities)

    @property
    def status(self) -> Status:
        return status_of(self.worst_severity, self.devices_offline)


def grid_counts(
    devices: Iterable[DeviceState], alarms: Iterable[AlarmState]
) -> dict[str, GridCounts]:
    """Counts per grid id (only grids that hold a device or an active alarm)."""
    out: dict[str, GridCounts] = {}
    for d in devices:
        if d.grid is None:
            continue
        c = out.setdefault(d.grid, GridCounts())
        c.devices_total += 1
        c.devices_online += d.online is True
        c.devices_offline += d.online is False
    for a in alarms:
        if a.grid is None or not a.active:
            continue
        c = out.setdefault(a.grid, GridCounts())
        c.alarms_active += 1
        c.severities.append(a.severity)
    return out
