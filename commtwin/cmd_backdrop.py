"""`commtwin community backdrop ID [URL]`: a community's 3D Tiles backdrop.

The cockpit draws it behind the twin (docs/cockpit.md, "Bringing your own
tileset"); the same setting as ``PUT /v1/communities/{cid}/backdrop``.
Without URL it prints the current one; ``--clear`` removes it.
"""

from __future__ import annotations

import argparse
import re

import psycopg

from commtwin import db
from commtwin.commands import CommandError
from commtwin.settings import Settings

_URL = re.compile(r"^https?://\S+$")


def add_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = actions.add_parser(
        "backdrop", help="show, set or clear the community's 3D Tiles backdrop (a tileset.json URL)"
    )
    p.add_argument("community", help="community id")
    p.add_argument("url", nargs="?", help="http(s) URL of the tileset.json")
    p.add_argument(
        "--height-offset",
        type=float,
        default=0.0,
        help="metres added to the model's heights to get WGS 84 ellipsoidal heights "
        "(the geoid undulation when heights are above sea level)",
    )
    p.add_argument("--clear", action="store_true", help="remove the backdrop")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    cid = args.community
    if args.url is not None and (not _URL.match(args.url) or len(args.url) > 2000):
        raise CommandError(f"backdrop: {args.url!r} is not an http(s) URL")
    if not -200.0 <= args.height_offset <= 200.0:
        raise CommandError("backdrop: --height-offset must be within ±200 m")
    try:
        with db.connect(settings.database_url) as conn:
            if conn.execute("SELECT 1 FROM communities WHERE id = %s", (cid,)).fetchone() is None:
                raise CommandError(f"community {cid}: not found")
            if args.clear:
                conn.execute("DELETE FROM community_backdrops WHERE community_id = %s", (cid,))
                print(f"{cid}: backdrop cleared")
            elif args.url is not None:
                conn.execute(
                    "INSERT INTO community_backdrops (community_id, url, height_offset)"
                    " VALUES (%s, %s, %s) ON CONFLICT (community_id) DO UPDATE SET"
                    " url = EXCLUDED.url, height_offset = EXCLUDED.height_offset,"
                    " updated_at = now()",
                    (cid, args.url, args.height_offset),
                )
                print(f"{cid}: backdrop {args.url} (height offset {args.height_offset:g} m)")
            else:
                row = conn.execute(
                    "SELECT url, height_offset FROM community_backdrops WHERE community_id = %s",
                    (cid,),
                ).fetchone()
                print(
                    f"{cid}: "
                    + (f"backdrop {row[0]} (height offset {row[1]:g} m)" if row else "no backdrop")
                )
    except (db.DatabaseError, psycopg.Error) as exc:
        text = str(exc).strip()
        raise CommandError(text.splitlines()[0] if text else type(exc).__name__) from None
    return 0
