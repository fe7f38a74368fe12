"""The cockpit status of a storey, building or scene (docs/DESIGN.md).

``alarm`` while a critical or major alarm is active, ``warning`` for an active
minor or warning alarm, ``offline`` when a device is offline and nothing is
alarming, else ``normal``. The live state and the API's database queries both
colour by this one rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

Severity = Literal["critical", "major", "minor", "warning"]
Status = Literal["normal", "warning", "alarm", "offline"]
SEVERITIES: Final[tuple[Severity, ...]] = ("critical", "major", "minor", "warning")
_RANK: Final = {s: len(SEVERITIES) - i for i, s in enumerate(SEVERITIES)}


def worst(severities: Iterable[str | None]) -> Severity | None:
    """The most severe of some severities (unknown names rank lowest).

    >>> worst(["minor", None, "major", "warning"])
    'major'
    >>> worst([]) is None
    True
    """
    best: Severity | None = None
    for s in severities:
        if s in _RANK and (best is None or _RANK[s] > _RANK[best]):
            best = s
    return best


def status_of(worst_severity: str | None, devices_offline: int) -> Status:
    """
    >>> status_of("critical", 0), status_of("minor", 3), status_of(None, 1), status_of(None, 0)
    ('alarm', 'warning', 'offline', 'normal')
    """
    if worst_severity in ("critical", "major"):
        return "alarm"
    if worst_severity in ("minor", "warning"):
        return "warning"
    if devices_offline > 0:
        return "offline"
    return "normal"
