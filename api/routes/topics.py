"""Topics of the round table: raised by residents or the office, or suggested by the twin.

A topic carries its evidence (incident ids) and its place; the place decides
who is concerned online (twin.deliberation.concerned). Opinions come from
residents of concerned households.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from api.db import Conn
from api.deps import CommunityId, DbConn
from api.errors import NotFoundError
from api.models.common import problems
from api.models.roundtable import (
    EntryCreate,
    OpinionCreate,
    OpinionPublic,
    SuggestionPublic,
    SuggestionsPublic,
    TopicCreate,
    TopicPublic,
    TopicsPublic,
)
from api.queries import topics as q
from api.queries.votes import record_entry
from api.roundtable_access import Raiser, Reader, Resident
from twin.deliberation.concerned import Level, Place, concerned_ids
from twin.deliberation.counting import MATTERS, Law
from twin.deliberation.homes import DeliberationError, HomeId
from twin.deliberation.suggestions import Incident, SuggestionRule, suggest
from twin.model.community import Community
from twin.people.roles import Role

router = APIRouter(tags=["round table"])
TopicId = Annotated[int, Path(ge=1, le=2**62)]
BASE = "/v1/communities/{cid}"


def topic_public(r: dict[str, Any]) -> TopicPublic:
    return TopicPublic(**{k: r[k] for k in TopicPublic.model_fields if k in r})


def concerns(community: Community, topic: dict[str, Any], home: HomeId) -> bool:
    """Whether the topic's place concerns the household online (False if the place is gone)."""
    try:
        return home in check_place(community, q.place_of(topic))
    except HTTPException:
        return False


async def topic_or_404(conn: Conn, cid: str, tid: int) -> dict[str, Any]:
    found = await q.get_topic(conn, cid, tid)
    if found is None:
        raise NotFoundError("topic", tid)
    return found


def check_place(
    community: Community, place: Place, level: Level = Level.ONLINE
) -> tuple[HomeId, ...]:
    """The households the place concerns at ``level``; 400 when the model has no such place."""
    if place.stairwell is not None and place.building_id is None:
        raise HTTPException(400, "a stairwell is given with its building_id")
    if (place.x is None) != (place.y is None):
        raise HTTPException(400, "a point needs both x and y")
    try:
        return concerned_ids(community, level, place)
    except DeliberationError as exc:
        raise HTTPException(400, str(exc)) from None


def check_matter(law: Law, matter: str) -> None:
    known = set(MATTERS).union(*(r.matters or () for r in law.rules))
    if matter not in known:
        raise HTTPException(400, f"matter must be one of {', '.join(sorted(known))}")


@router.get(BASE + "/topics/suggested", responses=problems(400, 401, 403, 404))
async def suggested_topics(
    *,
    cid: CommunityId,
    caller: Reader,
    conn: DbConn,
    threshold: Annotated[int, Query(ge=2, le=1000)] = 5,
    window_days: Annotated[float, Query(ge=0.01, le=366)] = 30,
    radius_m: Annotated[float, Query(ge=0, le=1000)] = 30,
) -> SuggestionsPublic:
    """Recurring incidents of one category in one place not yet any topic's evidence."""
    now = datetime.now(UTC)
    try:
        rule = SuggestionRule(threshold, timedelta(days=window_days), radius_m)
    except DeliberationError as exc:
        raise HTTPException(400, str(exc)) from None
    rows = await q.incidents_since(conn, cid, now - rule.window)
    found = suggest((Incident(**r) for r in rows), now, rule)
    data = [
        SuggestionPublic(
            key=s.key,
            category=s.category,
            places=[str(p) for p in s.places],
            building_id=s.building_id,
            grid_id=s.grid_id,
            x=s.x,
            y=s.y,
            incident_ids=list(s.incident_ids),
            first_at=s.first_at,
            last_at=s.last_at,
        )
        for s in found
    ]
    return SuggestionsPublic(
        threshold=threshold, window_days=window_days, count=len(data), data=data
    )


