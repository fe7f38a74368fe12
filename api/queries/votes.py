"""Votes, ballots, decisions, action items and the participation ledger (migration 0084)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from psycopg.types.json import Jsonb

from api.db import Conn, fetch_all, fetch_one
from api.models.roundtable import ActionCreate, EntryCreate
from twin.deliberation.counting import Ballot, Choice
from twin.deliberation.homes import Home, HomeId

_VOTE = """
SELECT v.id, v.topic_id, v.table_id, v.level, v.matter, v.law, v.opens_at, v.closes_at,
       v.closed_at, v.result, t.community_id, t.title AS topic_title,
       (SELECT count(*) FROM vote_households h WHERE h.vote_id = v.id) AS concerned,
       (SELECT count(*) FROM ballots b WHERE b.vote_id = v.id) AS ballots
FROM votes v JOIN topics t ON t.id = v.topic_id WHERE t.community_id = %(c)s"""


async def insert_vote(
    conn: Conn,
    *,
    topic_id: int,
    table_id: int | None,
    level: str,
    matter: str,
    law: dict[str, Any],
    opens_at: datetime,
    closes_at: datetime,
    homes: Iterable[Home],
) -> int:
    row = await fetch_one(
        conn,
        "INSERT INTO votes (topic_id, table_id, level, matter, law, opens_at, closes_at)"
        " VALUES (%(t)s, %(r)s, %(l)s, %(m)s, %(law)s, %(o)s, %(cl)s) RETURNING id",
        {
            "t": topic_id,
            "r": table_id,
            "l": level,
            "m": matter,
            "law": Jsonb(law),
            "o": opens_at,
            "cl": closes_at,
        },
    )
    assert row is not None
    vote_id = int(row["id"])
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO vote_households (vote_id, building_id, unit_id, area_m2)"
            " VALUES (%s, %s, %s, %s)",
            [(vote_id, h.id.building_id, h.id.unit_id, _decimal(h.area_m2)) for h in homes],
        )
    return vote_id


def _decimal(x: Fraction) -> Decimal:
    return Decimal(x.numerator) / Decimal(x.denominator)


async def get_vote(conn: Conn, cid: str, vote_id: int) -> dict[str, Any] | None:
    return await fetch_one(conn, _VOTE + " AND v.id = %(v)s", {"c": cid, "v": vote_id})


async def votes_of_topic(conn: Conn, cid: str, topic_id: int) -> list[dict[str, Any]]:
    return await fetch_all(
        conn, _VOTE + " AND v.topic_id = %(t)s ORDER BY v.id", {"c": cid, "t": topic_id}
    )


async def votes_of_table(conn: Conn, cid: str, table_id: int) -> list[dict[str, Any]]:
    return await fetch_all(
        conn, _VOTE + " AND v.table_id = %(r)s ORDER BY v.id", {"c": cid, "r": table_id}
    )


async def is_concerned(conn: Conn, vote_id: int, home: HomeId) -> bool:
    found = await fetch_one(
        conn,
        "SELECT 1 AS one FROM vote_households WHERE vote_id = %(v)s AND building_id = %(b)s"
        " AND unit_id = %(u)s",
        {"v": vote_id, "b": home.building_id, "u": home.unit_id},
    )
    return found is not None


async def upsert_ballot(
    conn: Conn, vote_id: int, home: HomeId, choice: str, account_id: int
) -> dict[str, Any] | None:
    """The household's ballot, now this one; None when the vote is not open (the guard).

    Of two accounts of a household voting at once the one recorded last stands
    (the row lock orders them); its time never goes back, so the kept ballot is
    also the household's latest.
    """
    return await fetch_one(
        conn,
        "INSERT INTO ballots (vote_id, building_id, unit_id, choice, account_id, cast_at)"
        " SELECT v.id, %(b)s, %(u)s, %(ch)s, %(a)s, c.t FROM votes v"
        " CROSS JOIN LATERAL (SELECT clock_timestamp() AS t) c"
        " WHERE v.id = %(v)s AND v.closed_at IS NULL AND c.t >= v.opens_at AND c.t < v.closes_at"
        " ON CONFLICT (vote_id, building_id, unit_id) DO UPDATE SET choice = EXCLUDED.choice,"
        " account_id = EXCLUDED.account_id, cast_at = greatest(ballots.cast_at, EXCLUDED.cast_at)"
        " RETURNING vote_id, building_id, unit_id, choice, cast_at",
        {"v": vote_id, "b": home.building_id, "u": home.unit_id, "ch": choice, "a": account_id},
    )


async def my_choice(conn: Conn, vote_id: int, home: HomeId) -> str | None:
    found = await fetch_one(
        conn,
        "SELECT choice FROM ballots WHERE vote_id = %(v)s AND building_id = %(b)s"
        " AND unit_id = %(u)s",
        {"v": vote_id, "b": home.building_id, "u": home.unit_id},
    )
    return str(found["choice"]) if found else None


async def electorate_and_ballots(conn: Conn, vote_id: int) -> tuple[list[Home], list[Ballot]]:
    homes = [
        Home(HomeId(r["building_id"], r["unit_id"]), Fraction(r["area_m2"]))
        for r in await fetch_all(
            conn,
            "SELECT building_id, unit_id, area_m2 FROM vote_households WHERE vote_id = %(v)s",
            {"v": vote_id},
        )
    ]
    ballots = [
        Ballot(
            HomeId(r["building_id"], r["unit_id"]),
            Choice(r["choice"]),
            r["cast_at"],
            r["account_id"],
        )
        for r in await fetch_all(
            conn,
            "SELECT building_id, unit_id, choice, cast_at, account_id FROM ballots"
            " WHERE vote_id = %(v)s",
            {"v": vote_id},
        )
    ]
    return homes, ballots


async def close_vote(conn: Conn, vote_id: int, closed_at: datetime, result: dict[str, Any]) -> bool:
    """Record the count once: False when another close got there first."""
    cur = await conn.execute(
        "UPDATE votes SET closed_at = %s, result = %s, closes_at = least(closes_at, %s)"
        " WHERE id = %s AND closed_at IS NULL",
        (closed_at, Jsonb(result), closed_at, vote_id),
    )
    return cur.rowcount == 1


async def lock_vote(conn: Conn, vote_id: int, *, share: bool = False) -> None:
    """A close locks the vote's row for update, ballots for share: neither slips past the other."""
    await conn.execute(
        "SELECT 1 FROM votes WHERE id = %s FOR SHARE"
        if share
        else "SELECT 1 FROM votes WHERE id = %s FOR UPDATE",
        (vote_id,),
    )


