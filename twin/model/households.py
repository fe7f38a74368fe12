"""Who lives in a home, as far as elderly care needs to know: the household's care attributes.

A unit of the community model may carry a ``household`` object::

    {"living_alone": true, "age_band": "80+", "care_level": 2}

* ``living_alone``: one person lives there (独居).
* ``age_band``: the age of the oldest resident, one of :data:`AGE_BANDS`.
* ``care_level``: the oldest resident's ability level after GB/T 42195-2022
  (老年人能力评估规范): 0 intact, 1 mildly, 2 moderately, 3 severely
  impaired, 4 total loss of ability.

Every key is optional (defaults: not alone, age unknown, level 0). Elderly
care watches a *care home* (an elderly household or one with a care level)
for anomalies against its own baseline, and a care home whose resident lives
alone also for a day without any sign of life (``twin.rules.care``).

>>> h = household_from_json({"living_alone": True, "age_band": "80+", "care_level": 2}, "unit 1")
>>> h.is_elderly, h.is_care_home, h.needs_daily_check, household_to_json(h)
(True, True, True, {'living_alone': True, 'age_band': '80+', 'care_level': 2})
>>> household_from_json({"age_band": "<60"}, "unit 2").is_care_home
False
>>> household_from_json({"age_band": "90+"}, "unit 3")
Traceback (most recent call last):
twin.errors.ModelError: unit 3: household age_band must be one of <60, 60-69, 70-79, 80+, got '90+'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twin.errors import ModelError

AGE_BANDS: tuple[str, ...] = ("<60", "60-69", "70-79", "80+")
ELDERLY_BANDS: frozenset[str] = frozenset(AGE_BANDS[1:])
CARE_LEVELS: tuple[int, ...] = (0, 1, 2, 3, 4)
_KEYS = ("living_alone", "age_band", "care_level")


@dataclass(frozen=True, slots=True)
class Household:
    living_alone: bool = False
    age_band: str | None = None
    care_level: int = 0

    @property
    def is_elderly(self) -> bool:
        return self.age_band in ELDERLY_BANDS

    @property
    def is_care_home(self) -> bool:
        """Elderly, or anyone with an impaired ability: its baseline is watched."""
        return self.is_elderly or self.care_level > 0

    @property
    def needs_daily_check(self) -> bool:
        """A care home whose resident lives alone: a quiet day raises ``care_check``."""
        return self.living_alone and self.is_care_home


def household_from_json(data: Any, owner: str) -> Household:
    """A household from its model-file object; ModelError names the unit and the key."""
    if not isinstance(data, Mapping):
        raise ModelError(owner, f"household must be an object, got {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - set(_KEYS))
    if unknown:
        raise ModelError(
            owner, f"household has unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})"
        )
    alone = data.get("living_alone", False)
    if not isinstance(alone, bool):
        raise ModelError(owner, f"household living_alone must be true or false, got {alone!r}")
    band = data.get("age_band")
    if band is not None and band not in AGE_BANDS:
        raise ModelError(
            owner, f"household age_band must be one of {', '.join(AGE_BANDS)}, got {band!r}"
        )
    level = data.get("care_level", 0)
    if isinstance(level, bool) or level not in CARE_LEVELS:
        raise ModelError(owner, f"household care_level must be an integer 0-4, got {level!r}")
    return Household(alone, band, int(level))


def household_to_json(h: Household) -> dict[str, Any]:
    out: dict[str, Any] = {"living_alone": h.living_alone}
    if h.age_band is not None:
        out["age_band"] = h.age_band
    out["care_level"] = h.care_level
    return out


def household_columns(h: Household | None) -> tuple[bool | None, str | None, int | None]:
    """The ``units`` columns (living_alone, age_band, care_level); NULLs without a household."""
    if h is None:
        return (None, None, None)
    return (h.living_alone, h.age_band, h.care_level)


def household_from_columns(
    living_alone: bool | None, age_band: str | None, care_level: int | None
) -> Household | None:
    """The inverse of :func:`household_columns`.

    >>> household_from_columns(*household_columns(Household(True, "70-79", 1)))
    Household(living_alone=True, age_band='70-79', care_level=1)
    >>> household_from_columns(None, None, None) is None
    True
    """
    if living_alone is None:
        return None
    return Household(bool(living_alone), age_band, int(care_level or 0))
