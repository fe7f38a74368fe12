"""Decisions and their action items, tracked like incidents (status, due, overdue, closed loop)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from api.db import Conn
from api.deps import CommunityId, DbConn
from api.errors import NotFoundError
from api.models.common import problems
from api.models.roundtable import (
    ActionKpisPublic,
    ActionPublic,
    ActionsPublic,
    ActionUpdate,
    DecisionCreate,
    DecisionPublic,
)
from api.queries import topics as tq
from api.queries import votes as q
from api.roundtable_access import Office, Reader
from api.routes.topics import BASE, TopicId, topic_or_404
from twin.deliberation.actions import (
    ActionItem,
    ActionKpis,
    ActionStatus,
    action_kpis,
    advance,
    is_overdue,
)
from twin.deliberation.homes import DeliberationError

router = APIRouter(tags=["round table"])
RowId = Annotated[int, Path(ge=1, le=2**62)]


def item_of(r: dict[str, Any]) -> ActionItem:
    return ActionItem(
        r["id"],
        r["title"],
        r["due_at"],
        r["owner_role"],
        r["owner_account"],
        ActionStatus(r["status"]),
        r["done_at"],
        r["building_id"],
        r["grid_id"],
    )


def action_public(r: dict[str, Any], now: datetime) -> ActionPublic:
    return ActionPublic(**r, overdue=is_overdue(item_of(r), now))


def kpis_public(k: ActionKpis) -> ActionKpisPublic:
    return ActionKpisPublic(**{f: getattr(k, f) for f in ActionKpisPublic.model_fields})


def actions_public(rows: list[dict[str, Any]]) -> tuple[list[ActionPublic], ActionKpisPublic]:
    now = datetime.now(UTC)
    return [action_public(r, now) for r in rows], kpis_public(
        action_kpis((item_of(r) for r in rows), now)
    )


async def decision_public(conn: Conn, cid: str, decision_id: int) -> DecisionPublic:
    d = await q.get_decision(conn, cid, decision_id)
    if d is None:
        raise NotFoundError("decision", decision_id)
    items, kpis = actions_public(await q.list_actions(conn, cid, decision_id=decision_id))
    return DecisionPublic(**d, actions=items, kpis=kpis)


@router.post(
    BASE + "/topics/{tid}/decisions", status_code=201, responses=problems(400, 401, 403, 404)
)
async def decide(
    cid: CommunityId, tid: TopicId, caller: Office, conn: DbConn, body: DecisionCreate
) -> DecisionPublic:
    """Record the decision on a topic and the action items that carry it out."""
    await topic_or_404(conn, cid, tid)
    if body.vote_id is not None:
        vote = await q.get_vote(conn, cid, body.vote_id)
        if vote is None or vote["topic_id"] != tid:
            raise HTTPException(400, f"vote {body.vote_id} is not a vote on topic {tid}")
    if body.table_id is not None and await tq.get_table(conn, cid, body.table_id) is None:
        raise HTTPException(400, f"no table {body.table_id} in this community")
    for n, a in enumerate(body.actions):
        try:
            ActionItem(n, a.title, a.due_at, a.owner_role, a.owner_account)
        except DeliberationError as exc:
            raise HTTPException(400, f"actions[{n}]: {exc}") from None
        if a.owner_account is not None and await tq.accounts_missing(conn, cid, [a.owner_account]):
            raise HTTPException(400, f"actions[{n}]: no account {a.owner_account} here")
    async with conn.transaction():
        decision_id = await q.insert_decision(
            conn,
            topic_id=tid,
            vote_id=body.vote_id,
            table_id=body.table_id,
            body=body.body,
            decided_by=caller.account_id,
            actions=body.actions,
        )
        await tq.set_topic_status(conn, tid, "decided")
    return await decision_public(conn, cid, decision_id)


@router.get(BASE + "/topics/{tid}/decisions", responses=problems(401, 403, 404))
async def topic_decisions(
    cid: CommunityId, tid: TopicId, caller: Reader, conn: DbConn
) -> list[DecisionPublic]:
    """A topic's decisions with their action items' progress (the residents' view)."""
    await topic_or_404(conn, cid, tid)
    rows = await q.decisions_of_topic(conn, cid, tid)
    return [await decision_public(conn, cid, r["id"]) for r in rows]


@router.get(BASE + "/decisions/{decision_id}", responses=problems(401, 403, 404))
async def get_decision(
    cid: CommunityId, decision_id: RowId, caller: Reader, conn: DbConn
) -> DecisionPublic:
    return await decision_public(conn, cid, decision_id)


@router.get(BASE + "/actions", responses=problems(401, 403, 404))
async def list_actions(cid: CommunityId, caller: Reader, conn: DbConn) -> ActionsPublic:
    """Every action item of the community, the one due first on top, with the KPIs."""
    items, kpis = actions_public(await q.list_actions(conn, cid))
    return ActionsPublic(count=len(items), data=items, kpis=kpis)


@router.patch(BASE + "/actions/{action_id}", responses=problems(400, 401, 403, 404, 409))
async def update_action(
    cid: CommunityId, action_id: RowId, caller: Office, conn: DbConn, body: ActionUpdate
) -> ActionPublic:
    """Move an item: open → in_progress → done (reopened to in_progress), or cancelled."""
    async with conn.transaction():
        rows = await q.list_actions(conn, cid, action_id=action_id)
        if not rows:
            raise NotFoundError("action", action_id)
        now = datetime.now(UTC)
        try:
            moved = advance(item_of(rows[0]), ActionStatus(body.status), now)
        except DeliberationError as exc:
            raise HTTPException(409, str(exc)) from None
        await q.set_action_status(conn, action_id, moved.status.value, moved.done_at)
    [row] = await q.list_actions(conn, cid, action_id=action_id)
    return action_public(row, now)
