"""`commtwin deadletters`: list recent dead-lettered MQTT messages."""

from __future__ import annotations

import argparse
import json

import psycopg

from commtwin import db
from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings
from ingest.deadletters import payload_preview, recent_dead_letters
from ingest.messages import Reason


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "deadletters",
        help="list recent dead-lettered MQTT messages with their reasons",
        description="Newest first. Reasons: " + ", ".join(Reason.ALL) + ".",
    )
    parser.add_argument("-n", "--limit", type=int, default=20, help="how many (default 20)")
    parser.add_argument("--community", help="only this community")
    parser.add_argument("--reason", choices=Reason.ALL, help="only this reason")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per line, payload in hex"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    try:
        with db.connect(settings.database_url) as conn:
            rows = recent_dead_letters(
                conn, limit=args.limit, community=args.community, reason=args.reason
            )
    except psycopg.errors.UndefinedTable:
        raise CommandError(
            "the database has no commtwin schema: run `commtwin db upgrade`"
        ) from None
    except db.DatabaseError as exc:
        raise CommandError(str(exc)) from None
    for r in rows:
        if args.json:
            print(
                json.dumps(
                    {
                        "id": r.id,
                        "received_at": r.received_at.isoformat(),
                        "last_received_at": r.last_received_at.isoformat(),
                        "occurrences": r.occurrences,
                        "topic": r.topic,
                        "reason": r.reason,
                        "detail": r.detail,
                        "community": r.community,
                        "payload_hex": r.payload.hex(),
                    },
                    ensure_ascii=False,
                )
            )
        else:
            seen = f" ×{r.occurrences}" if r.occurrences > 1 else ""
            print(
                f"{r.last_received_at:%Y-%m-%d %H:%M:%S%z} {r.reason:<17} {r.topic}{seen}\n"
                f"    {r.detail}\n    payload: {payload_preview(r.payload)}"
            )
    if not rows and not args.json:
        print("no dead letters")
    return 0
