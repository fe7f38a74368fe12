"""The households' participation ledger, the participation rate (a KPI), and the
governance scene's one read (open topics, upcoming tables, open votes, action items).

Votes and opinions are recorded by their routes; reports confirmed and
volunteer hours by the office here. Every entry has a client id: posting the
same one again records nothing new (200 with the stored entry, 201 the first time).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from api.db import Conn
from api.deps import CommunityId, DbConn
from api.models.common import problems
from api.models.roundtable import (
    ActionsPublic,
    EntryCreate,
    EntryPublic,
    GovernancePublic,
    ParticipationKpi,
)
from api.queries import topics as tq
from api.queries import votes as q
from api.queries.people import household_exists
from api.roundtable_access import Office, Reader
from api.routes.decisions import actions_public
from api.routes.tables import table_public
from api.routes.topics import BASE, topic_public
from api.routes.votes import vote_public
from twin.deliberation.homes import DeliberationError, HomeId
from twin.deliberation.participation import Entry, Kind
from twin.people.roles import Household

router = APIRouter(tags=["round table"])


@router.post(
    BASE + "/participation",
    status_code=201,
    responses={
        200: {"model": EntryPublic, "description": "recorded before under this client id"},
        **problems(400, 401, 403, 404),
    },
)
async def record(
    cid: CommunityId, caller: Office, conn: DbConn, body: EntryCreate, response: Response
) -> EntryPublic:
    """Record a household's participation once per client id."""
    try:
        Entry(
            body.client_id,
            HomeId(body.building_id, body.unit_id),
            Kind(body.kind),
            body.at or datetime.now(UTC),
            body.hours,
        )
    except DeliberationError as exc:
        raise HTTPException(400, str(exc)) from None
    if not await household_exists(conn, cid, Household(body.building_id, body.unit_id)):
        raise HTTPException(400, f"no unit {body.unit_id!r} in building {body.building_id!r}")
    row, created = await q.record_entry(conn, cid, body, caller.account_id)
    if not created:
        response.status_code = 200
    hours = row["hours"]
    return EntryPublic(
        **{**row, "hours": float(hours) if hours is not None else None}, created=created
    )


@router.get(BASE + "/participation/kpi", responses=problems(401, 403, 404))
async def participation_kpi(
    cid: CommunityId,
    caller: Reader,
    conn: DbConn,
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
) -> ParticipationKpi:
    """Households with any entry in the last ``days`` ÷ the community's households."""
    return await _kpi(conn, cid, days)


async def _kpi(conn: Conn, cid: str, days: int) -> ParticipationKpi:
    found = await q.participation_since(conn, cid, datetime.now(UTC) - timedelta(days=days))
    households, participating = int(found["households"]), int(found["participating"])
    return ParticipationKpi(
        days=days,
        households=households,
        participating=participating,
        rate=participating / households if households else None,
        by_kind={str(k): int(n) for k, n in found["by_kind"].items()},
        volunteer_hours=float(found["hours"]),
    )


@router.get(BASE + "/governance", responses=problems(401, 403, 404))
async def governance(cid: CommunityId, caller: Reader, conn: DbConn) -> GovernancePublic:
    """The cockpit's governance scene: open topics, upcoming tables, open votes, action items
    (overdue first by due date, with the closed-loop rate) and the 30-day participation rate."""
    community = await tq.community_model(conn, cid)
    topics = await tq.list_topics(conn, cid, "open", 50)
    tables = await tq.list_tables(conn, cid, datetime.now(UTC), 20)
    items, kpis = actions_public(await q.list_actions(conn, cid))
    return GovernancePublic(
        open_topics=[topic_public(t) for t in topics],
        upcoming_tables=[table_public(t, community) for t in tables],
        open_votes=[vote_public(v) for v in await q.open_votes(conn, cid, 50)],
        actions=ActionsPublic(count=len(items), data=items, kpis=kpis),
        participation=await _kpi(conn, cid, 30),
    )
