"""The community model in PostgreSQL: import (one transaction), load, export, list.

:func:`import_community` writes a validated :class:`~twin.model.community.Community`
in place: stored rows are compared with the model's, only differences are
written, and objects no longer in the model are reported. Buildings, storeys,
units and grids that disappear are deleted; devices that disappear are kept
with their readings and marked ``modelled = false``, and such a device's
placement is cleared when its building/storey/unit/grid is gone (reported
too). A ``change_log`` row of kind ``community`` is written in the same
transaction when anything changed, so every cockpit reloads its model.

Bookkeeping in ``attributes`` columns under reserved ``_`` keys:
``communities._storey_height``, ``devices._name`` and ``devices._located``
(building/storey/unit located from the position rather than given).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb, set_json_loads

from api.queries.building_meshes import BUILDINGS_WITH_MESHES, meshes_of
from twin.community.export import community_to_json
from twin.community.rows import (
    BUILDINGS,
    COMMUNITY,
    ENTRANCES,
    FACILITIES,
    GRIDS,
    MESH_DIGESTS,
    MESHES,
    STOREYS,
    TABLES,
    UNITS,
    WALK_PATHS,
    Key,
    Row,
    Table,
    community_attributes,
    community_from_rows,
    mesh_digest,
    mesh_rows,
    model_rows,
)
from twin.geometry.locate import Locator, resolve_devices
from twin.model.community import Community
from twin.model.mesh import BuildingMesh

Conn = psycopg.Connection[tuple[Any, ...]]
AsyncConn = psycopg.AsyncConnection[tuple[Any, ...]]
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('commtwin.community:' || %s, 0))"


@dataclass(frozen=True, slots=True)
class Changes:
    """What an import did to one kind of object (storeys named ``building/index``)."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "removed": len(self.removed),
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True, slots=True)
class ImportReport:
    community: str
    created: bool
    community_changed: bool
    changes: dict[str, Changes]
    """Per table: buildings, storeys, units, grids, devices."""
    devices_unmodelled: tuple[str, ...] = ()
    """Devices no longer in the model: kept (with their readings), ``modelled = false``."""
    placements_cleared: tuple[str, ...] = ()
    """Unmodelled devices whose building/storey/unit/grid was removed."""
    change_seq: int | None = None
    meshes: Changes = Changes()
    """Building meshes written (their buildings' surfaces changed, or first stored)."""

    @property
    def changed(self) -> bool:
        return (
            self.created
            or self.community_changed
            or self.meshes.changed
            or any(c.changed for c in self.changes.values())
        )

    def lines(self) -> list[str]:
        """A human summary: one line per kind, then the ids of what was removed."""
        state = "created" if self.created else "updated" if self.changed else "unchanged"
        out = [f"community {self.community}: {state}"]
        for kind, c in self.changes.items():
            out.append(
                f"  {kind}: {len(c.added)} added, {len(c.updated)} updated, "
                f"{len(c.removed)} removed, {c.unchanged} unchanged"
            )
        for kind, c in self.changes.items():
            if c.removed and kind != "devices":
                out.append(f"  removed {kind}: {_some(c.removed)}")
        if self.devices_unmodelled:
            out.append(
                "  devices no longer in the model (kept with their history, unmodelled): "
                + _some(self.devices_unmodelled)
            )
        if self.placements_cleared:
            out.append(f"  placement cleared, its place is gone: {_some(self.placements_cleared)}")
        return out


@dataclass(frozen=True, slots=True)
class CommunitySummary:
    id: str
    name: str
    crs: str
    buildings: int
    grids: int
    devices: int
    updated_at: datetime


def lock_community(conn: Conn, community_id: str) -> None:
    """Serialise imports of one community until the current transaction ends."""
    conn.execute(_LOCK, (community_id,))


