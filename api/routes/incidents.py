"""Incidents: list and timeline for screens and apps; report and move them (``incidents:write``).

POSTs go through the broker and the ingestor, exactly like an app's MQTT
message (:mod:`api.incident_commands`): 201 once committed, 202 when the
ingestor did not commit in time, 409 for a transition the incident's status
does not allow (the reason names both), 503 when the broker is unreachable.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from api.deps import CommunityRead, DbConn, ObjectId, State, community_access
from api.errors import NotFoundError
from api.incident_commands import (
    CommandContext,
    Outcome,
    report_command,
    submit,
    transition_command,
)
from api.live.hub import LiveHub
from api.models.common import problems
from api.models.incidents import (
    IncidentDetail,
    IncidentEventIn,
    IncidentPending,
    IncidentReport,
    IncidentsPublic,
)
from api.mqtt_publish import BrokerConfig
from api.params import IsoDatetime, Offset, TextFilter
from api.queries.incidents import IncidentFilter, get_incident, list_incidents, utc_param
from api.state import ApiState
from twin.incidents.events import INCIDENT_ID

router = APIRouter(prefix="/v1/communities/{cid}/incidents", tags=["incidents"])

CommunityWrite = Annotated[str, Depends(community_access("incidents:write"))]
StatusFilter = Literal[
    "open", "reported", "dispatched", "accepted", "resolved", "closed", "cancelled"
]
_POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IncidentDetail, "description": "the same event was already stored"},
    202: {"model": IncidentPending, "description": "published; not committed in time"},
    **problems(400, 401, 403, 404, 409, 413, 429),
}


def command_context(request: Request, state: ApiState) -> CommandContext:
    c = state.config
    broker = None
    if c.mqtt_url:
        broker = BrokerConfig(
            c.mqtt_url, c.mqtt_protocol, c.mqtt_ca_file, c.mqtt_cert_file, c.mqtt_key_file
        )
    hub = cast(LiveHub, request.app.state.live)
    return CommandContext(state.pool, hub, broker, c.topic_root, c.commit_timeout_s)


def _answer(outcome: Outcome, response: Response, cid: str) -> IncidentDetail | JSONResponse:
    if outcome.kind == "pending" and outcome.pending is not None:
        return JSONResponse(outcome.pending.model_dump(mode="json"), status_code=202)
    assert outcome.incident is not None
    if outcome.kind == "duplicate":
        response.status_code = 200
    response.headers["Location"] = f"/v1/communities/{cid}/incidents/{outcome.incident.id}"
    return outcome.incident


@router.get("", responses=problems(400, 401, 403, 404, 429))
async def incidents(
    *,
    cid: CommunityRead,
    conn: DbConn,
    state: State,
    status: Annotated[
        StatusFilter | None, Query(description="`open`: not closed or cancelled")
    ] = None,
    category: TextFilter = None,
    grid: TextFilter = None,
    overdue: Annotated[
        bool | None, Query(description="past a deadline it has not met, now")
    ] = None,
    start: Annotated[
        IsoDatetime | None, Query(alias="from", description="reported at or after")
    ] = None,
    end: Annotated[IsoDatetime | None, Query(alias="to", description="reported before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> IncidentsPublic:
    """Newest reported first; `count` is the number matching over all pages."""
    f = IncidentFilter(
        status=status,
        category=category,
        grid=grid,
        overdue=overdue,
        start=utc_param(start, "from"),
        end=utc_param(end, "to"),
    )
    total, page = await list_incidents(conn, cid, f, state.now(), limit=limit, offset=offset)
    return IncidentsPublic(count=total, data=page)


@router.get("/{iid}", responses=problems(401, 403, 404, 429))
async def incident(cid: CommunityRead, iid: ObjectId, conn: DbConn, state: State) -> IncidentDetail:
    """Its status and its whole timeline (events skipped by the state machine say why)."""
    detail = await get_incident(conn, cid, iid, state.now())
    if detail is None:
        raise NotFoundError("incident", iid)
    return detail


@router.post("", status_code=201, response_model=IncidentDetail, responses=_POST_RESPONSES)
async def report(
    cid: CommunityWrite, body: IncidentReport, request: Request, response: Response, state: State
) -> IncidentDetail | JSONResponse:
    """Report an incident (a resident's app): published as a `reported` event and
    applied by the ingestor, auto-dispatch to the grid's worker included."""
    command = report_command(cid, body, state.now())
    return _answer(await submit(command_context(request, state), command), response, cid)


@router.post(
    "/{iid}/events", status_code=201, response_model=IncidentDetail, responses=_POST_RESPONSES
)
async def transition(
    *,
    cid: CommunityWrite,
    iid: ObjectId,
    body: IncidentEventIn,
    request: Request,
    response: Response,
    state: State,
) -> IncidentDetail | JSONResponse:
    """Move an incident (dispatch, accept, resolve, close with a rating, reopen, cancel).
    409 when its status does not allow it, naming both."""
    if not INCIDENT_ID.match(iid):
        raise NotFoundError("incident", iid)  # no incident can have this id
    command = transition_command(cid, iid, body, state.now())
    return _answer(await submit(command_context(request, state), command), response, cid)
