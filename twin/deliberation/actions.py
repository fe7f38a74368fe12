"""A decision followed through: action items tracked like incidents.

Each item has an owner (a role such as ``property`` or ``office``, or a
person's account), a due date and a place. Its status moves
``open → in_progress → done``, or to ``cancelled`` from either; ``done`` may
be reopened to ``in_progress``. An item is *overdue* while not done or
cancelled after its due time, and *late* if it was done after it.
The closed-loop rate is done ÷ (items − cancelled), as for incidents
(twin/incidents/kpis.py): a cancelled item is neither a closure nor a failure.

>>> from datetime import datetime, timedelta, timezone
>>> t = datetime(2026, 12, 1, tzinfo=timezone.utc)
>>> a = ActionItem(1, "画停车线", t + timedelta(days=7), owner_role="property")
>>> b = ActionItem(2, "装道闸", t + timedelta(days=1), owner_role="property")
>>> a = advance(a, ActionStatus.DONE, t + timedelta(days=2))
>>> k = action_kpis([a, b], now=t + timedelta(days=3))
>>> k.total, k.done, k.overdue, k.closed_loop_rate, is_overdue(b, t + timedelta(days=3))
(2, 1, 1, 0.5, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from twin.deliberation.homes import DeliberationError


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


MOVES: dict[ActionStatus, frozenset[ActionStatus]] = {
    ActionStatus.OPEN: frozenset(
        {ActionStatus.IN_PROGRESS, ActionStatus.DONE, ActionStatus.CANCELLED}
    ),
    ActionStatus.IN_PROGRESS: frozenset({ActionStatus.DONE, ActionStatus.CANCELLED}),
    ActionStatus.DONE: frozenset({ActionStatus.IN_PROGRESS}),  # reopened: not done after all
    ActionStatus.CANCELLED: frozenset(),
}
OWNER_ROLES = frozenset(
    {"office", "property", "owners_committee", "residents_rep", "department", "worker"}
)


@dataclass(frozen=True, slots=True)
class ActionItem:
    id: int
    title: str
    due_at: datetime
    owner_role: str | None = None
    owner_account: int | None = None
    status: ActionStatus = ActionStatus.OPEN
    done_at: datetime | None = None
    building_id: str | None = None
    grid_id: str | None = None

    def __post_init__(self) -> None:
        if (self.owner_role is None) == (self.owner_account is None):
            raise DeliberationError(
                f"action {self.id}: an owner is a role or a person, one of them"
            )
        if self.owner_role is not None and self.owner_role not in OWNER_ROLES:
            raise DeliberationError(
                f"action {self.id}: owner role must be one of {', '.join(sorted(OWNER_ROLES))}"
            )
        if (self.status is ActionStatus.DONE) != (self.done_at is not None):
            raise DeliberationError(f"action {self.id}: done_at goes with status done, only")


def advance(item: ActionItem, status: ActionStatus, at: datetime) -> ActionItem:
    """The item in its new status; DeliberationError for a move its status does not allow."""
    if status not in MOVES[item.status]:
        raise DeliberationError(f"action {item.id}: cannot go from {item.status} to {status}")
    return replace(item, status=status, done_at=at if status is ActionStatus.DONE else None)


def is_overdue(item: ActionItem, now: datetime) -> bool:
    return item.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS) and now > item.due_at


def is_late(item: ActionItem) -> bool:
    return item.done_at is not None and item.done_at > item.due_at


@dataclass(frozen=True, slots=True)
class ActionKpis:
    total: int
    open: int  # open or in progress
    done: int
    cancelled: int
    overdue: int
    done_late: int
    closed_loop_rate: float | None  # done ÷ (total − cancelled); None when nothing counts


def action_kpis(items: Iterable[ActionItem], now: datetime) -> ActionKpis:
    items = list(items)
    done = sum(i.status is ActionStatus.DONE for i in items)
    cancelled = sum(i.status is ActionStatus.CANCELLED for i in items)
    counted = len(items) - cancelled
    return ActionKpis(
        total=len(items),
        open=counted - done,
        done=done,
        cancelled=cancelled,
        overdue=sum(is_overdue(i, now) for i in items),
        done_late=sum(is_late(i) for i in items),
        closed_loop_rate=done / counted if counted else None,
    )
