"""Topics, their evidence and opinions, and the tables that take them (migration 0084)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.community_store import load_community_async
from api.db import Conn, fetch_all, fetch_one
from api.errors import ConflictError, NotFoundError
from api.models.roundtable import PlaceFields, TableCreate, TableUpdate, TopicCreate
from twin.deliberation.concerned import Place
from twin.deliberation.counting import CIVIL_CODE_278, Law, law_from_json
from twin.deliberation.homes import DeliberationError
from twin.model.community import Community

RULES_KEY = "counting_rules"
"""The community attribute holding a configured law (docs/roundtable.md); art. 278 without it."""

_TOPIC = """
SELECT t.id, t.title, t.body, t.matter, t.origin, t.category, t.status, t.created_at,
       t.building_id, t.stairwell, t.grid_id, t.x, t.y,
       array(SELECT incident_id FROM topic_incidents i
             WHERE i.community_id = t.community_id AND i.topic_id = t.id
             ORDER BY incident_id) AS incident_ids
FROM topics t WHERE t.community_id = %(c)s"""


async def community_model(conn: Conn, cid: str) -> Community:
    found = await load_community_async(conn, cid)
    if found is None:
        raise NotFoundError("community", cid)
    return found


def law_of(community: Community) -> Law:
    """The community's configured law, else art. 278; 409 while the configuration is bad."""
    data = community.attributes.get(RULES_KEY)
    try:
        return CIVIL_CODE_278 if data is None else law_from_json(data)
    except DeliberationError as exc:
        raise ConflictError(f"the community's {exc}; fix its model file") from None


def place_of(row: PlaceFields | dict[str, Any]) -> Place:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return Place(get("building_id"), get("stairwell"), get("grid_id"), get("x"), get("y"))


def _place_params(p: PlaceFields) -> dict[str, Any]:
    return {"b": p.building_id, "s": p.stairwell, "g": p.grid_id, "x": p.x, "y": p.y}


async def incidents_missing(conn: Conn, cid: str, ids: list[str]) -> list[str]:
    found = await fetch_one(
        conn,
        "SELECT array(SELECT i FROM unnest(%(i)s::text[]) i WHERE NOT EXISTS"
        " (SELECT 1 FROM incidents WHERE community_id = %(c)s AND id = i)) AS missing",
        {"c": cid, "i": ids},
    )
    return list(found["missing"]) if found else ids


async def insert_topic(
    conn: Conn,
    cid: str,
    body: TopicCreate,
    *,
    origin: str,
    raised_by: int | None,
    category: str | None,
) -> int | None:
    """The new topic's id; None when its suggestion was adopted already."""
    row = await fetch_one(
        conn,
        "INSERT INTO topics (community_id, title, body, matter, origin, raised_by, category,"
        " suggestion_key, building_id, stairwell, grid_id, x, y) VALUES (%(c)s, %(t)s, %(body)s,"
        " %(m)s, %(o)s, %(r)s, %(cat)s, %(k)s, %(b)s, %(s)s, %(g)s, %(x)s, %(y)s)"
        " ON CONFLICT (community_id, suggestion_key) DO NOTHING RETURNING id",
        {
            "c": cid,
            "t": body.title,
            "body": body.body,
            "m": body.matter,
            "o": origin,
            "r": raised_by,
            "cat": category,
            "k": body.suggestion_key,
            **_place_params(body),
        },
    )
    if row is None:
        return None
    tid = int(row["id"])
    await conn.execute(
        "INSERT INTO topic_incidents (community_id, topic_id, incident_id)"
        " SELECT %(c)s, %(t)s, i FROM unnest(%(i)s::text[]) i ON CONFLICT DO NOTHING",
        {"c": cid, "t": tid, "i": body.incident_ids},
    )
    return tid


async def get_topic(conn: Conn, cid: str, tid: int) -> dict[str, Any] | None:
    return await fetch_one(conn, _TOPIC + " AND t.id = %(t)s", {"c": cid, "t": tid})


async def list_topics(conn: Conn, cid: str, status: str | None, limit: int) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        _TOPIC + " AND (%(s)s::text IS NULL OR t.status = %(s)s) ORDER BY t.created_at DESC, t.id"
        " DESC LIMIT %(n)s",
        {"c": cid, "s": status, "n": limit},
    )


async def set_topic_status(conn: Conn, tid: int, status: str) -> None:
    await conn.execute("UPDATE topics SET status = %(s)s WHERE id = %(t)s", {"s": status, "t": tid})


async def incidents_since(conn: Conn, cid: str, since: datetime) -> list[dict[str, Any]]:
    """Incidents a suggestion may take: not cancelled, not yet any topic's evidence."""
    return await fetch_all(
        conn,
        "SELECT id, category, reported_at, building_id, grid_id, x, y FROM incidents i"
        " WHERE community_id = %(c)s AND reported_at > %(s)s AND status <> 'cancelled'"
        " AND category IS NOT NULL AND NOT EXISTS (SELECT 1 FROM topic_incidents t"
        " WHERE t.community_id = i.community_id AND t.incident_id = i.id)",
        {"c": cid, "s": since},
    )


