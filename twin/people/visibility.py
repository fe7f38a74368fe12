"""What each person may see and do: one rule, so every read checks the same.

A report is seen by the household that made it, by the workers and property
staff of its grid, and by its community's office; by nobody in another
community. Anything a person may not see answers like something that does not
exist (the API's 404), so ids leak nothing.

>>> from twin.people.roles import Household, Person, Role
>>> home, other = Household("b01", "u1"), Household("b01", "u2")
>>> report = ReportScope("lanting", grid_id="g1", household=home)
>>> may_see(Person(1, "lanting", Role.RESIDENT, household=home), report)
True
>>> may_see(Person(2, "lanting", Role.RESIDENT, household=other), report)
False
>>> may_handle(Person(3, "lanting", Role.WORKER, grids=frozenset({"g2"})), report)
False
>>> office, elsewhere = Person(4, "lanting", Role.OFFICE), Person(5, "xixi", Role.OFFICE)
>>> may_handle(office, report), may_see(elsewhere, report)
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.people.roles import Household, Person, Role


@dataclass(frozen=True, slots=True)
class ReportScope:
    """Where a report sits for access: its community, grid and reporting household."""

    community_id: str
    grid_id: str | None = None  # None: located outside every grid (the office's)
    household: Household | None = None  # None: not reported by a resident


def may_see(person: Person, report: ReportScope) -> bool:
    """Whether ``person`` may read ``report`` (its timeline, photos, SLA)."""
    if person.community_id != report.community_id:
        return False
    if person.role is Role.OFFICE:
        return True
    if person.role is Role.RESIDENT:
        return report.household is not None and report.household == person.household
    return report.grid_id is not None and report.grid_id in person.grids


def may_handle(person: Person, report: ReportScope) -> bool:
    """Whether ``person`` may accept, note, resolve, hand over or escalate ``report``."""
    return person.handles and may_see(person, report)


def may_confirm(person: Person, report: ReportScope) -> bool:
    """Whether ``person`` may confirm the resolution, reopen it or rate it: its household."""
    return person.role is Role.RESIDENT and may_see(person, report)