@router.post(BASE + "/topics", status_code=201, responses=problems(400, 401, 403, 404, 409))
async def create_topic(
    cid: CommunityId, caller: Raiser, conn: DbConn, body: TopicCreate
) -> TopicPublic:
    """A resident's or the office's topic; with a ``suggestion_key``, a suggestion adopted."""
    community = await q.community_model(conn, cid)
    check_matter(q.law_of(community), body.matter)
    check_place(community, q.place_of(body))
    missing = await q.incidents_missing(conn, cid, body.incident_ids)
    if missing:
        raise HTTPException(400, f"no such incident(s): {', '.join(missing[:10])}")
    is_resident = caller.person is not None and caller.person.role is Role.RESIDENT
    if body.suggestion_key is not None and (is_resident or not body.incident_ids):
        raise HTTPException(400, "the office adopts a suggestion with its incident_ids")
    origin = "resident" if is_resident else "suggested" if body.suggestion_key else "office"
    category = body.suggestion_key.split(":", 1)[0] if body.suggestion_key else None
    async with conn.transaction():
        tid = await q.insert_topic(
            conn, cid, body, origin=origin, raised_by=caller.account_id, category=category
        )
    if tid is None:
        raise HTTPException(409, f"suggestion {body.suggestion_key!r} is a topic already")
    return topic_public(await topic_or_404(conn, cid, tid))


@router.get(BASE + "/topics", responses=problems(401, 403, 404))
async def list_topics(
    cid: CommunityId,
    caller: Reader,
    conn: DbConn,
    status: Literal["open", "decided", "withdrawn"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TopicsPublic:
    """Topics, newest first; a resident's say whether they concern their household."""
    rows = await q.list_topics(conn, cid, status, limit)
    home = caller.person.household if caller.person else None
    if home is not None:
        community = await q.community_model(conn, cid)
        mine = HomeId(home.building_id, home.unit_id)
        rows = [{**r, "concerns_me": concerns(community, r, mine)} for r in rows]
    data = [topic_public(r) for r in rows]
    return TopicsPublic(count=len(data), data=data)


@router.get(BASE + "/topics/{tid}", responses=problems(401, 403, 404))
async def get_topic(cid: CommunityId, tid: TopicId, caller: Reader, conn: DbConn) -> TopicPublic:
    return topic_public(await topic_or_404(conn, cid, tid))


@router.post(
    BASE + "/topics/{tid}/opinions", status_code=201, responses=problems(400, 401, 403, 404)
)
async def give_opinion(
    cid: CommunityId, tid: TopicId, person: Resident, conn: DbConn, body: OpinionCreate
) -> OpinionPublic:
    """A concerned resident's opinion (recorded in the household's participation)."""
    topic = await topic_or_404(conn, cid, tid)
    community = await q.community_model(conn, cid)
    assert person.household is not None
    home = HomeId(person.household.building_id, person.household.unit_id)
    if home not in check_place(community, q.place_of(topic)):
        raise HTTPException(403, f"household {home} is not concerned by this topic's place")
    async with conn.transaction():
        row = await q.insert_opinion(conn, tid, person.account_id, _ids(home), body.body)
        entry = EntryCreate(
            client_id=f"opinion:{row['id']}",
            building_id=home.building_id,
            unit_id=home.unit_id,
            kind="opinion_given",
        )
        await record_entry(conn, cid, entry, person.account_id)
    return OpinionPublic(**row)


def _ids(home: HomeId) -> tuple[str, str]:
    return home.building_id, home.unit_id


@router.get(BASE + "/topics/{tid}/opinions", responses=problems(401, 403, 404))
async def list_opinions(
    cid: CommunityId,
    tid: TopicId,
    caller: Reader,
    conn: DbConn,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[OpinionPublic]:
    await topic_or_404(conn, cid, tid)
    rows = await q.list_opinions(conn, tid, limit)
    return [
        OpinionPublic(**{**r, "unit_id": r["unit_id"] if caller.is_office else None}) for r in rows
    ]
