"""Counters behind one storey, one building or the whole community, and the
statuses the cockpit colours them by.

Status of a node, overall and per scene: ``alarm`` (an active critical or
major alarm), ``warning`` (an active minor or warning alarm), ``offline`` (a
device offline, no alarm), else ``normal``. The governance scene is ``alarm``
with an overdue incident, ``warning`` with an open one.

>>> t = Tally()
>>> t.add_device(scene_index("smoke"), online=False, sign=1)
>>> t.status(), t.scene_status(scene_index("smoke")), t.scene_status(scene_index("parking"))
('offline', 'offline', 'normal')
>>> t.add_alarm(scene_index("smoke"), "minor", sign=1)
>>> t.status(), t.worst_severity()
('warning', 'minor')
"""

from __future__ import annotations

from typing import Any

from twin.live.status import SEVERITIES, status_of
from twin.model.kinds import SCENES, scene_of

# Severities from worst to mildest, as the snapshot lists them.
SEVERITY_ORDER: tuple[str, ...] = SEVERITIES
_SEV = {s: i for i, s in enumerate(SEVERITY_ORDER)}
# Scenes devices can belong to; one more slot for kinds in no scene.
DEVICE_SCENES: tuple[str, ...] = tuple(s for s in SCENES if s != "governance")
_NO_SCENE = len(DEVICE_SCENES)
_SCENE = {s: i for i, s in enumerate(DEVICE_SCENES)}


def scene_index(kind: str | None) -> int:
    scene = scene_of(kind)
    return _SCENE.get(scene, _NO_SCENE) if scene is not None else _NO_SCENE


def severity_index(severity: str) -> int:
    try:
        return _SEV[severity]
    except KeyError:
        raise ValueError(f"unknown alarm severity {severity!r}") from None


def governance_status(overdue: bool, incidents_open: int) -> str:
    return "alarm" if overdue else "warning" if incidents_open else "normal"


class Tally:
    """Counts of one node, kept by adding and removing contributions (sign ±1)."""

    __slots__ = (
        "alarms",
        "alarms_active",
        "cache",
        "devices_online",
        "devices_total",
        "incidents_open",
        "offline",
    )

    def __init__(self) -> None:
        self.devices_total = 0
        self.devices_online = 0
        self.offline = [0] * (_NO_SCENE + 1)
        self.alarms = [[0] * len(SEVERITY_ORDER) for _ in range(_NO_SCENE + 1)]
        self.alarms_active = 0
        self.incidents_open = 0
        # (governance status, body dict) of the last snapshot; None once changed.
        self.cache: tuple[object, dict[str, Any]] | None = None

    def add_device(self, scene: int, online: bool | None, sign: int) -> None:
        self.devices_total += sign
        if online is True:
            self.devices_online += sign
        elif online is False:
            self.offline[scene] += sign
        self.cache = None

    def add_alarm(self, scene: int, severity: str, sign: int) -> None:
        self.alarms[scene][severity_index(severity)] += sign
        self.alarms_active += sign
        self.cache = None

    def add_incident(self, sign: int) -> None:
        self.incidents_open += sign
        self.cache = None

    @staticmethod
    def _status(alarms: list[int], offline: int) -> str:
        worst = next((SEVERITY_ORDER[i] for i, n in enumerate(alarms) if n), None)
        return status_of(worst, offline)

    def scene_status(self, scene: int) -> str:
        return self._status(self.alarms[scene], self.offline[scene])

    def by_severity(self) -> list[int]:
        return [sum(col) for col in zip(*self.alarms, strict=True)]

    def status(self) -> str:
        return self._status(self.by_severity(), sum(self.offline))

    def worst_severity(self) -> str | None:
        for name, count in zip(SEVERITY_ORDER, self.by_severity(), strict=True):
            if count:
                return name
        return None

    def body(self, lead: str, ident: object, governance: str) -> dict[str, Any]:
        """The node's snapshot entry, cached until the node or its governance changes."""
        key = (ident, governance)
        if self.cache is not None and self.cache[0] == key:
            return self.cache[1]
        if self.alarms_active or any(self.offline):
            totals = self.by_severity()
            worst = next((n for n, c in zip(SEVERITY_ORDER, totals, strict=True) if c), None)
            status = self._status(totals, sum(self.offline))
            scenes = {s: self.scene_status(i) for i, s in enumerate(DEVICE_SCENES)}
        else:  # the common case: nothing wrong here
            worst, status = None, "normal"
            scenes = dict.fromkeys(DEVICE_SCENES, "normal")
        scenes["governance"] = governance
        body: dict[str, Any] = {
            lead: ident,
            "status": status,
            "worst_severity": worst,
            "devices_total": self.devices_total,
            "devices_online": self.devices_online,
            "alarms_active": self.alarms_active,
            "incidents_open": self.incidents_open,
            "scenes": scenes,
        }
        self.cache = (key, body)
        return body

    def counts(self) -> tuple[object, ...]:
        """Everything counted, for comparing two tallies."""
        return (
            self.devices_total,
            self.devices_online,
            tuple(self.offline),
            tuple(tuple(r) for r in self.alarms),
            self.alarms_active,
            self.incidents_open,
        )
