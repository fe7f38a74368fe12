"""People acting on incidents through their sessions (``/v1/me/incidents``).

Reads: what the person may see (``api.queries.people_reports``), 404 for the
rest. Changes (session + ``X-CSRF-Token``) go through the same path as the
key-holding apps' (:mod:`api.incident_commands`: published to the broker,
committed by the ingestor): 201 committed, 200 the same ``client_id`` again
(nothing changes), 202 not committed in time, 409 a transition the status
does not allow (naming both), 403 an action this person may not take on an
incident they may see (with the reason), 404 an incident they may not see.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.db import Conn
from api.deps import DbConn, ObjectId, State
from api.errors import NotFoundError
from api.incident_commands import Outcome, build_command, submit
from api.models.common import problems
from api.models.incidents import IncidentDetail, IncidentPending, LocalPoint, UnitPlace
from api.models.my_incidents import (
    HomePlace,
    MyAction,
    MyIncidentsPublic,
    MyReport,
    PointPlace,
)
from api.models.my_incidents import Place as ReportPlace
from api.models.roundtable import EntryCreate
from api.queries.incidents import get_incident
from api.queries.people_reports import (
    building_exists,
    handover_target,
    incident_row,
    incidents_of,
    record_report,
    report_scope,
    storey_of,
)
from api.queries.votes import record_entry
from api.routes.incidents import command_context
from api.sessions import Session, SignedIn, SignedInChangingBriefly
from twin.community.incident_actions import ActionRefusedError, plan
from twin.incidents.categories import check_category
from twin.incidents.events import InvalidEventError, Status
from twin.people.roles import Household, Role
from twin.people.visibility import may_see

router = APIRouter(prefix="/v1/me/incidents", tags=["people"])

StatusFilter = Literal[
    "open", "all", "reported", "dispatched", "accepted", "resolved", "closed", "cancelled"
]
_CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IncidentDetail, "description": "this client_id was already applied"},
    202: {"model": IncidentPending, "description": "published; not committed in time"},
    **problems(400, 401, 403, 404, 409, 413),
}


def report_incident_id(community: str, account_id: int, client_id: str) -> str:
    """The incident id of a person's report: the same for a resend, apart per account.

    >>> report_incident_id("lanting", 7, "abc") == report_incident_id("lanting", 7, "abc")
    True
    >>> report_incident_id("lanting", 7, "abc") != report_incident_id("lanting", 8, "abc")
    True
    """
    digest = hashlib.sha256(f"{community}\0{account_id}\0{client_id}".encode()).hexdigest()
    return f"m-{digest[:20]}"


def event_id(session: Session, client_id: str, suffix: str = "") -> str:
    """An event id of the person's own: two people's client ids never collide."""
    return f"p{session.person.account_id}-{client_id}{suffix}"


def actor_of(session: Session) -> str:
    """Who the timeline says took a step: a handler's login; for a resident only
    ``household`` (workers see the household's steps, not who in it).

    The office finds the household in ``people_reports``.
    """
    return "household" if session.person.role is Role.RESIDENT else session.login


def _answer(outcome: Outcome, response: Response) -> IncidentDetail | JSONResponse:
    if outcome.kind == "pending" and outcome.pending is not None:
        return JSONResponse(outcome.pending.model_dump(mode="json"), status_code=202)
    assert outcome.incident is not None
    if outcome.kind == "duplicate":
        response.status_code = 200
    response.headers["Location"] = f"/v1/me/incidents/{outcome.incident.id}"
    return outcome.incident


@router.get("", responses=problems(401))
async def my_incidents(
    session: SignedIn,
    conn: DbConn,
    status: Annotated[
        StatusFilter, Query(description="`open` (default): not closed or cancelled")
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MyIncidentsPublic:
    """The incidents this person may see, the one due first on top.

    A resident: their household's reports (wherever they are; a resolved one
    awaits their confirmation); a worker or property staff: those of their
    grids (a task list: place, category, status, due times, overdue; a care
    check carries only the household's care flag); the office: all of its
    community's.
    """
    data = await incidents_of(
        conn,
        session.person,
        datetime.now(UTC),
        status=None if status == "all" else status,
        limit=limit,
    )
    return MyIncidentsPublic(count=len(data), data=data)


@router.get("/{incident_id}", responses=problems(401, 404))
async def my_incident(session: SignedIn, conn: DbConn, incident_id: ObjectId) -> IncidentDetail:
    """One incident with its timeline; 404 for any this person may not see."""
    person = session.person
    row = await incident_row(conn, person.community_id, incident_id)
    if row is None or not may_see(person, report_scope(person.community_id, row)):
        raise NotFoundError("incident", incident_id)
    found = await get_incident(conn, person.community_id, incident_id, datetime.now(UTC))
    if found is None:
        raise NotFoundError("incident", incident_id)
    return found


async def _report_place(
    conn: Conn, cid: str, home: Household, place: ReportPlace
) -> UnitPlace | LocalPoint:
    """Where a report is: the household's home (default), a point, or a unit picked."""
    if isinstance(place, HomePlace):
        storey = await storey_of(conn, cid, home)
        try:
            return UnitPlace(building=home.building_id, storey=storey, unit=home.unit_id)
        except ValidationError:  # a model id the wire contract cannot carry
            raise HTTPException(
                400, "place: this home cannot be sent as a place; pick it on the map"
            ) from None
    if isinstance(place, PointPlace):
        return LocalPoint(x=place.x, y=place.y)
    if not await building_exists(conn, cid, place.building):
        raise HTTPException(400, f"place.building: no building {place.building!r}")
    return UnitPlace(building=place.building, storey=place.storey, unit=place.unit)


@router.post("", status_code=201, response_model=IncidentDetail, responses=_CHANGE_RESPONSES)
async def report(
    *,
    session: SignedInChangingBriefly,
    body: MyReport,
    request: Request,
    response: Response,
    state: State,
) -> IncidentDetail | JSONResponse:
    """A resident reports a problem at home, in a building or at a point on the map;
    the report is their household's wherever it is."""
    person, home = session.person, session.person.household
    if person.role is not Role.RESIDENT or home is None:
        raise HTTPException(403, "only residents report through /v1/me/incidents")
    try:
        category = check_category(body.category)
    except InvalidEventError as exc:
        raise HTTPException(400, f"category: {exc}") from None
    cid = person.community_id
    iid = report_incident_id(cid, person.account_id, body.client_id)
    # The connection is given back before the wait for the ingestor's commit.
    async with state.pool.connection() as conn:
        location = await _report_place(conn, cid, home, body.place)
        if not await record_report(conn, cid, iid, person.account_id, home):
            raise HTTPException(409, "this client_id is already used; send a new one")
    command = build_command(
        cid,
        iid,
        event_id=event_id(session, body.client_id),
        event_type="reported",
        ts=state.now(),
        ts_given=False,
        fields={
            "category": category,
            "title": body.title,
            "description": body.description,
            "actor": actor_of(session),
        },
        location=location,
    )
    return _answer(await submit(command_context(request, state), command), response)


@router.post(
    "/{incident_id}/actions",
    status_code=201,
    response_model=IncidentDetail,
    responses=_CHANGE_RESPONSES,
)
async def act(
    *,
    session: SignedInChangingBriefly,
    incident_id: ObjectId,
    body: MyAction,
    request: Request,
    response: Response,
    state: State,
) -> IncidentDetail | JSONResponse:
    """Accept, note, resolve, hand over, escalate (its grid's workers, the office);
    confirm with a rating or reopen (the household that reported it)."""
    person = session.person
    cid = person.community_id
    # The connection is given back before the waits for the ingestor's commits.
    async with state.pool.connection() as conn:
        row = await incident_row(conn, cid, incident_id)
        scope = report_scope(cid, row) if row is not None else None
        if row is None or scope is None or not may_see(person, scope):
            raise NotFoundError("incident", incident_id)
        target = await handover_target(conn, cid, body.to) if body.to else None
    try:
        steps = plan(
            person,
            session.login,
            scope,
            Status(row["status"]),
            body.action,
            note=body.note,
            satisfaction=body.satisfaction,
            to=target,
            to_login=body.to,
        )
    except ActionRefusedError as exc:
        raise HTTPException(403 if exc.forbidden else 400, str(exc)) from None
    context = command_context(request, state)
    outcome: Outcome | None = None
    for step in steps:
        command = build_command(
            cid,
            incident_id,
            event_id=event_id(session, body.client_id, step.suffix),
            event_type=step.type.value,
            ts=state.now(),
            ts_given=False,
            fields={
                "assignee": step.assignee,
                "note": step.note,
                "satisfaction": step.satisfaction,
                "stage": step.stage,
                "actor": actor_of(session),
            },
            location=None,
        )
        outcome = await submit(context, command)
        if outcome.kind == "pending":
            break
    assert outcome is not None  # plan() returns at least one step
    home = person.household
    if body.action == "confirm" and outcome.kind != "pending" and home is not None:
        # The household's participation (issue 23): once per action, keyed by its client id.
        entry = EntryCreate(
            client_id=f"confirm:{person.account_id}:{body.client_id}",
            building_id=home.building_id,
            unit_id=home.unit_id,
            kind="report_confirmed",
        )
        async with state.pool.connection() as conn:  # briefly, after the waits
            await record_entry(conn, cid, entry, person.account_id)
    return _answer(outcome, response)
