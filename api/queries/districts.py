"""Districts (``districts``, ``district_communities``): create, members, list, read.

Shared by the API (the overview reads :func:`district_members`) and the
``commtwin district`` command.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from api.db import Conn, fetch_all, fetch_one
from api.errors import BadRequestError, NotFoundError

DISTRICT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Member:
    """A member community and where its local frame sits (for the district map)."""

    id: str
    name: str
    crs: str
    offset: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class District:
    id: str
    name: str
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class DistrictSummary:
    id: str
    name: str
    communities: int


_MEMBERS = """
SELECT c.id, c.name, c.crs, c.offset_x, c.offset_y, c.offset_z
FROM district_communities m JOIN communities c ON c.id = m.community_id
WHERE m.district_id = %(d)s ORDER BY c.id
"""


def check_district_id(ident: str) -> str:
    """
    >>> check_district_id("west-lake")
    'west-lake'
    >>> check_district_id("West Lake")
    Traceback (most recent call last):
    ...
    api.errors.BadRequestError: district: id 'West Lake' must match ^[a-z0-9][a-z0-9-]{0,63}$
    """
    if not DISTRICT_ID.fullmatch(ident):
        raise BadRequestError("district", f"id {ident!r} must match {DISTRICT_ID.pattern}")
    return ident


async def create_district(conn: Conn, ident: str, name: str | None) -> DistrictSummary:
    """Create a district, or rename it when it exists (idempotent)."""
    check_district_id(ident)
    row = await fetch_one(
        conn,
        "INSERT INTO districts (id, name) VALUES (%(d)s, %(n)s)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name RETURNING id, name",
        {"d": ident, "n": name or ident},
    )
    assert row is not None  # INSERT ... RETURNING always returns the row
    count = await _member_count(conn, ident)
    return DistrictSummary(row["id"], row["name"], count)


async def add_members(conn: Conn, ident: str, communities: Sequence[str]) -> DistrictSummary:
    """Add communities (already members are kept); an unknown one adds nothing."""
    found = await _summary(conn, ident)
    wanted = sorted(set(communities))
    known = {
        r["id"]
        for r in await fetch_all(
            conn, "SELECT id FROM communities WHERE id = ANY(%(ids)s)", {"ids": wanted}
        )
    }
    missing = [c for c in wanted if c not in known]
    if missing:
        raise BadRequestError("communities", f"unknown community {missing[0]!r}")
    await conn.execute(
        "INSERT INTO district_communities (district_id, community_id)"
        " SELECT %(d)s, unnest(%(ids)s::text[]) ON CONFLICT DO NOTHING",
        {"d": ident, "ids": wanted},
    )
    return DistrictSummary(found.id, found.name, await _member_count(conn, ident))


async def remove_members(conn: Conn, ident: str, communities: Sequence[str]) -> DistrictSummary:
    found = await _summary(conn, ident)
    await conn.execute(
        "DELETE FROM district_communities"
        " WHERE district_id = %(d)s AND community_id = ANY(%(ids)s)",
        {"d": ident, "ids": sorted(set(communities))},
    )
    return DistrictSummary(found.id, found.name, await _member_count(conn, ident))


async def list_districts(conn: Conn) -> list[DistrictSummary]:
    rows = await fetch_all(
        conn,
        "SELECT d.id, d.name, (SELECT count(*) FROM district_communities m"
        " WHERE m.district_id = d.id) AS n FROM districts d ORDER BY d.id",
    )
    return [DistrictSummary(r["id"], r["name"], int(r["n"])) for r in rows]


async def district_members(conn: Conn, ident: str) -> District | None:
    """The district and its member communities; None when it does not exist."""
    head = await fetch_one(conn, "SELECT id, name FROM districts WHERE id = %(d)s", {"d": ident})
    if head is None:
        return None
    rows = await fetch_all(conn, _MEMBERS, {"d": ident})
    members = tuple(
        Member(r["id"], r["name"], r["crs"], (r["offset_x"], r["offset_y"], r["offset_z"]))
        for r in rows
    )
    return District(head["id"], head["name"], members)


async def _summary(conn: Conn, ident: str) -> DistrictSummary:
    row = await fetch_one(conn, "SELECT id, name FROM districts WHERE id = %(d)s", {"d": ident})
    if row is None:
        raise NotFoundError("district", ident)
    return DistrictSummary(row["id"], row["name"], await _member_count(conn, ident))


async def _member_count(conn: Conn, ident: str) -> int:
    row = await fetch_one(
        conn,
        "SELECT count(*) AS n FROM district_communities WHERE district_id = %(d)s",
        {"d": ident},
    )
    return int(row["n"]) if row else 0
