"""What a person's action on an incident becomes: the events to submit, or a refusal.

It lives in the top room because it joins two middle rooms: who a person is
(``twin.people``) and the incident closed loop (``twin.incidents``).

The API has already judged that the person may *see* the incident (anything
else is a 404). Here: who may do what (``twin.people.visibility``), which
fields each action needs, and the events (each with an id suffix, so an
action of two events is idempotent as a whole). The state machine
(``twin.incidents.record``) still decides whether the incident's status allows
them: an ``accept`` of a resolved incident is a 409 naming both states there.

>>> from twin.people.roles import Household, Person, Role
>>> from twin.people.visibility import ReportScope
>>> from twin.incidents.events import Status
>>> scope = ReportScope("lanting", grid_id="g1", household=Household("b1", "1-101"))
>>> zhang = Person(3, "lanting", Role.WORKER, grids=frozenset({"g1"}))
>>> [(s.type.value, s.assignee, s.suffix) for s in plan(
...     zhang, "zhang", scope, Status.REPORTED, "accept")]
[('dispatched', 'zhang', '.d'), ('accepted', 'zhang', '')]
>>> resident = Person(1, "lanting", Role.RESIDENT, household=Household("b1", "1-101"))
>>> plan(resident, "wang", scope, Status.DISPATCHED, "accept")
Traceback (most recent call last):
...
twin.community.incident_actions.ActionRefusedError: a resident may not accept an incident: \
the workers of its grid and the office do
>>> plan(resident, "wang", scope, Status.RESOLVED, "confirm")
Traceback (most recent call last):
...
twin.community.incident_actions.ActionRefusedError: confirm needs a satisfaction rating from 1 to 5
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from twin.errors import TwinError
from twin.incidents.events import MANUAL_STAGE, EventType, Status
from twin.people.roles import Person
from twin.people.visibility import ReportScope, may_confirm, may_handle

HANDLER_ACTIONS: Final = ("accept", "note", "resolve", "hand_over", "escalate")
HOUSEHOLD_ACTIONS: Final = ("confirm", "reopen")
ACTIONS: Final = (*HANDLER_ACTIONS, *HOUSEHOLD_ACTIONS)


class ActionRefusedError(TwinError):
    """An action this person may not take (``forbidden``: HTTP 403) or that lacks
    what it needs (HTTP 400); the message says which and why."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


@dataclass(frozen=True, slots=True)
class Step:
    """One event of an action: its type and fields; ``suffix`` ends its event id."""

    type: EventType
    assignee: str | None = None
    note: str | None = None
    satisfaction: int | None = None
    stage: str | None = None
    suffix: str = ""


def _text(value: str | None) -> str | None:
    return value if value is not None and value.strip() else None


def plan(
    person: Person,
    login: str,
    scope: ReportScope,
    status: Status,
    action: str,
    *,
    note: str | None = None,
    satisfaction: int | None = None,
    to: Person | None = None,
    to_login: str | None = None,
) -> tuple[Step, ...]:
    """The events ``person`` (signed in as ``login``) submits for ``action``.

    ``to``/``to_login``: a hand-over's target account (None when no active
    worker account has that login). Raises :class:`ActionRefusedError`.
    """
    note = _text(note)
    if action in HANDLER_ACTIONS:
        if not may_handle(person, scope):
            raise ActionRefusedError(
                f"a {person.role} may not {action.replace('_', ' ')} an incident: "
                "the workers of its grid and the office do",
                forbidden=True,
            )
    elif action in HOUSEHOLD_ACTIONS:
        if not may_confirm(person, scope):
            raise ActionRefusedError(
                f"only the household that reported an incident may {action} it", forbidden=True
            )
    else:
        raise ActionRefusedError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    if satisfaction is not None and action != "confirm":
        raise ActionRefusedError("satisfaction is only given with confirm")
    if action == "accept":
        accepted = Step(EventType.ACCEPTED, assignee=login, note=note)
        if status is Status.REPORTED:  # nobody dispatched it (no worker on its grid)
            return (Step(EventType.DISPATCHED, assignee=login, suffix=".d"), accepted)
        return (accepted,)
    if action == "note":
        if note is None:
            raise ActionRefusedError("note needs a note")
        return (Step(EventType.NOTED, note=note),)
    if action == "resolve":
        return (Step(EventType.RESOLVED, note=note),)
    if action == "hand_over":
        return (_hand_over(scope, note, to, to_login),)
    if action == "escalate":
        return (Step(EventType.ESCALATED, stage=MANUAL_STAGE, note=note),)
    if action == "confirm":
        if satisfaction is None or not 1 <= satisfaction <= 5:
            raise ActionRefusedError("confirm needs a satisfaction rating from 1 to 5")
        return (Step(EventType.CLOSED, satisfaction=satisfaction, note=note),)
    if note is None:  # reopen
        raise ActionRefusedError("reopen needs a note saying what is still wrong")
    return (Step(EventType.REOPENED, note=note),)


def _hand_over(
    scope: ReportScope, note: str | None, to: Person | None, to_login: str | None
) -> Step:
    if to_login is None:
        raise ActionRefusedError("hand_over needs 'to': a worker's login")
    if to is None or not to.handles or not may_handle(to, scope) or not to.grids:
        where = f"grid {scope.grid_id}" if scope.grid_id else "this incident's grid"
        raise ActionRefusedError(f"{to_login!r} is not a worker of {where}")
    return Step(EventType.DISPATCHED, assignee=to_login, note=note)
