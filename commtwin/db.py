"""`commtwin db ...`: apply migrations, report the storage mode, maintain.

The storage mode is chosen once, on the first upgrade: TimescaleDB when the
server offers the ``timescaledb`` extension, plain PostgreSQL otherwise. It is
recorded in ``storage_config`` and every later upgrade follows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

from schemas.migrations import Migration, StorageMode, latest_version, shipped, split_statements

log = logging.getLogger(__name__)

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    mode       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
# Two upgraders started together (two ingest replicas) must not interleave.
UPGRADE_LOCK = 0x636F6D6D  # "comm"


class DatabaseError(Exception):
    """A database problem worth one line to the operator."""


class SchemaTooNewError(DatabaseError):
    """The database was migrated by a newer commtwin than this one."""


@dataclass(frozen=True, slots=True)
class UpgradeReport:
    mode: StorageMode
    applied: list[Migration]
    maintenance: list[str]


def connect(url: str, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=5)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"cannot connect to the database: {first}") from None


def timescale_available(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return row is not None


def current_mode(conn: psycopg.Connection[tuple[object, ...]]) -> StorageMode | None:
    if conn.execute("SELECT to_regclass('storage_config')").fetchone() == (None,):
        return None
    row = conn.execute("SELECT value FROM storage_config WHERE key = 'mode'").fetchone()
    if row is None:
        return None
    return "timescale" if row[0] == "timescale" else "plain"


def applied_versions(conn: psycopg.Connection[tuple[object, ...]]) -> set[int]:
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,):
        return set()
    return {int(str(r[0])) for r in conn.execute("SELECT version FROM schema_migrations")}


def upgrade(
    url: str, *, retention_days: int | None = None, prefer: StorageMode | None = None
) -> UpgradeReport:
    """Apply every pending migration; a second call is a no-op.

    ``prefer`` chooses the storage mode at the first upgrade: ``"plain"`` forces
    plain PostgreSQL even where TimescaleDB exists (tests ask for it, so one
    suite runs on either server), ``"timescale"`` requires the extension, None
    picks TimescaleDB when the server offers it. A later upgrade keeps the
    mode; asking for the other one then is refused. ``retention_days``, when
    given, is the one-number retention of every time-series class (raw and
    rollups, :func:`set_retention` sets them one by one); None keeps what the
    database holds (a new database: 400 days).
    """
    with connect(url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK,))
        try:
            conn.execute(BOOKKEEPING)
            done = applied_versions(conn)
            known = latest_version()
            if done and max(done) > known:
                raise SchemaTooNewError(
                    f"the database is at schema version {max(done)} but this commtwin knows "
                    f"only up to {known}; upgrade commtwin"
                )
            mode = current_mode(conn)
            if mode is None:
                offered = timescale_available(conn)
                if prefer == "timescale" and not offered:
                    raise DatabaseError(
                        "storage timescale: this server does not offer the timescaledb"
                        " extension; use --storage plain or auto"
                    )
                mode = prefer or ("timescale" if offered else "plain")
            elif prefer is not None and prefer != mode:
                raise DatabaseError(
                    f"storage {prefer}: the database is already in {mode} mode (chosen at"
                    " its first upgrade)"
                )
            applied = []
            for migration in shipped(mode):
                if migration.version in done:
                    continue
                _apply(conn, migration, mode)
                applied.append(migration)
                log.info("applied migration %04d_%s (%s)", migration.version, migration.name, mode)
            if retention_days is not None:
                try:
                    conn.execute("SELECT commtwin_set_retention(%s)", (retention_days,))
                except psycopg.Error as exc:  # e.g. more days than the raw width allows
                    raise _one_line(exc) from None
            maintenance = [str(r[0]) for r in conn.execute("SELECT * FROM commtwin_maintain()")]
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (UPGRADE_LOCK,))
    return UpgradeReport(mode, applied, maintenance)


def _apply(
    conn: psycopg.Connection[tuple[object, ...]], migration: Migration, mode: StorageMode
) -> None:
    record = "INSERT INTO schema_migrations (version, name, mode) VALUES (%s, %s, %s)"
    try:
        if migration.transactional:
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(record, (migration.version, migration.name, mode))
        else:
            for statement in split_statements(migration.sql):
                conn.execute(statement.encode())
            conn.execute(record, (migration.version, migration.name, mode))
    except psycopg.Error as exc:
        raise DatabaseError(
            f"migration {migration.version:04d}_{migration.name} failed: {exc}".splitlines()[0]
        ) from None


@dataclass(frozen=True, slots=True)
class RetentionClass:
    name: str
    relations: list[str]
    keep_days: int | None  # None: kept for good
    settable: bool


RETENTION_CLASSES = (
    "SELECT metric_class, relations, keep_days, settable FROM retention_classes"
    " ORDER BY settable DESC, metric_class"
)


def _classes(conn: psycopg.Connection[tuple[object, ...]]) -> list[RetentionClass]:
    if conn.execute("SELECT to_regclass('retention_classes')").fetchone() == (None,):
        return []
    return [
        RetentionClass(
            name=str(name),
            relations=[str(r) for r in relations],  # type: ignore[attr-defined]
            keep_days=None if keep is None else int(str(keep)),
            settable=bool(settable),
        )
        for name, relations, keep, settable in conn.execute(RETENTION_CLASSES)
    ]


def retention(url: str) -> list[RetentionClass]:
    """Retention per metric class (migration 0089)."""
    with connect(url) as conn:
        return _classes(conn)


def set_retention(url: str, changes: dict[str, int | None]) -> list[str]:
    """Set several classes' retention in one transaction (None: kept for good).

    The database checks each value (commtwin_check_retention) and, with
    TimescaleDB, replaces the retention policies; plain mode applies it in
    maintenance, which runs right after (its lines are returned).
    """
    with connect(url) as conn:
        try:
            with conn.transaction():
                for name, days in changes.items():
                    conn.execute(
                        "SELECT commtwin_set_class_retention(%s::text, %s::integer)", (name, days)
                    )
            return [str(r[0]) for r in conn.execute("SELECT * FROM commtwin_maintain()")]
        except psycopg.errors.UndefinedFunction:
            raise DatabaseError(
                "this database has no retention classes yet; run `commtwin db upgrade`"
            ) from None
        except psycopg.Error as exc:
            raise _one_line(exc) from None


def _one_line(exc: psycopg.Error) -> DatabaseError:
    primary = exc.diag.message_primary or str(exc)
    return DatabaseError(primary.splitlines()[0])


def raw_partition_minutes(url: str) -> int | None:
    """The width of new raw partitions (TimescaleDB: chunks) in minutes (0095)."""
    with connect(url) as conn:
        return _raw_width(conn)


def _raw_width(conn: psycopg.Connection[tuple[object, ...]]) -> int | None:
    """None before migration 0095 (which keeps 0091's hours as minutes)."""
    row = conn.execute(
        "SELECT value FROM storage_config WHERE key = 'raw_partition_minutes'"
    ).fetchone()
    return None if row is None else int(str(row[0]))


def set_raw_partition_minutes(url: str, minutes: int) -> list[str]:
    """Set the width of new raw partitions; returns what changed, for logs.

    The database checks the value (commtwin_raw_width_problem). Plain mode
    also remakes the empty partitions ahead at the new width in the same
    transaction; TimescaleDB sets the hypertables' chunk interval.
    """
    with connect(url) as conn:
        try:
            lines = [
                str(r[0])
                for r in conn.execute(
                    "SELECT * FROM commtwin_set_raw_partition_minutes(%s::integer)", (minutes,)
                )
            ]
            row = conn.execute(_LOCK_ROOM).fetchone()
            keep_days, max_locks, connections = row if row else (None, 0, 0)
            warning = lock_room_warning(
                minutes,
                None if keep_days is None else int(str(keep_days)),
                int(str(max_locks)),
                int(str(connections)),
            )
            return [*lines, warning] if warning else lines
        except psycopg.errors.UndefinedFunction:
            raise DatabaseError(
                "this database has no partition width in minutes yet; run `commtwin db upgrade`"
            ) from None
        except psycopg.Error as exc:
            raise _one_line(exc) from None


_LOCK_ROOM = """
SELECT (SELECT keep_days FROM retention_classes WHERE metric_class = 'raw'),
       current_setting('max_locks_per_transaction')::integer,
       current_setting('max_connections')::integer
       + current_setting('max_prepared_transactions')::integer
"""
# A raw partition of readings is three relations to lock: the table, its key
# and its BRIN index.
_LOCKS_PER_PARTITION = 3


def lock_room_warning(
    minutes: int, keep_days: int | None, max_locks: int, connections: int
) -> str | None:
    """A warning when a read across every raw partition kept would take more
    than half of the server's lock table (``max_locks_per_transaction`` x
    connections, shared by every session): the planner locks each partition
    and its indexes, and a full lock table fails reads with "out of shared
    memory". Reads that prune by constants (the API's, ingest's) lock few.

    >>> lock_room_warning(60, 30, 64, 100) is None
    True
    >>> w = lock_room_warning(10, 13, 64, 100) or ""
    >>> w[:75]
    'warning: a read across all 1872 raw partitions of 13 days locks ~5616 relat'
    >>> w[-46:]
    'raise max_locks_per_transaction to 128 or more'

    The figure is for the server's own connections: with 50, twice as many.

    >>> (lock_room_warning(10, 13, 128, 50) or "")[-46:]
    'raise max_locks_per_transaction to 256 or more'
    >>> lock_room_warning(10, 13, 256, 50) is None
    True
    """
    if keep_days is None:
        return None
    parts = keep_days * 1440 // minutes
    locks = parts * _LOCKS_PER_PARTITION
    slots = max_locks * connections
    if 2 * locks <= slots:
        return None
    needed = -(-2 * locks // connections)  # per connection, rounded up
    return (
        f"warning: a read across all {parts} raw partitions of {keep_days} days locks"
        f" ~{locks} relations, more than half of this server's lock table ({slots}:"
        f" max_locks_per_transaction {max_locks} x {connections} connections); raise"
        f" max_locks_per_transaction to {1 << (needed - 1).bit_length()} or more"
    )


def maintain(url: str) -> list[str]:
    with connect(url) as conn:
        lines = [str(r[0]) for r in conn.execute("SELECT * FROM commtwin_maintain()")]
        # Every pending rollup bucket, open ones too (a no-op in TimescaleDB mode).
        for level, buckets, written in conn.execute(
            "SELECT level, count(*), coalesce(sum(rows_written), 0)"
            " FROM commtwin_refresh_rollups(true) GROUP BY level ORDER BY level"
        ):
            lines.append(f"rollups: {buckets} {level} buckets recomputed ({written} rows written)")
        return lines


@dataclass(frozen=True, slots=True)
class Info:
    mode: StorageMode | None
    version: int | None
    known_version: int
    timescale_available: bool
    retention_days: int | None
    retention: list[RetentionClass]
    raw_partition_minutes: int | None  # None before migration 0095
    partitions: dict[str, int]
    hypertables: list[str]
    continuous_aggregates: list[str]


def info(url: str) -> Info:
    with connect(url) as conn:
        done = applied_versions(conn)
        mode = current_mode(conn)
        retention = width = None
        if mode is not None:
            row = conn.execute(
                "SELECT value FROM storage_config WHERE key = 'retention_days'"
            ).fetchone()
            retention = int(str(row[0])) if row else None
            width = _raw_width(conn)
        partitions: dict[str, int] = {}
        for parent in ("readings", "device_status", "positions", "readings_1m", "readings_1h"):
            row = conn.execute(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass(%s)", (parent,)
            ).fetchone()
            if row and int(str(row[0])):
                partitions[parent] = int(str(row[0]))
        hypertables: list[str] = []
        caggs: list[str] = []
        if mode == "timescale":
            hypertables = [
                str(r[0])
                for r in conn.execute(
                    "SELECT hypertable_name FROM timescaledb_information.hypertables ORDER BY 1"
                )
            ]
            caggs = [
                str(r[0])
                for r in conn.execute(
                    "SELECT view_name FROM timescaledb_information.continuous_aggregates ORDER BY 1"
                )
            ]
        return Info(
            mode=mode,
            version=max(done) if done else None,
            known_version=latest_version(),
            timescale_available=timescale_available(conn),
            retention_days=retention,
            retention=_classes(conn) if mode is not None else [],
            raw_partition_minutes=width,
            partitions=partitions,
            hypertables=hypertables,
            continuous_aggregates=caggs,
        )
