"""`commtwin db upgrade|info|maintain|retention|partitions`."""

from __future__ import annotations

import argparse
import re

from commtwin import db
from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings
from schemas.migrations import StorageMode


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "db", help="database schema: upgrade, info, maintain, retention, partitions"
    )
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
    ret = actions.add_parser(
        "retention",
        help="show or set how long each metric class is kept (raw, rollup_1m, rollup_1h)",
        description="Without arguments: each class's retention. With CLASS=DAYS or"
        " CLASS=forever pairs (e.g. raw=90 rollup_1m=400 rollup_1h=forever): set them in"
        " one transaction, then run maintenance. Incidents are always kept.",
    )
    ret.add_argument("settings", nargs="*", metavar="CLASS=DAYS|forever")
    ret.set_defaults(handler=_retention)
    parts = actions.add_parser(
        "partitions",
        help="show or set the width of new raw partitions (10m ... 24h)",
        description="Without an argument: the width of new partitions (TimescaleDB: chunks)"
        " of the raw tables (readings, device_status, positions). With WIDTH (10m, 15m,"
        " 20m, 30m, or 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h; a bare number is hours): set it."
        " Partitions holding rows keep their range; plain mode remakes the empty ones ahead"
        " at once. A district wants hourly ones, 10-minute ones for sustained bursts of"
        " 10,000 readings/s (docs/SIZING.md).",
    )
    parts.add_argument("minutes", nargs="?", type=parse_width, metavar="WIDTH")
    parts.set_defaults(handler=_partitions)


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
    for cls in info.retention:
        print(
            f"retention:           {cls.name}: {_kept(cls.keep_days)} ({', '.join(cls.relations)})"
        )
    if info.raw_partition_minutes is not None:
        print(f"raw partition width: {width_text(info.raw_partition_minutes)}")
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


def parse_retention(settings: list[str]) -> dict[str, int | None]:
    """``CLASS=DAYS`` / ``CLASS=forever`` pairs → {class: days or None}.

    >>> parse_retention(["raw=90", "rollup_1h=forever"])
    {'raw': 90, 'rollup_1h': None}
    >>> parse_retention(["raw:90"])
    Traceback (most recent call last):
    ...
    commtwin.commands.CommandError: expected CLASS=DAYS or CLASS=forever, got 'raw:90'
    >>> parse_retention(["raw=0"])
    Traceback (most recent call last):
    ...
    commtwin.commands.CommandError: raw=0: days must be a whole number from 1 to 36500, or forever
    """
    changes: dict[str, int | None] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CommandError(f"expected CLASS=DAYS or CLASS=forever, got {item!r}")
        if name in changes:
            raise CommandError(f"{name} is given twice")
        if value == "forever":
            changes[name] = None
        elif value.isdigit() and 1 <= int(value) <= 36500:
            changes[name] = int(value)
        else:
            raise CommandError(f"{item}: days must be a whole number from 1 to 36500, or forever")
    return changes


def _kept(days: int | None) -> str:
    return "kept for good" if days is None else f"{days} days"


def _retention(args: argparse.Namespace, settings: Settings) -> int:
    changes = parse_retention(args.settings)
    try:
        lines = db.set_retention(settings.database_url, changes) if changes else []
        classes = db.retention(settings.database_url)
    except db.DatabaseError as exc:
        raise CommandError(str(exc)) from None
    if not classes:
        raise CommandError("this database has no retention classes yet; run `commtwin db upgrade`")
    for line in lines:
        print(line)
    for cls in classes:
        print(f"{cls.name:<10} {_kept(cls.keep_days):<14} {', '.join(cls.relations)}")
    return 0


def parse_width(text: str) -> int:
    """A partition width in minutes, from ``10m``, ``30min``, ``2h`` or bare hours.

    >>> [parse_width(t) for t in ("10m", "30min", "1h", "24", "2H", " 15 m ")]
    [10, 30, 60, 1440, 120, 15]
    >>> parse_width("1.5h")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a width such as 10m, 30m, 1h or 24h, got '1.5h'
    """
    match = _WIDTH.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a width such as 10m, 30m, 1h or 24h, got {text!r}"
        )
    number = int(match["number"])
    return number if match["unit"] in ("m", "min") else number * 60


_WIDTH = re.compile(r"(?P<number>\d+)\s*(?P<unit>m|min|h|)")


def width_text(minutes: int) -> str:
    """A width as people say it (as the database's commtwin_width_text).

    >>> [width_text(m) for m in (10, 60, 120, 1440)]
    ['10 minutes', '1 hour', '2 hours', '24 hours']
    """
    if minutes == 60:
        return "1 hour"
    return f"{minutes // 60} hours" if minutes % 60 == 0 else f"{minutes} minutes"


def _partitions(args: argparse.Namespace, settings: Settings) -> int:
    try:
        lines = (
            db.set_raw_partition_minutes(settings.database_url, args.minutes)
            if args.minutes is not None
            else []
        )
        minutes = db.raw_partition_minutes(settings.database_url)
    except db.DatabaseError as exc:
        raise CommandError(str(exc)) from None
    if minutes is None:
        raise CommandError(
            "this database has no partition width in minutes yet; run `commtwin db upgrade`"
        )
    for line in lines:
        print(line)
    print(f"raw partitions: {width_text(minutes)} (readings, device_status, positions)")
    return 0