# --- decisions and action items ----------------------------------------------------------

_ACTION = """
SELECT a.id, a.decision_id, d.topic_id, a.title, a.owner_role, a.owner_account, a.due_at,
       a.building_id, a.grid_id, a.status, a.done_at
FROM action_items a JOIN decisions d ON d.id = a.decision_id JOIN topics t ON t.id = d.topic_id
WHERE t.community_id = %(c)s"""


async def insert_decision(
    conn: Conn,
    *,
    topic_id: int,
    vote_id: int | None,
    table_id: int | None,
    body: str,
    decided_by: int | None,
    actions: list[ActionCreate],
) -> int:
    row = await fetch_one(
        conn,
        "INSERT INTO decisions (topic_id, vote_id, table_id, body, decided_by)"
        " VALUES (%(t)s, %(v)s, %(r)s, %(body)s, %(by)s) RETURNING id",
        {"t": topic_id, "v": vote_id, "r": table_id, "body": body, "by": decided_by},
    )
    assert row is not None
    decision_id = int(row["id"])
    for a in actions:
        await conn.execute(
            "INSERT INTO action_items (decision_id, title, owner_role, owner_account, due_at,"
            " building_id, grid_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                decision_id,
                a.title,
                a.owner_role,
                a.owner_account,
                a.due_at,
                a.building_id,
                a.grid_id,
            ),
        )
    return decision_id