def import_community(conn: Conn, community: Community) -> ImportReport:
    """Create or update ``community`` and everything in it, in one transaction.

    Run it outside any transaction of yours, or inside one you commit: nothing
    is written unless everything is.
    """
    # Locating needs a spatial index of every building: only worth it with devices.
    places = resolve_devices(community, Locator(community)) if community.devices else {}
    new = model_rows(community, places)
    cid = community.id
    with conn.transaction():
        lock_community(conn, cid)
        head = conn.execute(COMMUNITY + " FOR UPDATE", (cid,)).fetchone()
        attributes = community_attributes(community)
        wanted = (cid, community.name, community.crs, *community.offset, attributes)
        created = head is None
        community_changed = not created and tuple(head or ()) != wanted
        if created or community_changed:
            conn.execute(
                "INSERT INTO communities (id, name, crs, offset_x, offset_y, offset_z, attributes)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
                " name = EXCLUDED.name, crs = EXCLUDED.crs, offset_x = EXCLUDED.offset_x,"
                " offset_y = EXCLUDED.offset_y, offset_z = EXCLUDED.offset_z,"
                " attributes = EXCLUDED.attributes, updated_at = now()",
                (*wanted[:-1], Jsonb(attributes)),
            )
        diffs = {t.name: _diff(_stored(conn, t, cid), new[t.name]) for t in TABLES}
        # Children first when deleting, parents first when writing (foreign keys).
        for table in (ENTRANCES, UNITS, STOREYS, BUILDINGS, GRIDS, FACILITIES, WALK_PATHS):
            keys = diffs[table.name][2]
            with conn.cursor() as cur:
                cur.executemany(table.delete(), [(cid, *k) for k in keys])
        for table in TABLES:
            added, updated, _, _ = diffs[table.name]
            # A filtered table (devices: modelled only) may hold an unseen row for an added key.
            copied = set() if table.where else set(added)
            _copy_rows(
                conn,
                table,
                [table.for_write(cid, k, new[table.name][k]) for k in added if k in copied],
            )
            rows = [
                table.for_write(cid, k, new[table.name][k])
                for k in (*added, *updated)
                if k not in copied
            ]
            with conn.cursor() as cur:
                cur.executemany(table.upsert(), rows)
        meshes = _write_meshes(conn, cid, community, diffs["buildings"])
        unmodelled = _ids(diffs["devices"][2])
        conn.execute(
            "UPDATE devices SET modelled = false WHERE community_id = %s AND id = ANY(%s)",
            (cid, list(unmodelled)),
        )
        cleared = _clear_dangling(conn, cid)
        report = ImportReport(
            cid,
            created,
            community_changed,
            {t.name: _changes(diffs[t.name]) for t in TABLES},
            unmodelled,
            cleared,
            meshes=meshes,
        )
        if report.changed:
            row = conn.execute(
                "INSERT INTO change_log (community_id, kind, ref, data)"
                " VALUES (%s, 'community', %s, %s) RETURNING seq",
                (cid, cid, Jsonb(_log_data(report))),
            ).fetchone()
            report = replace(report, change_seq=int(row[0]) if row else None)
            if report.meshes.changed or report.changes["buildings"].changed:
                conn.execute(
                    "INSERT INTO building_mesh_versions (community_id, version) VALUES (%s, %s)"
                    " ON CONFLICT (community_id) DO UPDATE SET version = EXCLUDED.version",
                    (cid, report.change_seq or 0),
                )
    return report


def _write_meshes(conn: Conn, cid: str, community: Community, buildings: Diff) -> Changes:
    """Store each building's mesh where it differs from the stored one.

    A building without modelled surfaces (``mesh`` None: a model file, GeoJSON,
    or a building kept from the database) keeps a stored mesh while its row is
    unchanged, so re-importing an exported model file does not flatten LoD2
    roofs; otherwise its footprint is extruded. Removed buildings' meshes go
    with them (ON DELETE CASCADE).
    """
    stored = {
        str(r[0]): (str(r[1]), bytes(r[2])) for r in conn.execute(MESH_DIGESTS, (cid,)).fetchall()
    }
    touched = {k[0] for k in (*buildings[0], *buildings[1])}
    wanted = [
        b
        for b in community.buildings
        if b.mesh is not None or b.id in touched or b.id not in stored
    ]
    rows = mesh_rows(wanted)
    added = [k for k in rows if k[0] not in stored]
    updated = [k for k in rows if k[0] in stored and mesh_digest(rows[k]) != stored[k[0]]]
    _copy_rows(
        conn,
        MESHES,
        [MESHES.for_write(cid, k, rows[k]) for k in added],
        types=("text", "text", "text", "bytea", "bytea", "bytea"),
    )
    with conn.cursor() as cur:
        cur.executemany(MESHES.upsert(), [MESHES.for_write(cid, k, rows[k]) for k in updated])
    return Changes(_ids(added), _ids(updated), (), len(rows) - len(added) - len(updated))


def load_community(conn: Conn, community_id: str) -> Community | None:
    """The stored community (modelled devices only), or None if there is none."""
    head = conn.execute(COMMUNITY, (community_id,)).fetchone()
    if head is None:
        return None
    tables = {t.name: [tuple(r) for r in conn.execute(t.select(), (community_id,))] for t in TABLES}
    return community_from_rows(tuple(head), tables)


async def load_community_async(conn: AsyncConn, community_id: str) -> Community | None:
    """:func:`load_community` for the API's async connections."""
    cur = await conn.execute(COMMUNITY, (community_id,))
    head = await cur.fetchone()
    if head is None:
        return None
    tables = {}
    for t in TABLES:
        cur = await conn.execute(t.select(), (community_id,))
        tables[t.name] = [tuple(r) for r in await cur.fetchall()]
    return community_from_rows(tuple(head), tables)


def export_community(conn: Conn, community_id: str) -> dict[str, Any] | None:
    """The stored community as a self-contained model file (JSON-ready dict)."""
    community = load_community(conn, community_id)
    return community_to_json(community) if community is not None else None


