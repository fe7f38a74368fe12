"""The live state's reads: a whole community (build), changed rows (update), replay.

A build runs in one REPEATABLE READ transaction, so the rows and the version
it reads come from one snapshot, whose ``pg_snapshot`` the state keeps as its
*frontier*. An update reads, again in one snapshot, the change-log rows of the
transactions the frontier did not see, and the rows they name: whole commits
only (a transaction's rows are all visible or none), whatever order their
sequences were taken in; the new snapshot becomes the frontier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from api.db import Conn, fetch_all, fetch_one
from api.live.document import LOOP_WINDOW, CommunityLive
from api.live.rows import alarm_state, device_state, incident_state, layout, recent_incident
from twin.live.state import LiveState

Row = dict[str, Any]

_HEAD: Final = """
SELECT c.name,
       COALESCE((SELECT max(seq) FROM change_log),
                pg_sequence_last_value(pg_get_serial_sequence('change_log', 'seq')::regclass),
                0) AS version,
       (SELECT max(seq) FROM change_log
         WHERE community_id = c.id AND kind = 'community') AS model_version,
       (SELECT max(at) FROM change_log WHERE community_id = c.id) AS last_update,
       pg_current_snapshot()::text AS frontier
FROM communities c WHERE c.id = %(c)s
"""
_BUILDINGS: Final = """
SELECT b.id, b.name, array_remove(array_agg(s.idx ORDER BY s.idx), NULL) AS storeys
FROM buildings b
LEFT JOIN storeys s ON s.community_id = b.community_id AND s.building_id = b.id
WHERE b.community_id = %(c)s
GROUP BY b.id, b.name ORDER BY b.id
"""
_DEVICES: Final = """
SELECT id, kind, building_id, storey_idx, unit_id, grid_id, online
FROM devices WHERE community_id = %(c)s
"""
_DEVICES_BY_ID: Final = _DEVICES + " AND id = ANY(%(ids)s)"
_ALARMS: Final = """
SELECT a.id, a.device_id, d.kind, a.rule_id, a.severity, a.state, a.raised_at, a.message,
       a.value, a.building_id, a.storey_idx, a.unit_id, a.grid_id, a.incident_id
FROM alarms a
LEFT JOIN devices d ON d.community_id = a.community_id AND d.id = a.device_id
WHERE a.community_id = %(c)s
"""
_ACTIVE_ALARMS: Final = _ALARMS + " AND a.state <> 'cleared'"
_ALARMS_BY_ID: Final = _ALARMS + " AND a.id = ANY(%(ids)s)"
_INCIDENTS: Final = """
SELECT id, status, reported_at, category, priority, title, assignee, grid_id, building_id,
       storey_idx, unit_id, x, y, z, respond_due_at, resolve_due_at, accepted_at, escalated_at
FROM incidents WHERE community_id = %(c)s
"""
_OPEN_INCIDENTS: Final = _INCIDENTS + " AND status NOT IN ('closed', 'cancelled')"
_INCIDENTS_BY_ID: Final = _INCIDENTS + " AND id = ANY(%(ids)s)"
_RECENT: Final = """
SELECT id, reported_at, status FROM incidents
WHERE community_id = %(c)s AND reported_at >= %(since)s
"""
# Whole commits: every row of each transaction that wrote a row after `after`
# (rows from before commit groups, tx NULL, stand alone).
_CHANGES_AFTER: Final = """
WITH later AS (
    SELECT seq, tx FROM change_log WHERE community_id = %(c)s AND seq > %(after)s
)
SELECT seq, at, community_id, kind, ref, data, tx::text AS tx FROM change_log
WHERE community_id = %(c)s
  AND (seq IN (SELECT seq FROM later)
       OR tx IN (SELECT tx FROM later WHERE tx IS NOT NULL))
  AND (tx IS NULL OR %(upto)s::pg_snapshot IS NULL
       OR pg_visible_in_snapshot(tx, %(upto)s::pg_snapshot))
ORDER BY seq
"""
_COUNT_AFTER: Final = """
SELECT count(*) AS n FROM (
    SELECT 1 FROM change_log WHERE community_id = %(c)s AND seq > %(after)s LIMIT %(limit)s
) AS later
"""
_SNAPSHOT: Final = "SELECT pg_current_snapshot()::text AS snapshot"
# The commits `since` did not see (and, with `upto`, that snapshot saw). The
# range on tx lets the (community_id, tx) index find them.
_COMMITS_SINCE: Final = """
SELECT seq, at, community_id, kind, ref, data, tx::text AS tx FROM change_log
WHERE community_id = %(c)s AND tx >= pg_snapshot_xmin(%(since)s::pg_snapshot)
  AND NOT pg_visible_in_snapshot(tx, %(since)s::pg_snapshot)
  AND (%(upto)s::pg_snapshot IS NULL OR pg_visible_in_snapshot(tx, %(upto)s::pg_snapshot))
ORDER BY seq
"""
_LOG_BOUNDS: Final = """
SELECT min(seq) AS oldest,
       COALESCE(max(seq), pg_sequence_last_value(
           pg_get_serial_sequence('change_log', 'seq')::regclass), 0) AS newest
