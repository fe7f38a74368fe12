"""The participation ledger: what each household gave, and the community's rate.

An entry is a household's report confirmed, vote cast, opinion given, or
volunteer hours the office recorded. Every entry carries a client id chosen by
whoever records it, so recording it twice (a retry, a double tap) keeps one.
The participation rate over a period is the share of the community's
households with at least one entry in it.

>>> from datetime import datetime, timezone
>>> from twin.deliberation.homes import HomeId
>>> t = datetime(2026, 12, 1, tzinfo=timezone.utc)
>>> e = [Entry("a", HomeId("b1", "101"), Kind.VOTE_CAST, t),
...      Entry("a", HomeId("b1", "101"), Kind.VOTE_CAST, t),
...      Entry("b", HomeId("b1", "102"), Kind.VOLUNTEER_HOURS, t, hours=2.5)]
>>> len(unique(e)), participation_rate(e, households=4)
(2, 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from twin.deliberation.homes import DeliberationError, HomeId


class Kind(StrEnum):
    REPORT_CONFIRMED = "report_confirmed"
    VOTE_CAST = "vote_cast"
    OPINION_GIVEN = "opinion_given"
    VOLUNTEER_HOURS = "volunteer_hours"


@dataclass(frozen=True, slots=True)
class Entry:
    client_id: str
    home: HomeId
    kind: Kind
    at: datetime
    hours: float | None = None

    def __post_init__(self) -> None:
        if (self.kind is Kind.VOLUNTEER_HOURS) != (self.hours is not None):
            raise DeliberationError("hours go with volunteer_hours entries, only")
        if self.hours is not None and not 0 < self.hours <= 24:
            raise DeliberationError("volunteer hours are more than 0 and at most 24 per entry")


def unique(entries: Iterable[Entry]) -> list[Entry]:
    """One entry per client id: the first recorded."""
    seen: dict[str, Entry] = {}
    for e in entries:
        seen.setdefault(e.client_id, e)
    return list(seen.values())


def participation_rate(entries: Iterable[Entry], households: int) -> float | None:
    """Households with an entry ÷ all households; None for a community without households."""
    if households <= 0:
        return None
    return len({e.home for e in entries}) / households
