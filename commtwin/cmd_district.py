"""`commtwin district create|add|remove|list|generate`: districts of communities.

A district is a named set of communities watched from one district cockpit
(``/district/{id}``, ``GET /v1/districts/{id}/overview``); a key created with
``commtwin keys create --scope district:read --district ID`` reads it and
every member community's cockpit.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg

from api.community_store import import_community
from api.db import Conn, run_once
from api.errors import ApiError
from api.queries import districts as store
from commtwin import db
from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings
from simulators.community_gen import GenerationError
from simulators.district_gen import DistrictSpec, iter_district
from twin.community.file import community_from_json
from twin.errors import ModelError

T = TypeVar("T")


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("district", help="districts (sets of communities): create, add, list")
    actions = parser.add_subparsers(dest="district_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a district (or rename it)")
    create.add_argument("district", help="district id (a-z, 0-9, -)")
    create.add_argument("--name", help="display name (default: the id)")
    create.set_defaults(handler=_create)
    add = actions.add_parser("add", help="add communities to a district")
    add.add_argument("district")
    add.add_argument("communities", nargs="+", help="community ids")
    add.set_defaults(handler=_add)
    remove = actions.add_parser("remove", help="remove communities from a district")
    remove.add_argument("district")
    remove.add_argument("communities", nargs="+", help="community ids")
    remove.set_defaults(handler=_remove)
    actions.add_parser("list", help="list districts").set_defaults(handler=_list)
    gen = actions.add_parser(
        "generate",
        help="generate N communities, import them and make them a district",
    )
    gen.add_argument("district")
    gen.add_argument("--name", help="display name (default: the id)")
    gen.add_argument("--communities", type=int, default=10, help="how many (default 10)")
    gen.add_argument("--buildings", type=int, default=20, help="per community (default 20)")
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--prefix", help="community id prefix (default: the district id)")
    gen.set_defaults(handler=_generate)


def _db(settings: Settings, action: Callable[[Conn], Awaitable[T]]) -> T:
    try:
        return run_once(settings.database_url, action)
    except ApiError as exc:
        raise CommandError(str(exc)) from None


def _print(d: store.DistrictSummary) -> None:
    print(f"district {d.id} ({d.name}): {d.communities} communities")


def _create(args: argparse.Namespace, settings: Settings) -> int:
    _print(_db(settings, lambda c: store.create_district(c, args.district, args.name)))
    return 0


def _add(args: argparse.Namespace, settings: Settings) -> int:
    _print(_db(settings, lambda c: store.add_members(c, args.district, args.communities)))
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    _print(_db(settings, lambda c: store.remove_members(c, args.district, args.communities)))
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    print(f"{'district':<24} {'communities':>11}  name")
    for d in _db(settings, store.list_districts):
        print(f"{d.id:<24} {d.communities:>11}  {d.name}")
    return 0


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    try:
        store.check_district_id(args.district)
    except ApiError as exc:
        raise CommandError(str(exc)) from None
    spec = DistrictSpec(
        communities=args.communities,
        buildings=args.buildings,
        seed=args.seed,
        prefix=args.prefix or args.district,
    )
    ids = generate_and_import(settings.database_url, spec)
    _db(settings, lambda c: store.create_district(c, args.district, args.name))
    _print(_db(settings, lambda c: store.add_members(c, args.district, ids)))
    return 0


def generate_and_import(url: str, spec: DistrictSpec, *, quiet: bool = False) -> list[str]:
    """Generate the district's communities and import each (one transaction each)."""
    ids: list[str] = []
    started = time.monotonic()
    try:
        with db.connect(url) as conn:
            for model in iter_district(spec):
                report = import_community(conn, community_from_json(model, source=model["id"]))
                ids.append(model["id"])
                if not quiet:
                    lines = report.lines()
                    print(lines[0] if lines else model["id"], flush=True)
    except (GenerationError, ModelError) as exc:
        raise CommandError(str(exc)) from None
    except psycopg.Error as exc:
        raise CommandError(f"import failed: {str(exc).strip().splitlines()[0]}") from None
    except db.DatabaseError as exc:
        raise CommandError(str(exc)) from None
    if not quiet:
        print(f"imported {len(ids)} communities in {time.monotonic() - started:.1f} s")
    return ids