FROM change_log
"""


async def load_community(
    conn: Conn, community: str, now: datetime, day_start: Callable[[datetime], datetime]
) -> CommunityLive | None:
    """The live state of ``community`` from one consistent snapshot; None if it does not exist."""
    params = {"c": community, "since": now - LOOP_WINDOW}
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        head = await fetch_one(conn, _HEAD, params)
        if head is None:
            return None
        buildings = await fetch_all(conn, _BUILDINGS, params)
        devices = await fetch_all(conn, _DEVICES, params)
        alarms = await fetch_all(conn, _ACTIVE_ALARMS, params)
        incidents = await fetch_all(conn, _OPEN_INCIDENTS, params)
        recent = await fetch_all(conn, _RECENT, params)
    state = LiveState(
        layout(community, head["name"], buildings),
        devices=[device_state(r) for r in devices],
        alarms=[alarm_state(r) for r in alarms],
        incidents=[incident_state(r) for r in incidents],
        version=int(head["version"]),
        last_update=head["last_update"],
    )
    return CommunityLive(
        state,
        recent={r["id"]: recent_incident(r) for r in recent},
        model_version=head["model_version"],
        day_start=day_start,
        frontier=head["frontier"],
    )


@dataclass(slots=True)
class ChangedObjects:
    """Current rows of the objects some changes name (None: the row is gone)."""

    devices: dict[str, Row | None] = field(default_factory=dict)
    alarms: dict[int, Row | None] = field(default_factory=dict)
    incidents: dict[str, Row | None] = field(default_factory=dict)

    def row_for(self, kind: str, ref: str) -> Row | None:
        if kind == "device":
            return self.devices.get(ref)
        if kind == "alarm":
            alarm_id = alarm_ref(ref)
            return None if alarm_id is None else self.alarms.get(alarm_id)
        if kind == "incident":
            return self.incidents.get(ref)
        return None


def alarm_ref(ref: str) -> int | None:
    """The alarm id a change-log ``ref`` names (None if it names none).

    >>> alarm_ref("17"), alarm_ref("x"), alarm_ref("99999999999999999999")
    (17, None, None)
    """
    if not ref.isascii() or not ref.isdigit() or len(ref) > 18:
        return None
    return int(ref)


async def read_objects(
    conn: Conn, community: str, changes: Iterable[tuple[str, str]]
) -> ChangedObjects:
    """The current rows of the devices, alarms and incidents named by ``(kind, ref)``."""
    wanted: dict[str, set[str]] = {"device": set(), "alarm": set(), "incident": set()}
    for kind, ref in changes:
        if kind in wanted:
            wanted[kind].add(ref)
    out = ChangedObjects()
    if wanted["device"]:
        ids = sorted(wanted["device"])
        rows = await fetch_all(conn, _DEVICES_BY_ID, {"c": community, "ids": ids})
        out.devices = {i: None for i in ids} | {r["id"]: r for r in rows}
    alarm_ids = sorted({a for a in map(alarm_ref, wanted["alarm"]) if a is not None})
    if alarm_ids:
        rows = await fetch_all(conn, _ALARMS_BY_ID, {"c": community, "ids": alarm_ids})
        out.alarms = {i: None for i in alarm_ids} | {int(r["id"]): r for r in rows}
    if wanted["incident"]:
        ids = sorted(wanted["incident"])
        rows = await fetch_all(conn, _INCIDENTS_BY_ID, {"c": community, "ids": ids})
        out.incidents = {i: None for i in ids} | {r["id"]: r for r in rows}
    return out


@dataclass(frozen=True, slots=True)
class Commits:
    """The whole commits of a community one snapshot holds beyond a frontier."""

    rows: list[Row]
    objects: ChangedObjects
    snapshot: str

    @property
    def transactions(self) -> set[str]:
        return {str(r["tx"]) for r in self.rows if r.get("tx") is not None}


async def read_commits(conn: Conn, community: str, since: str) -> Commits:
    """In one snapshot: its change-log rows the ``since`` snapshot did not see, and
    the current rows of the objects they name."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        head = await fetch_one(conn, _SNAPSHOT)
        snapshot = str(head["snapshot"]) if head else since
        params = {"c": community, "since": since, "upto": None}
        rows = await fetch_all(conn, _COMMITS_SINCE, params)
        objects = await read_objects(conn, community, [(r["kind"], r["ref"]) for r in rows])
    return Commits(rows, objects, snapshot)


async def read_missed(conn: Conn, community: str, since: str, upto: str) -> list[Row]:
    """change_log rows of the commits ``upto`` saw and ``since`` did not (a resync)."""
    return await fetch_all(conn, _COMMITS_SINCE, {"c": community, "since": since, "upto": upto})


@dataclass(frozen=True, slots=True)
class ReplayRows:
    """change_log rows of a community after a client's last event id.

    ``complete`` is False when rows it needs may have been pruned, the id is
    ahead of the log (another database, a restore), or there are more than
    the limit: the client must then refetch /live instead.
    """

    rows: list[Row]
    complete: bool
    reason: str | None = None


async def read_replay(
    conn: Conn, community: str, after: int, limit: int, upto: str | None = None
) -> ReplayRows:
    """Whole commits with a row after ``after``; with ``upto``, only the commits
    that snapshot saw (those a ``/stream`` client's first version holds)."""
    bounds = await fetch_one(conn, _LOG_BOUNDS)
    oldest = bounds["oldest"] if bounds else None
    newest = int(bounds["newest"]) if bounds else 0
    if after > newest:
        return ReplayRows([], False, f"event id {after} is ahead of the change log ({newest})")
    if (oldest is None and after < newest) or (oldest is not None and after < int(oldest) - 1):
        return ReplayRows([], False, f"changes after {after} are no longer kept")
    params = {"c": community, "after": after, "limit": limit + 1, "upto": upto}
    counted = await fetch_one(conn, _COUNT_AFTER, params)
    if counted is not None and int(counted["n"]) > limit:
        return ReplayRows([], False, f"more than {limit} changes after {after}")
    return ReplayRows(await fetch_all(conn, _CHANGES_AFTER, params), True)
