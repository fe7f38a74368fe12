"""Homes as a vote sees them: a household's id and its exclusive floor area.

The area is the unit's ``area_m2`` attribute where the model gives it (the
registered exclusive floor area, 专有部分面积, which is what the law counts:
the Supreme People's Court's interpretation on building ownership, art. 8,
takes the area in the real-estate register); otherwise the area of the unit's
footprint polygon, rounded to 0.01 m². A home with neither has no area and
cannot be counted by area, so the electorate refuses it (see
:func:`twin.deliberation.concerned.electorate`).

Areas are exact :class:`~fractions.Fraction` values read from their decimal
text, so ``2/3`` and ``3/4`` are compared without float error.

>>> from twin.model.community import Unit
>>> home_area(Unit("1-101", 1, attributes={"area_m2": 89.37}))
Fraction(8937, 100)
>>> from shapely.geometry import box
>>> home_area(Unit("1-102", 1, footprint=box(0, 0, 10, 8.5)))
Fraction(85, 1)
>>> home_area(Unit("1-103", 1, attributes={"area_m2": 90}, footprint=box(0, 0, 1, 1)))
Fraction(90, 1)
>>> home_area(Unit("1-104", 1)) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from twin.errors import ModelError, TwinError
from twin.model.community import Unit

AREA_KEY = "area_m2"
"""The unit attribute: the registered exclusive floor area in m² (wins over the footprint)."""


class DeliberationError(TwinError):
    """A topic, table, ballot or rule that cannot be accepted; the message says why."""


@dataclass(frozen=True, slots=True, order=True)
class HomeId:
    """A household as the community model names it: building and unit ids."""

    building_id: str
    unit_id: str

    def __str__(self) -> str:
        return f"{self.building_id}/{self.unit_id}"


@dataclass(frozen=True, slots=True)
class Home:
    id: HomeId
    area_m2: Fraction


def exact(value: object) -> Fraction:
    """An exact number from its decimal text: ``exact(0.1) == Fraction(1, 10)``.

    >>> exact(0.1), exact("120.55"), exact(7)
    (Fraction(1, 10), Fraction(2411, 20), Fraction(7, 1))
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"not a number: {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return Fraction(number)


def home_area(unit: Unit) -> Fraction | None:
    """The unit's exclusive floor area: ``area_m2`` if given, else its footprint's area."""
    given = unit.attributes.get(AREA_KEY)
    if given is not None:
        try:
            area = exact(given)
        except ValueError as exc:
            raise ModelError(f"unit {unit.id}", f"{AREA_KEY} {exc}") from None
        if area <= 0:
            raise ModelError(f"unit {unit.id}", f"{AREA_KEY} must be positive, got {given!r}")
        return area
    if unit.footprint is not None:
        area = Fraction(Decimal(f"{float(unit.footprint.area):.2f}"))
        return area if area > 0 else None
    return None
