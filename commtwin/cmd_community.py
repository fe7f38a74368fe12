"""`commtwin community import|export|list`: the community model in the database.

``import FILE`` takes a community model file (docs/DESIGN.md), or a bare
CityJSON/GeoJSON file with ``--community ID``: that community is created with
those buildings (storeys derived, no devices), or its buildings are replaced
while its grids and devices stay. Import is one transaction; a bad file ends
as one ``commtwin: <object>: <problem>`` line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import orjson
import psycopg

from api.community_store import (
    ImportReport,
    export_community,
    import_community,
    list_communities,
    load_community,
    lock_community,
)
from commtwin import db
from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings
from twin.community_fields import COMMUNITY_ID, identifier
from twin.community_file import (
    check_devices,
    community_from_json,
    is_model_file,
    read_geometry,
    read_json_file,
)
from twin.errors import ModelError
from twin.model import Community, GeometryImport
from twin.storeys import DEFAULT_STOREY_HEIGHT


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("community", help="the 3D community model: import, export, list")
    actions = parser.add_subparsers(dest="community_command", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import",
        help="validate a model file (or a bare CityJSON/GeoJSON file) and load it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("file", type=Path, help="model file, CityJSON or GeoJSON")
    imp.add_argument("--community", help="community id (required for CityJSON/GeoJSON)")
    imp.add_argument("--name", help="community name (default: the file's, else the id)")
    imp.add_argument(
        "--storey-height",
        type=float,
        help=f"storey height of derived storeys, bare import (default {DEFAULT_STOREY_HEIGHT})",
    )
    imp.set_defaults(handler=_import)
    exp = actions.add_parser("export", help="write a community back as one model file")
    exp.add_argument("community", help="community id")
    exp.add_argument("--out", type=Path, help="output file (default: standard output)")
    exp.set_defaults(handler=_export)
    actions.add_parser("list", help="list the communities").set_defaults(handler=_list)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    try:
        data = read_json_file(path)
        with db.connect(settings.database_url) as conn:
            if is_model_file(data):
                community = community_from_json(data, base_dir=path.parent, source=path.name)
                if args.community and args.community != community.id:
                    raise CommandError(
                        f"{path.name} describes community {community.id!r}, not {args.community!r}"
                    )
                if args.name:
                    community = replace(community, name=args.name)
                report = import_community(conn, community)
                skipped: dict[str, int] = {}
            else:
                report, skipped = _import_geometry(conn, data, path, args)
    except ModelError as exc:
        raise CommandError(str(exc)) from None
    except psycopg.Error as exc:
        raise CommandError(f"import failed: {_first_line(exc)}") from None
    except db.DatabaseError as exc:
        raise CommandError(str(exc)) from None
    for line in report.lines():
        print(line)
    for kind, n in sorted(skipped.items()):
        print(f"  skipped {n} {kind} object(s) (not buildings)")
    return 0


def _import_geometry(
    conn: psycopg.Connection[tuple[object, ...]],
    data: object,
    path: Path,
    args: argparse.Namespace,
) -> tuple[ImportReport, dict[str, int]]:
    if not args.community:
        raise CommandError(f"{path.name}: importing CityJSON/GeoJSON needs --community ID")
    cid = identifier(args.community, "--community", pattern=COMMUNITY_ID)
    with conn.transaction():
        lock_community(conn, cid)
        existing = load_community(conn, cid)
        height = args.storey_height or (
            existing.storey_height if existing else DEFAULT_STOREY_HEIGHT
        )
        if height <= 0:
            raise CommandError("--storey-height must be greater than 0")
        found = read_geometry(
            data, path.name, frame=existing.frame if existing else None, storey_height=height
        )
        if existing is None:
            community = Community(
                cid, args.name or cid, found.frame.crs, found.frame.offset, height
            ).with_buildings(found.buildings)
        else:
            community = replace(
                existing, name=args.name or existing.name, buildings=found.buildings
            )
            try:
                check_devices(community)
            except ModelError as exc:
                raise ModelError(
                    exc.obj, f"{exc.problem} in {path.name}; move or remove the device first"
                ) from None
        _print_flags(found)
        return import_community(conn, community), dict(found.skipped)


def _print_flags(found: GeometryImport) -> None:
    flags = Counter(flag for b in found.buildings for flag in b.flags)
    print(
        f"{found.source}: {len(found.buildings)} buildings, frame {found.frame.crs}"
        f" offset {list(found.frame.offset)}"
    )
    for flag, n in sorted(flags.items()):
        print(f"  {n} building(s) flagged {flag}")


def _export(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with db.connect(settings.database_url) as conn:
            model = export_community(conn, args.community)
    except (db.DatabaseError, psycopg.Error) as exc:
        raise CommandError(_first_line(exc)) from None
    except ModelError as exc:
        raise CommandError(f"stored model is invalid: {exc}") from None
    if model is None:
        raise CommandError(f"community {args.community!r} does not exist")
    text = orjson.dumps(model, option=orjson.OPT_INDENT_2) + b"\n"
    if args.out is None:
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
        return 0
    try:
        args.out.write_bytes(text)
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror}") from None
    print(
        f"wrote {args.out}: {len(model['buildings'])} buildings, {len(model['grids'])} grids,"
        f" {len(model['devices'])} devices"
    )
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with db.connect(settings.database_url) as conn:
            rows = list_communities(conn)
    except (db.DatabaseError, psycopg.Error) as exc:
        raise CommandError(_first_line(exc)) from None
    if not rows:
        print("no communities; import one with: commtwin community import FILE")
        return 0
    print(f"{'id':<24} {'buildings':>9} {'grids':>5} {'devices':>7}  name")
    for r in rows:
        print(f"{r.id:<24} {r.buildings:>9} {r.grids:>5} {r.devices:>7}  {r.name}")
    return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
