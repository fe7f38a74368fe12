"""People and incidents: who reported what (migration 0082), what a person may see.

:func:`report_scope` is the one place an incident becomes a
:class:`twin.people.visibility.ReportScope`: its grid, and the household that
reported it (``people_reports``), never the place it is located in. Every
read and action of a person on an incident (the lists, one incident, its
actions, its photos) goes through :func:`incident_scope` or the list query
here, and ``twin.people.visibility`` judges each row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from psycopg import sql

from api.db import Conn, fetch_all, fetch_one
from api.models.my_incidents import MyIncident
from api.queries.incidents import public
from api.queries.people import person_of
from twin.incidents.categories import CARE_CHECK
from twin.model.households import ELDERLY_BANDS
from twin.people.roles import Household, Person, Role
from twin.people.visibility import ReportScope, may_see

# Incident columns, qualified, plus the reporting household and the unit's care flag.
_COLUMNS: Final = sql.SQL("""
    i.id, i.status, i.category, i.priority, i.title, i.description, i.reporter, i.assignee,
    i.grid_id, i.building_id, i.storey_idx, i.unit_id, i.x, i.y, i.z, i.alarm_id,
    i.reported_at, i.dispatched_at, i.accepted_at, i.resolved_at, i.closed_at,
    i.cancelled_at, i.respond_due_at, i.resolve_due_at, i.escalated_at, i.reopen_count,
    i.satisfaction, i.updated_at,
    p.building_id AS report_building_id, p.unit_id AS report_unit_id,
    (u.care_level > 0 OR u.age_band = ANY(%(elderly)s)) AS care""")
_FROM: Final = sql.SQL("""
FROM incidents i
LEFT JOIN people_reports p ON p.community_id = i.community_id AND p.incident_id = i.id
LEFT JOIN units u ON i.category = %(care_check)s AND u.community_id = i.community_id
     AND u.building_id = i.building_id AND u.id = i.unit_id""")
# The SQL narrows what is read; twin.people.visibility judges every row again.
_MINE: Final = sql.SQL("""
SELECT {columns} {source}
WHERE i.community_id = %(c)s
  AND (%(status)s::text IS NULL OR i.status = %(status)s
       OR (%(status)s = 'open' AND i.status NOT IN ('closed', 'cancelled')))
  AND (%(all)s OR i.grid_id = ANY(%(grids)s) OR (p.building_id = %(b)s AND p.unit_id = %(u)s))
ORDER BY coalesce(i.resolve_due_at, i.respond_due_at, i.reported_at), i.reported_at, i.id
LIMIT %(limit)s""").format(columns=_COLUMNS, source=_FROM)
_ONE: Final = sql.SQL(
    "SELECT {columns} {source} WHERE i.community_id = %(c)s AND i.id = %(i)s"
).format(columns=_COLUMNS, source=_FROM)
_PARAMS: Final = {"elderly": sorted(ELDERLY_BANDS), "care_check": CARE_CHECK}


def report_scope(community: str, row: Mapping[str, Any]) -> ReportScope:
    """An incident row (with ``report_building_id``/``report_unit_id`` from
    ``people_reports``) as :func:`twin.people.visibility.may_see` judges it.

    A report's household is the one recorded when a resident made it; an
    incident nobody reported through a session (an alarm, an app with a key)
    has none, whatever home it is located in.

    >>> report_scope("lanting", {"grid_id": "g1", "unit_id": "1-101", "building_id": "b1"})
    ReportScope(community_id='lanting', grid_id='g1', household=None)
    >>> report_scope("lanting", {"grid_id": None, "report_building_id": "b1",
    ...                          "report_unit_id": "1-101"}).household
    Household(building_id='b1', unit_id='1-101')
    """
    building, unit = row.get("report_building_id"), row.get("report_unit_id")
    home = Household(building, unit) if building is not None and unit is not None else None
    return ReportScope(community, grid_id=row.get("grid_id"), household=home)


async def incident_row(conn: Conn, community: str, incident: str) -> dict[str, Any] | None:
    """The incident's row with its reporting household (None: no such incident)."""
    return await fetch_one(conn, _ONE, {**_PARAMS, "c": community, "i": incident})


async def incident_scope(conn: Conn, community: str, incident: str) -> ReportScope | None:
    """Where the incident sits for access; None when there is no such incident."""
    row = await incident_row(conn, community, incident)
    return None if row is None else report_scope(community, row)


def mine(row: Mapping[str, Any], now: datetime) -> MyIncident:
    """A list item: the incident, and for a care check only the household's care flag."""
    care = bool(row["care"]) if row["category"] == CARE_CHECK else None
    return MyIncident(**public(row, now).model_dump(), care=care)


async def incidents_of(
    conn: Conn, person: Person, now: datetime, *, status: str | None, limit: int
) -> list[MyIncident]:
    """What ``person`` may see of the community's incidents, SLA due first.

    ``status``: one status, ``open`` (not closed or cancelled; a resolved one
    awaits its household's confirmation) or None for all.
    """
    home = person.household
    params = {
        **_PARAMS,
        "c": person.community_id,
        "status": status,
        "all": person.role is Role.OFFICE,
        "grids": sorted(person.grids),
        "b": home.building_id if home else None,
        "u": home.unit_id if home else None,
        "limit": limit,
    }
    rows = await fetch_all(conn, _MINE, params)
    return [mine(r, now) for r in rows if may_see(person, report_scope(person.community_id, r))]


async def record_report(
    conn: Conn, community: str, incident: str, account_id: int, home: Household
) -> bool:
    """Record that ``home`` reports ``incident``; False when the incident id is
    already another household's (nothing is changed then)."""
    await conn.execute(
        "INSERT INTO people_reports (community_id, incident_id, account_id, building_id,"
        " unit_id) VALUES (%(c)s, %(i)s, %(a)s, %(b)s, %(u)s) ON CONFLICT DO NOTHING",
        {"c": community, "i": incident, "a": account_id, "b": home.building_id, "u": home.unit_id},
    )
    found = await fetch_one(
        conn,
        "SELECT building_id, unit_id FROM people_reports WHERE community_id = %(c)s"
        " AND incident_id = %(i)s",
        {"c": community, "i": incident},
    )
    return found is not None and Household(found["building_id"], found["unit_id"]) == home


async def storey_of(conn: Conn, community: str, home: Household) -> int | None:
    found = await fetch_one(
        conn,
        "SELECT storey_idx FROM units WHERE community_id = %(c)s AND building_id = %(b)s"
        " AND id = %(u)s",
        {"c": community, "b": home.building_id, "u": home.unit_id},
    )
    return None if found is None else found["storey_idx"]


async def building_exists(conn: Conn, community: str, building: str) -> bool:
    found = await fetch_one(
        conn,
        "SELECT 1 AS one FROM buildings WHERE community_id = %(c)s AND id = %(b)s",
        {"c": community, "b": building},
    )
    return found is not None


async def handover_target(conn: Conn, community: str, login: str) -> Person | None:
    """The active worker or property-staff account ``login`` of the community."""
    found = await fetch_one(
        conn,
        "SELECT id, community_id, login, role, building_id, unit_id, grids FROM accounts"
        " WHERE community_id = %(c)s AND login = %(l)s AND disabled_at IS NULL"
        " AND role IN ('worker', 'property')",
        {"c": community, "l": login},
    )
    return None if found is None else person_of(found)