async def get_decision(conn: Conn, cid: str, decision_id: int) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        "SELECT d.id, d.topic_id, d.vote_id, d.table_id, d.body, d.decided_at FROM decisions d"
        " JOIN topics t ON t.id = d.topic_id WHERE t.community_id = %(c)s AND d.id = %(d)s",
        {"c": cid, "d": decision_id},
    )


async def decisions_of_topic(conn: Conn, cid: str, topic_id: int) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        "SELECT d.id FROM decisions d JOIN topics t ON t.id = d.topic_id"
        " WHERE t.community_id = %(c)s AND d.topic_id = %(t)s ORDER BY d.id",
        {"c": cid, "t": topic_id},
    )


async def list_actions(
    conn: Conn, cid: str, *, decision_id: int | None = None, action_id: int | None = None
) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        _ACTION + " AND (%(d)s::bigint IS NULL OR a.decision_id = %(d)s)"
        " AND (%(a)s::bigint IS NULL OR a.id = %(a)s) ORDER BY a.due_at, a.id",
        {"c": cid, "d": decision_id, "a": action_id},
    )


async def set_action_status(
    conn: Conn, action_id: int, status: str, done_at: datetime | None
) -> None:
    await conn.execute(
        "UPDATE action_items SET status = %s, done_at = %s, updated_at = now() WHERE id = %s",
        (status, done_at, action_id),
    )


# --- participation ------------------------------------------------------------------------


async def record_entry(
    conn: Conn, cid: str, e: EntryCreate, recorded_by: int | None
) -> tuple[dict[str, Any], bool]:
    """The entry under its client id, and whether this call recorded it (False: seen before)."""
    row = await fetch_one(
        conn,
        "INSERT INTO participation (community_id, client_id, building_id, unit_id, kind, at,"
        " hours, recorded_by) VALUES (%(c)s, %(id)s, %(b)s, %(u)s, %(k)s,"
        " coalesce(%(at)s, now()), %(h)s, %(by)s) ON CONFLICT (community_id, client_id) DO NOTHING"
        " RETURNING client_id, building_id, unit_id, kind, at, hours",
        {
            "c": cid,
            "id": e.client_id,
            "b": e.building_id,
            "u": e.unit_id,
            "k": e.kind,
            "at": e.at,
            "h": e.hours,
            "by": recorded_by,
        },
    )
    if row is not None:
        return row, True
    found = await fetch_one(
        conn,
        "SELECT client_id, building_id, unit_id, kind, at, hours FROM participation"
        " WHERE community_id = %(c)s AND client_id = %(id)s",
        {"c": cid, "id": e.client_id},
    )
    assert found is not None
    return found, False


async def participation_since(conn: Conn, cid: str, since: datetime) -> dict[str, Any]:
    found = await fetch_one(
        conn,
        "SELECT (SELECT count(*) FROM units WHERE community_id = %(c)s) AS households,"
        " (SELECT count(DISTINCT (building_id, unit_id)) FROM participation p"
        "  WHERE p.community_id = %(c)s AND p.at >= %(s)s AND EXISTS (SELECT 1 FROM units u"
        "  WHERE u.community_id = p.community_id AND u.building_id = p.building_id"
        "  AND u.id = p.unit_id)) AS participating,"
        " coalesce((SELECT json_object_agg(kind, n) FROM (SELECT kind, count(*) AS n"
        "  FROM participation WHERE community_id = %(c)s AND at >= %(s)s GROUP BY kind) k),"
        "  '{}') AS by_kind,"
        " (SELECT coalesce(sum(hours), 0) FROM participation WHERE community_id = %(c)s"
        "  AND at >= %(s)s) AS hours",
        {"c": cid, "s": since},
    )
    assert found is not None
    return found


async def open_votes(conn: Conn, cid: str, limit: int) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        _VOTE + " AND v.closed_at IS NULL ORDER BY v.closes_at, v.id LIMIT %(n)s",
        {"c": cid, "n": limit},
    )
