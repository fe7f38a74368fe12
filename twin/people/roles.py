"""Who a person is in a community: a role and what the role is bound to.

>>> home = Household("b01", "b01-0302")
>>> resident = Person(7, "lanting", Role.RESIDENT, household=home)
>>> resident.role, resident.household
(<Role.RESIDENT: 'resident'>, Household(building_id='b01', unit_id='b01-0302'))
>>> Person(8, "lanting", Role.WORKER)
Traceback (most recent call last):
twin.people.roles.PersonError: account 8: a worker is bound to at least one grid
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from twin.errors import TwinError


class PersonError(TwinError):
    """An account whose role and bindings do not fit together."""


class Role(StrEnum):
    RESIDENT = "resident"  # bound to one household by an invite code
    WORKER = "worker"  # a grid worker, bound to grids by the office
    PROPERTY = "property"  # property staff, bound to grids like a worker
    OFFICE = "office"  # the community office: everything in its community


@dataclass(frozen=True, slots=True)
class Household:
    """A home as the community model names it (building and unit ids)."""

    building_id: str
    unit_id: str


@dataclass(frozen=True, slots=True)
class Person:
    account_id: int
    community_id: str
    role: Role
    household: Household | None = None
    grids: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        who = f"account {self.account_id}"
        if (self.role is Role.RESIDENT) != (self.household is not None):
            raise PersonError(
                f"{who}: a household belongs to residents, and every resident has one"
            )
        if self.role in (Role.WORKER, Role.PROPERTY) and not self.grids:
            raise PersonError(f"{who}: a {self.role} is bound to at least one grid")
        if self.role in (Role.RESIDENT, Role.OFFICE) and self.grids:
            raise PersonError(f"{who}: only workers and property staff are bound to grids")

    @property
    def handles(self) -> bool:
        """Whether this person handles incidents (accepts, resolves, escalates)."""
        return self.role is not Role.RESIDENT
