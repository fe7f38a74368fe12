"""`commtwin db upgrade|info|maintain`."""

from __future__ import annotations

import argparse

from commtwin import db
from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings
from schemas.migrations import StorageMode


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("db", help="database schema: upgrade, info, maintain")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = actions.add_parser(
        "upgrade", help="apply pending migrations (idempotent; picks TimescaleDB when available)"
    )
    up.add_argument(
        "--storage",
        choices=("plain", "timescale", "auto"),
        default="auto",
        help="storage mode, chosen at the first upgrade: plain PostgreSQL, TimescaleDB,"
        " or auto (TimescaleDB when the server offers it; the default)",
    )
    up.add_argument(
        "--plain",
        action="store_true",
        help="the same as --storage plain",
    )
    up.set_defaults(handler=_upgrade)
    actions.add_parser(
        "info", help="show storage mode, schema version and what exists"
    ).set_defaults(handler=_info)
    actions.add_parser(
        "maintain", help="create partitions ahead and apply retention (plain mode)"
    ).set_defaults(handler=_maintain)


def _upgrade(args: argparse.Namespace, settings: Settings) -> int:
    try:
        report = db.upgrade(
            settings.database_url,
            retention_days=settings.retention_days,
            prefer=_storage(args),
        )
    except db.DatabaseError as exc:
        raise CommandError(str(exc)) from None
    if report.applied:
        for m in report.applied:
            print(f"applied {m.version:04d}_{m.name}")
    else:
        print("schema is current; nothing to apply")
    print(f"storage mode: {report.mode}")
    return 0


def _storage(args: argparse.Namespace) -> StorageMode | None:
    if args.plain:
        if args.storage == "timescale":
            raise CommandError("--plain and --storage timescale contradict each other")
        return "plain"
    choice: str = args.storage
    if choice == "plain":
        return "plain"
    if choice == "timescale":
        return "timescale"
    return None


def _info(args: argparse.Namespace, settings: Settings) -> int:
    try:
        info = db.info(settings.database_url)
    except db.DatabaseError as exc:
        raise CommandError(str(exc)) from None
    mode = {"plain": "plain PostgreSQL", "timescale": "TimescaleDB", None: "not initialised"}
    print(f"storage mode:        {mode[info.mode]}")
    print(f"schema version:      {info.version} (this commtwin knows {info.known_version})")
    print(f"timescaledb offered: {'yes' if info.timescale_available else 'no'}")
    print(f"retention:           {info.retention_days} days")
    for parent, count in info.partitions.items():
        print(f"partitions:          {parent}: {count}")
    if info.mode == "plain":
        print("rollups:             readings_1m, readings_1h (tables kept by the rollup job)")
    for name in info.hypertables:
        print(f"hypertable:          {name}")
    for name in info.continuous_aggregates:
        print(f"continuous aggregate: {name}")
    return 0


def _maintain(args: argparse.Namespace, settings: Settings) -> int:
    try:
        for line in db.maintain(settings.database_url):
            print(line)
    except db.DatabaseError as exc:
        raise CommandError(str(exc)) from None
    return 0
