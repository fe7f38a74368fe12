"""`commtwin community import|export|list`: the community model in the database.

``import FILE`` takes a community model file (docs/DESIGN.md), or a bare
CityJSON (``.city.json``), CityJSONSeq (``.city.jsonl``, streamed) or GeoJSON
file with ``--community ID``: that community is created with those
buildings (storeys derived, no devices), or its buildings are replaced while
its grids and devices stay. Import is one transaction.

A bare file's objects that cannot be imported (a dangling vertex index, empty
boundaries, a ring crossing itself, ...) are skipped and the rest imported:
one console line per reason, ``--report FILE`` writes every skipped object
with its reason as JSON; a skipped building already stored keeps its stored
version. ``--strict`` refuses the whole file at its first bad object.

Exit status: 0 imported (skips reported), 1 nothing usable in the file
(nothing written), 2 a bad file, option or database error (one
``commtwin: <object>: <problem>`` line).
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
from commtwin import cmd_backdrop, db
from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings
from twin.community.file import (
    check_devices,
    community_from_json,
    is_model_file,
)
from twin.errors import ModelError
from twin.geometry.building_file import read_geometry_report, read_seq_file, starts_like_seq
from twin.geometry.cityjson_document import CityJSONDocument, load_json
from twin.geometry.cityjson_seq import looks_like_seq
from twin.geometry.import_report import GeometryReport, summary_lines
from twin.model.community import Community
from twin.model.fields import COMMUNITY_ID, identifier
from twin.model.storeys import DEFAULT_STOREY_HEIGHT


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
    imp.add_argument(
        "--strict",
        action="store_true",
        help="bare import: refuse the whole file if any building cannot be imported",
    )
    imp.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="bare import: write the skipped objects and their reasons to FILE (JSON)",
    )
    imp.add_argument(
        "--crs",
        help="bare CityJSON import: the CRS of a file without metadata.referenceSystem",
    )
    imp.set_defaults(handler=_import)
    exp = actions.add_parser(
        "export",
        help="write a community back as one model file, or as 3D Tiles (--format 3dtiles DIR)",
    )
    exp.add_argument("community", help="community id")
    exp.add_argument(
        "dir",
        nargs="?",
        type=Path,
        help="--format 3dtiles: the folder to write tileset.json and tiles/ into",
    )
    # nargs "+": argparse cannot take a positional DIR after an option once ID was read,
    # so `export ID --format 3dtiles DIR` hands DIR over with the format.
    exp.add_argument(
        "--format",
        nargs="+",
        metavar="FORMAT [DIR]",
        default=["model"],
        help="model (default): the model file (JSON); 3dtiles DIR: an OGC 3D Tiles 1.1 "
        "tileset (tileset.json and glTF tiles) written into the folder DIR",
    )
    exp.add_argument("--out", type=Path, help="output file (default: standard output)")
    exp.set_defaults(handler=_export)
    actions.add_parser("list", help="list the communities").set_defaults(handler=_list)
    cmd_backdrop.add_parser(actions)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    try:
        seq = looks_like_seq(path.name)
        data = None if seq else _read(path)
        seq = seq or data is _SEQ
        with db.connect(settings.database_url) as conn:
            if not seq and is_model_file(data):
                community = community_from_json(data, base_dir=path.parent, source=path.name)
                if args.community and args.community != community.id:
                    raise CommandError(
                        f"{path.name} describes community {community.id!r}, not {args.community!r}"
                    )
                if args.name:
                    community = replace(community, name=args.name)
                report = import_community(conn, community)
            else:
                outcome = _import_geometry(conn, None if seq else data, path, args)
                if outcome is None:
                    return 1
                report = outcome
    except ModelError as exc:
        raise CommandError(str(exc)) from None
    except psycopg.Error as exc:
        raise CommandError(f"import failed: {_first_line(exc)}") from None
    except db.DatabaseError as exc:
        raise CommandError(str(exc)) from None
    for line in report.lines():
        print(line)
    return 0


_SEQ = object()
"""Stands for "not one JSON document, but a CityJSONSeq" (a misnamed ``.json``)."""


def _read(path: Path) -> object:
    try:
        # A CityJSON file stays parsed but undecoded until its objects are read.
        return load_json(path)
    except ModelError:
        if starts_like_seq(path):
            return _SEQ
        raise


def _import_geometry(
    conn: psycopg.Connection[tuple[object, ...]],
    data: object,
    path: Path,
    args: argparse.Namespace,
) -> ImportReport | None:
    """Import a bare building file; None (after reporting) when nothing in it is usable."""
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
        options = {
            "frame": existing.frame if existing else None,
            "storey_height": height,
            "strict": args.strict,
            "crs": args.crs,
        }
        if data is None:
            read = read_seq_file(path, **options)
        else:
            read = read_geometry_report(data, path.name, **options)
            if isinstance(data, CityJSONDocument):
                data.close()  # hundreds of MiB for a city, not needed for the import
        found = read.found
        _write_report(args.report, read)
        _print_found(read)
        if not found.buildings:
            print(
                f"commtwin: {path.name}: no building could be imported; nothing written",
                file=sys.stderr,
            )
            return None
        buildings = found.buildings
        if existing is None:
            community = Community(
                cid, args.name or cid, found.frame.crs, found.frame.offset, height
            ).with_buildings(buildings)
        else:
            # A building skipped this time is not removed: it keeps its stored version.
            skipped = {s.object_id for s in read.broken}
            imported = {b.id for b in buildings}
            kept = tuple(b for b in existing.buildings if b.id in skipped and b.id not in imported)
            if kept:
                print(f"  {len(kept)} skipped building(s) keep their stored version")
            community = replace(
                existing, name=args.name or existing.name, buildings=buildings + kept
            )
            try:
                check_devices(community)
            except ModelError as exc:
                raise ModelError(
                    exc.obj, f"{exc.problem} in {path.name}; move or remove the device first"
                ) from None
        return import_community(conn, community)


def _write_report(target: Path | None, read: GeometryReport) -> None:
    if target is None:
        return
    text = orjson.dumps(read.as_json(), option=orjson.OPT_INDENT_2) + b"\n"
    try:
        target.write_bytes(text)
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror}") from None


def _print_found(read: GeometryReport) -> None:
    found = read.found
    flags = Counter(flag for b in found.buildings for flag in b.flags)
    print(
        f"{found.source}: {len(found.buildings)} buildings, frame {found.frame.crs}"
        f" offset {list(found.frame.offset)}"
    )
    for flag, n in sorted(flags.items()):
        print(f"  {n} building(s) flagged {flag}")
    for line in summary_lines(read.skips):
        print(line)


def _export(args: argparse.Namespace, settings: Settings) -> int:
    kind, *rest = args.format
    if kind not in ("model", "3dtiles") or len(rest) > 1 or (rest and args.dir is not None):
        raise CommandError("--format is model, or 3dtiles DIR")
    if kind == "3dtiles":
        return _export_3dtiles(args.community, rest[0] if rest else args.dir, args.out, settings)
    if args.dir is not None:
        raise CommandError("a folder is only written with --format 3dtiles (use --out FILE)")
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


def _export_3dtiles(
    community: str, folder: Path | str | None, out: Path | None, settings: Settings
) -> int:
    if folder is None or out is not None:
        raise CommandError("--format 3dtiles writes a folder: commtwin community export ID "
                           "--format 3dtiles DIR")  # fmt: skip
    # Imported here: pygltflib (with dataclasses_json and marshmallow) costs every
    # other command ~0.3 s of start-up.
    from commtwin.tiles_export import export_3dtiles  # noqa: PLC0415

    target = Path(folder)
    try:
        with db.connect(settings.database_url) as conn:
            buildings, tiles = export_3dtiles(conn, community, target)
    except (db.DatabaseError, psycopg.Error) as exc:
        raise CommandError(_first_line(exc)) from None
    except ModelError as exc:
        raise CommandError(f"stored model is invalid: {exc}") from None
    print(f"wrote {target}: 3D Tiles 1.1, {buildings} buildings in {tiles} tiles")
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
