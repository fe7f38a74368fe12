"""Alarms: listing and acknowledgement (with its change_log row)."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from api.db import Conn, fetch_all, fetch_one
from api.errors import ConflictError, NotFoundError
from api.models.alarms import AlarmPublic

_COLUMNS = sql.SQL("""
    id, device_id, rule_id, metric, severity, state, message, value, raised_at, updated_at,
    cleared_at, acknowledged_at, acknowledged_by, building_id, storey_idx, unit_id, grid_id,
    incident_id""")
# "active" is a filter, not a state: both unacknowledged and acknowledged.
_LIST = sql.SQL("""
SELECT {columns}, count(*) OVER () AS total FROM alarms
WHERE community_id = %(c)s
  AND (%(state)s::text IS NULL
       OR state = %(state)s
       OR (%(state)s = 'active' AND state <> 'cleared'))
  AND (%(severity)s::text IS NULL OR severity = %(severity)s)
ORDER BY raised_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s""").format(columns=_COLUMNS)
_ACK = sql.SQL("""
UPDATE alarms SET state = 'active_ack', acknowledged_at = now(), acknowledged_by = %(by)s,
                  updated_at = now()
WHERE community_id = %(c)s AND id = %(id)s AND state = 'active_unack'
RETURNING {columns}""").format(columns=_COLUMNS)
_ONE = sql.SQL("SELECT {columns} FROM alarms WHERE community_id = %(c)s AND id = %(id)s").format(
    columns=_COLUMNS
)


def _public(r: dict[str, Any]) -> AlarmPublic:
    return AlarmPublic(
        id=r["id"],
        device=r["device_id"],
        rule=r["rule_id"],
        metric=r["metric"],
        severity=r["severity"],
        state=r["state"],
        message=r["message"],
        value=r["value"],
        raised_at=r["raised_at"],
        updated_at=r["updated_at"],
        cleared_at=r["cleared_at"],
        acknowledged_at=r["acknowledged_at"],
        acknowledged_by=r["acknowledged_by"],
        building=r["building_id"],
        storey=r["storey_idx"],
        unit=r["unit_id"],
        grid=r["grid_id"],
        incident=r["incident_id"],
    )


async def list_alarms(
    conn: Conn,
    community: str,
    *,
    state: str | None,
    severity: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[AlarmPublic]]:
    params = {
        "c": community,
        "state": state,
        "severity": severity,
        "limit": limit,
        "offset": offset,
    }
    rows = await fetch_all(conn, _LIST, params)
    total = int(rows[0]["total"]) if rows else 0
    return total, [_public(r) for r in rows]


async def acknowledge(
    conn: Conn, community: str, alarm: int, by: str, note: str | None
) -> AlarmPublic:
    """Acknowledge an active alarm; idempotent on an acknowledged one, 409 on a cleared one."""
    params: dict[str, object] = {"c": community, "id": alarm, "by": by}
    async with conn.transaction():
        row = await fetch_one(conn, _ACK, params)
        if row is not None:
            await conn.execute(
                "INSERT INTO change_log (community_id, kind, ref, data)"
                " VALUES (%(c)s, 'alarm', %(ref)s, %(data)s)",
                {
                    "c": community,
                    "ref": str(alarm),
                    "data": Jsonb({"state": "active_ack", "by": by, "note": note}),
                },
            )
            return _public(row)
        current = await fetch_one(
            conn,
            _ONE,
            params,
        )
    if current is None:
        raise NotFoundError("alarm", alarm)
    if current["state"] == "cleared":
        raise ConflictError(f"alarm {alarm} is cleared; there is nothing to acknowledge")
    return _public(current)
