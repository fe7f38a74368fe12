"""The incident categories commtwin knows: what residents report, and what alarms open.

Residents pick one of :data:`RESIDENT_CATEGORIES` on their phone (the same
list the resident simulator draws from); alarms open incidents of the
categories in ``twin.incidents.dispatch.DEFAULT_ALARM_CATEGORIES``; the care
check opens ``care_check``. A category outside :data:`KNOWN_CATEGORIES` is a
typo, not a new kind of problem.

>>> check_category("noise")
'noise'
>>> check_category("noize")
Traceback (most recent call last):
...
twin.incidents.events.InvalidEventError: unknown category 'noize' (known: noise, garbage, \
parking, water_leak, elevator, lighting, greening, pets, security, facade, other, fire, \
gas_leak, fall, sos, care_check)
"""

from __future__ import annotations

from twin.incidents.dispatch import DEFAULT_ALARM_CATEGORIES
from twin.incidents.events import InvalidEventError

RESIDENT_CATEGORIES: tuple[str, ...] = (
    "noise",
    "garbage",
    "parking",
    "water_leak",
    "elevator",
    "lighting",
    "greening",
    "pets",
    "security",
    "facade",
    "other",
)
CARE_CHECK = "care_check"
KNOWN_CATEGORIES: tuple[str, ...] = tuple(
    dict.fromkeys((*RESIDENT_CATEGORIES, *DEFAULT_ALARM_CATEGORIES.values(), CARE_CHECK))
)


def check_category(name: str) -> str:
    """``name`` when commtwin knows it, else :class:`InvalidEventError` listing them."""
    if name not in KNOWN_CATEGORIES:
        raise InvalidEventError(f"unknown category {name!r} (known: {', '.join(KNOWN_CATEGORIES)})")
    return name