async def insert_opinion(
    conn: Conn, tid: int, account_id: int, home: tuple[str, str], body: str
) -> dict[str, Any]:
    row = await fetch_one(
        conn,
        "INSERT INTO opinions (topic_id, account_id, building_id, unit_id, body)"
        " VALUES (%(t)s, %(a)s, %(b)s, %(u)s, %(body)s)"
        " RETURNING id, building_id, unit_id, body, created_at",
        {"t": tid, "a": account_id, "b": home[0], "u": home[1], "body": body},
    )
    assert row is not None
    return row


async def list_opinions(conn: Conn, tid: int, limit: int) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        "SELECT id, building_id, unit_id, body, created_at FROM opinions WHERE topic_id = %(t)s"
        " ORDER BY created_at, id LIMIT %(n)s",
        {"t": tid, "n": limit},
    )


# --- tables ------------------------------------------------------------------------------

_TABLE = """
SELECT r.id, r.level, r.title, r.starts_at, r.location, r.status, r.minutes,
       r.building_id, r.stairwell, r.grid_id, r.x, r.y,
       array(SELECT topic_id FROM table_topics WHERE table_id = r.id ORDER BY position)
         AS topic_ids,
       coalesce((SELECT json_agg(json_build_object('id', p.id, 'role', p.role, 'name', p.name,
                   'account_id', p.account_id, 'attended', p.attended) ORDER BY p.id)
                 FROM table_participants p WHERE p.table_id = r.id), '[]') AS participants
FROM round_tables r WHERE r.community_id = %(c)s"""


async def topics_missing(conn: Conn, cid: str, ids: list[int]) -> list[int]:
    found = await fetch_one(
        conn,
        "SELECT array(SELECT i FROM unnest(%(i)s::bigint[]) i WHERE NOT EXISTS"
        " (SELECT 1 FROM topics WHERE community_id = %(c)s AND id = i)) AS missing",
        {"c": cid, "i": ids},
    )
    return list(found["missing"]) if found else ids


async def accounts_missing(conn: Conn, cid: str, ids: list[int]) -> list[int]:
    found = await fetch_one(
        conn,
        "SELECT array(SELECT i FROM unnest(%(i)s::bigint[]) i WHERE NOT EXISTS"
        " (SELECT 1 FROM accounts WHERE community_id = %(c)s AND id = i)) AS missing",
        {"c": cid, "i": ids},
    )
    return list(found["missing"]) if found else ids


async def insert_table(conn: Conn, cid: str, body: TableCreate, created_by: int | None) -> int:
    row = await fetch_one(
        conn,
        "INSERT INTO round_tables (community_id, level, title, starts_at, location, building_id,"
        " stairwell, grid_id, x, y, created_by) VALUES (%(c)s, %(l)s, %(t)s, %(at)s, %(loc)s,"
        " %(b)s, %(s)s, %(g)s, %(x)s, %(y)s, %(by)s) RETURNING id",
        {
            "c": cid,
            "l": body.level,
            "t": body.title,
            "at": body.starts_at,
            "loc": body.location,
            "by": created_by,
            **_place_params(body),
        },
    )
    assert row is not None
    table_id = int(row["id"])
    for position, tid in enumerate(dict.fromkeys(body.topic_ids)):
        await conn.execute(
            "INSERT INTO table_topics (table_id, topic_id, position) VALUES (%s, %s, %s)",
            (table_id, tid, position),
        )
    for p in body.participants:
        await conn.execute(
            "INSERT INTO table_participants (table_id, role, name, account_id)"
            " VALUES (%s, %s, %s, %s)",
            (table_id, p.role, p.name, p.account_id),
        )
    return table_id


async def get_table(conn: Conn, cid: str, table_id: int) -> dict[str, Any] | None:
    return await fetch_one(conn, _TABLE + " AND r.id = %(r)s", {"c": cid, "r": table_id})


async def list_tables(
    conn: Conn, cid: str, since: datetime | None, limit: int
) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        _TABLE + " AND (%(s)s::timestamptz IS NULL OR r.starts_at >= %(s)s)"
        " ORDER BY r.starts_at, r.id LIMIT %(n)s",
        {"c": cid, "s": since, "n": limit},
    )


async def update_table(conn: Conn, table_id: int, body: TableUpdate) -> list[int]:
    """Apply the update; the participant ids named that are not this table's."""
    await conn.execute(
        "UPDATE round_tables SET minutes = coalesce(%(m)s, minutes),"
        " status = coalesce(%(s)s, status) WHERE id = %(r)s",
        {"m": body.minutes, "s": body.status, "r": table_id},
    )
    strangers = []
    for a in body.attendance:
        cur = await conn.execute(
            "UPDATE table_participants SET attended = %s WHERE id = %s AND table_id = %s",
            (a.attended, a.participant_id, table_id),
        )
        if cur.rowcount == 0:
            strangers.append(a.participant_id)
    return strangers
