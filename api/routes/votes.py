"""Votes on topics: one ballot per concerned household, counted by the community's law.

The office opens a vote: its electorate (the concerned households with their
floor areas) and the law counting it are fixed then. A resident casts (and
may change) the household's ballot until the close; the office closes and the
count is stored with the rule and the figures behind it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from api.db import Conn
from api.deps import CommunityId, DbConn
from api.errors import NotFoundError
from api.models.common import problems
from api.models.roundtable import (
    BallotCast,
    BallotPublic,
    CountFigures,
    EntryCreate,
    VoteCreate,
    VotePublic,
)
from api.queries import topics as tq
from api.queries import votes as q
from api.roundtable_access import Office, Reader, Resident
from api.routes.topics import BASE, TopicId, check_matter, topic_or_404
from twin.deliberation.concerned import Level, electorate
from twin.deliberation.counting import Result, count, law_from_json, law_to_json
from twin.deliberation.homes import DeliberationError, HomeId

router = APIRouter(tags=["round table"])
VoteId = Annotated[int, Path(ge=1, le=2**62)]


def area_text(x: Fraction) -> str:
    """An area in m² as exact decimal text (areas are decimals, so their sums are too).

    >>> area_text(Fraction(17982, 10)), area_text(Fraction(1, 3))
    ('1798.2', '0.3333333333333333')
    """
    d = x.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1:
        return repr(float(x))
    scale = 0
    while (x * 10**scale).denominator != 1:
        scale += 1
    whole = x * 10**scale
    text = str(whole.numerator).rjust(scale + 1, "0")
    return text if scale == 0 else f"{text[:-scale]}.{text[-scale:]}"


def figures(r: Result) -> dict[str, Any]:
    out = {k: getattr(r, k) for k in CountFigures.model_fields}
    for k in ("total_area", "participating_area", "yes_area", "no_area"):
        out[k] = area_text(getattr(r, k))
    return out


def vote_public(
    r: dict[str, Any], my_choice: str | None = None, concerns_me: bool | None = None
) -> VotePublic:
    law = law_from_json(r["law"])
    return VotePublic(
        id=r["id"],
        topic_id=r["topic_id"],
        table_id=r["table_id"],
        level=r["level"],
        matter=r["matter"],
        rule_id=law.rule_for(r["matter"]).id,
        opens_at=r["opens_at"],
        closes_at=r["closes_at"],
        closed=r["closed_at"] is not None,
        concerned_households=r["concerned"],
        ballots=r["ballots"],
        my_choice=my_choice,
        concerns_me=concerns_me,
        result=CountFigures(**r["result"]) if r["result"] else None,
    )


async def vote_or_404(conn: Conn, cid: str, vote_id: int) -> dict[str, Any]:
    found = await q.get_vote(conn, cid, vote_id)
    if found is None:
        raise NotFoundError("vote", vote_id)
    return found


@router.post(
    BASE + "/topics/{tid}/votes", status_code=201, responses=problems(400, 401, 403, 404, 409)
)
async def open_vote(
    cid: CommunityId, tid: TopicId, caller: Office, conn: DbConn, body: VoteCreate
) -> VotePublic:
    """Open a vote on a topic: at a table (its level and place) or online (the topic's place)."""
    topic = await topic_or_404(conn, cid, tid)
    community = await tq.community_model(conn, cid)
    law = tq.law_of(community)
    matter = body.matter or topic["matter"]
    check_matter(law, matter)
    level, place = Level(body.level), tq.place_of(topic)
    if body.table_id is not None:
        table = await tq.get_table(conn, cid, body.table_id)
        if table is None:
            raise HTTPException(400, f"no table {body.table_id} in this community")
        level, place = Level(table["level"]), tq.place_of(table)
    now = datetime.now(UTC)
    opens = body.opens_at or now
    if body.closes_at <= max(opens, now):
        raise HTTPException(400, "closes_at must be after the opening and after now")
    try:
        homes = electorate(community, level, place)
    except DeliberationError as exc:
        raise HTTPException(409, str(exc)) from None
    async with conn.transaction():
        vote_id = await q.insert_vote(
            conn,
            topic_id=tid,
            table_id=body.table_id,
            level=level.value,
            matter=matter,
            law=law_to_json(law),
            opens_at=opens,
            closes_at=body.closes_at,
            homes=homes,
        )
    return vote_public(await vote_or_404(conn, cid, vote_id))


@router.get(BASE + "/votes/{vote_id}", responses=problems(401, 403, 404))
async def get_vote(cid: CommunityId, vote_id: VoteId, caller: Reader, conn: DbConn) -> VotePublic:
    """The vote, its result once closed, and a resident's own household's choice."""
    vote = await vote_or_404(conn, cid, vote_id)
    home = caller.person.household if caller.person else None
    if home is None:
        return vote_public(vote)
    mine = HomeId(home.building_id, home.unit_id)
    return vote_public(
        vote, await q.my_choice(conn, vote_id, mine), await q.is_concerned(conn, vote_id, mine)
    )


@router.get(BASE + "/topics/{tid}/votes", responses=problems(401, 403, 404))
async def topic_votes(
    cid: CommunityId, tid: TopicId, caller: Reader, conn: DbConn
) -> list[VotePublic]:
    await topic_or_404(conn, cid, tid)
    return [vote_public(v) for v in await q.votes_of_topic(conn, cid, tid)]


@router.put(BASE + "/votes/{vote_id}/ballot", responses=problems(400, 401, 403, 404, 409))
async def cast_ballot(
    cid: CommunityId, vote_id: VoteId, person: Resident, conn: DbConn, body: BallotCast
) -> BallotPublic:
    """The household's ballot: any of its accounts may cast or change it until the close."""
    vote = await vote_or_404(conn, cid, vote_id)
    assert person.household is not None
    home = HomeId(person.household.building_id, person.household.unit_id)
    sent = (body.building_id, body.unit_id)
    if sent not in ((None, None), (home.building_id, home.unit_id)):
        raise HTTPException(403, f"a ballot is cast for one's own household ({home}) only")
    if not await q.is_concerned(conn, vote_id, home):
        raise HTTPException(403, f"household {home} is not concerned by this vote")
    async with conn.transaction():
        await q.lock_vote(conn, vote_id, share=True)  # waits for a close in progress
        row = await q.upsert_ballot(conn, vote_id, home, body.choice, person.account_id)
        if row is None:
            when = vote["closed_at"] or vote["closes_at"]
            raise HTTPException(409, f"voting is not open (it closes at {when.isoformat()})")
        entry = EntryCreate(
            client_id=f"vote:{vote_id}:{home}",
            building_id=home.building_id,
            unit_id=home.unit_id,
            kind="vote_cast",
        )
        await q.record_entry(conn, cid, entry, person.account_id)
    return BallotPublic(**row)


@router.post(BASE + "/votes/{vote_id}/close", responses=problems(401, 403, 404, 409))
async def close_vote(cid: CommunityId, vote_id: VoteId, caller: Office, conn: DbConn) -> VotePublic:
    """Close now (or record the close that has passed) and count by the vote's law."""
    await vote_or_404(conn, cid, vote_id)
    async with conn.transaction():
        await q.lock_vote(conn, vote_id)
        vote = await vote_or_404(conn, cid, vote_id)
        if vote["closed_at"] is not None:
            raise HTTPException(
                409, f"vote {vote_id} was closed at {vote['closed_at'].isoformat()}"
            )
        closes = min(vote["closes_at"], datetime.now(UTC))
        homes, ballots = await q.electorate_and_ballots(conn, vote_id)
        law = law_from_json(vote["law"])
        result = count(homes, ballots, law, vote["matter"], closes)
        await q.close_vote(conn, vote_id, closes, figures(result))
    return vote_public(await vote_or_404(conn, cid, vote_id))


@router.get(BASE + "/votes/{vote_id}/result", responses=problems(401, 403, 404, 409))
async def vote_result(
    cid: CommunityId, vote_id: VoteId, caller: Reader, conn: DbConn
) -> CountFigures:
    vote = await vote_or_404(conn, cid, vote_id)
    if vote["result"] is None:
        raise HTTPException(409, f"vote {vote_id} is not closed yet")
    return CountFigures(**vote["result"])