def list_communities(conn: Conn) -> list[CommunitySummary]:
    rows = conn.execute(
        "SELECT c.id, c.name, c.crs,"
        " (SELECT count(*) FROM buildings b WHERE b.community_id = c.id),"
        " (SELECT count(*) FROM grids g WHERE g.community_id = c.id),"
        " (SELECT count(*) FROM devices d WHERE d.community_id = c.id),"
        " c.updated_at FROM communities c ORDER BY c.id"
    ).fetchall()
    return [CommunitySummary(*r) for r in rows]


def _copy_rows(
    conn: Conn, table: Table, rows: list[list[Any]], types: tuple[str, ...] = ()
) -> None:
    """Insert rows known to be new with COPY: a city of 10,000 buildings in one stream.

    ``added`` keys of an unfiltered table are not stored (the diff just read
    the whole table under the community's lock), so no row can conflict; COPY
    is several times faster than row-by-row INSERTs for a first import.
    With ``types`` (every column's), binary COPY: meshes' bytes go as they are
    rather than hex-escaped at twice their size.
    """
    if not rows:
        return
    columns = sql.SQL(", ").join(map(sql.Identifier, ("community_id", *table.keys, *table.values)))
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table.name), columns, sql.SQL(" (FORMAT BINARY)" if types else "")
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        if types:
            copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def _stored(conn: Conn, table: Table, cid: str) -> dict[Key, Row]:
    n = len(table.keys)
    with conn.cursor() as cur:
        # orjson decodes the stored footprints and attributes ~5x faster than
        # the standard library; this cursor only, the caller's connection is untouched.
        set_json_loads(orjson.loads, cur)
        rows = cur.execute(table.select(), (cid,)).fetchall()
        return {tuple(r[:n]): tuple(r[n:]) for r in rows}


Diff = tuple[list[Key], list[Key], list[Key], int]


def _diff(old: dict[Key, Row], new: dict[Key, Row]) -> Diff:
    added = [k for k in new if k not in old]
    updated = [k for k in new if k in old and old[k] != new[k]]
    removed = [k for k in old if k not in new]
    return added, updated, removed, len(new) - len(added) - len(updated)


def _ids(keys: list[Key]) -> tuple[str, ...]:
    return tuple("/".join(str(part) for part in k) for k in keys)


def _changes(diff: Diff) -> Changes:
    added, updated, removed, unchanged = diff
    return Changes(_ids(added), _ids(updated), _ids(removed), unchanged)


def _clear_dangling(conn: Conn, cid: str) -> tuple[str, ...]:
    rows = conn.execute(
        """
        UPDATE devices d SET
            building_id = CASE WHEN place_ok THEN d.building_id END,
            storey_idx = CASE WHEN place_ok THEN d.storey_idx END,
            unit_id = CASE WHEN place_ok THEN d.unit_id END,
            grid_id = CASE WHEN grid_ok THEN d.grid_id END
        FROM (
            SELECT x.id,
                (x.building_id IS NULL OR (
                    EXISTS (SELECT 1 FROM buildings b
                            WHERE b.community_id = x.community_id AND b.id = x.building_id)
                    AND (x.storey_idx IS NULL OR EXISTS (
                        SELECT 1 FROM storeys s WHERE s.community_id = x.community_id
                        AND s.building_id = x.building_id AND s.idx = x.storey_idx))
                    AND (x.unit_id IS NULL OR EXISTS (
                        SELECT 1 FROM units u WHERE u.community_id = x.community_id
                        AND u.building_id = x.building_id AND u.id = x.unit_id)))) AS place_ok,
                (x.grid_id IS NULL OR EXISTS (SELECT 1 FROM grids g
                    WHERE g.community_id = x.community_id AND g.id = x.grid_id)) AS grid_ok
            FROM devices x WHERE x.community_id = %s AND NOT x.modelled
        ) AS check_
        WHERE d.community_id = %s AND d.id = check_.id AND NOT (place_ok AND grid_ok)
        RETURNING d.id
        """,
        (cid, cid),
    ).fetchall()
    return tuple(sorted(str(r[0]) for r in rows))


def _log_data(report: ImportReport) -> dict[str, Any]:
    data: dict[str, Any] = {"created": report.created}
    data.update({kind: c.counts() for kind, c in report.changes.items()})
    if report.devices_unmodelled:
        data["devices_unmodelled"] = len(report.devices_unmodelled)
    return data


def _some(ids: tuple[str, ...], limit: int = 10) -> str:
    more = f" (+{len(ids) - limit} more)" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def load_meshes(conn: Conn, community_id: str) -> dict[str, BuildingMesh]:
    """Every building's stored mesh (footprint extruded where none is stored), by id."""
    rows = [tuple(r) for r in conn.execute(BUILDINGS_WITH_MESHES, (community_id,))]
    return dict(zip((str(r[0]) for r in rows), meshes_of(rows), strict=True))
