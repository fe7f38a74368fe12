"""Round tables: meetings at four levels with an agenda, participants, minutes and attendance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from api.db import Conn
from api.deps import CommunityId, DbConn
from api.errors import NotFoundError
from api.minutes_pdf import minutes_pdf
from api.models.common import problems
from api.models.roundtable import TableCreate, TablePublic, TablesPublic, TableUpdate
from api.queries import topics as q
from api.queries.votes import votes_of_table
from api.roundtable_access import Office, Reader
from api.routes.topics import BASE, check_place
from twin.deliberation.concerned import Level
from twin.model.community import Community

router = APIRouter(tags=["round table"])
TableId = Annotated[int, Path(ge=1, le=2**62)]


def table_public(r: dict[str, Any], community: Community) -> TablePublic:
    try:
        concerned = len(check_place(community, q.place_of(r), Level(r["level"])))
    except HTTPException:  # the model changed under the table: its place is gone
        concerned = 0
    fields = {k: r[k] for k in TablePublic.model_fields if k in r}
    return TablePublic(**fields, concerned_households=concerned)


async def table_or_404(conn: Conn, cid: str, table_id: int) -> dict[str, Any]:
    found = await q.get_table(conn, cid, table_id)
    if found is None:
        raise NotFoundError("table", table_id)
    return found


@router.post(BASE + "/tables", status_code=201, responses=problems(400, 401, 403, 404))
async def create_table(
    cid: CommunityId, caller: Office, conn: DbConn, body: TableCreate
) -> TablePublic:
    """The office schedules a table; its level and place say who is concerned."""
    community = await q.community_model(conn, cid)
    check_place(community, q.place_of(body), Level(body.level))
    missing = await q.topics_missing(conn, cid, body.topic_ids)
    if missing:
        raise HTTPException(400, f"no such topic(s): {', '.join(map(str, missing))}")
    accounts = [p.account_id for p in body.participants if p.account_id is not None]
    strangers = await q.accounts_missing(conn, cid, accounts)
    if strangers:
        raise HTTPException(400, f"no such account(s) here: {', '.join(map(str, strangers))}")
    async with conn.transaction():
        table_id = await q.insert_table(conn, cid, body, caller.account_id)
    return table_public(await table_or_404(conn, cid, table_id), community)


@router.get(BASE + "/tables", responses=problems(401, 403, 404))
async def list_tables(
    cid: CommunityId,
    caller: Reader,
    conn: DbConn,
    upcoming: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TablesPublic:
    community = await q.community_model(conn, cid)
    since = datetime.now(UTC) if upcoming else None
    data = [table_public(r, community) for r in await q.list_tables(conn, cid, since, limit)]
    return TablesPublic(count=len(data), data=data)


@router.get(BASE + "/tables/{table_id}", responses=problems(401, 403, 404))
async def get_table(
    cid: CommunityId, table_id: TableId, caller: Reader, conn: DbConn
) -> TablePublic:
    community = await q.community_model(conn, cid)
    return table_public(await table_or_404(conn, cid, table_id), community)


@router.patch(BASE + "/tables/{table_id}", responses=problems(400, 401, 403, 404))
async def update_table(
    cid: CommunityId, table_id: TableId, caller: Office, conn: DbConn, body: TableUpdate
) -> TablePublic:
    """Minutes, status (held, cancelled) and attendance of the participants."""
    await table_or_404(conn, cid, table_id)
    async with conn.transaction():
        strangers = await q.update_table(conn, table_id, body)
        if strangers:
            raise HTTPException(400, f"not participants of this table: {strangers}")
    community = await q.community_model(conn, cid)
    return table_public(await table_or_404(conn, cid, table_id), community)


@router.get(
    BASE + "/tables/{table_id}/minutes.pdf",
    responses={200: {"content": {"application/pdf": {}}}, **problems(401, 403, 404)},
    response_class=Response,
)
async def table_minutes_pdf(
    cid: CommunityId, table_id: TableId, caller: Reader, conn: DbConn
) -> Response:
    """The minutes, attendance, agenda and the votes' results as a printable PDF in Chinese."""
    table = await table_or_404(conn, cid, table_id)
    topics = [await q.get_topic(conn, cid, tid) for tid in table["topic_ids"]]
    votes = await votes_of_table(conn, cid, table_id)
    pdf = minutes_pdf(table, [t for t in topics if t], votes)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="table-{table_id}-minutes.pdf"'},
    )
