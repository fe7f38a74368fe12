"""`commtwin keys create|list|revoke`: API keys (only their hashes are stored)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TypeVar

from api.db import Conn, run_once
from api.errors import ApiError
from api.keys import SCOPES
from api.models.keys import KeyPublic
from api.queries import keys as keystore
from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings

T = TypeVar("T")


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("keys", help="API keys: create, list, revoke")
    actions = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create", help="create a key and print it once (alone on the last line)"
    )
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        help=f"scope, repeatable or comma-separated: {', '.join(SCOPES)}",
    )
    create.add_argument(
        "--community",
        action="append",
        default=[],
        help="community the key is limited to (repeatable; none: every community)",
    )
    create.add_argument(
        "--district",
        action="append",
        default=[],
        help="district the key is limited to, with its communities (repeatable)",
    )
    create.add_argument("--name", help="who or what uses the key (shown in listings and audit)")
    create.set_defaults(handler=_create)
    listing = actions.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    listing.set_defaults(handler=_list)
    revoke = actions.add_parser("revoke", help="revoke a key by id or prefix")
    revoke.add_argument("key", help="the key's id or its 12-character prefix")
    revoke.set_defaults(handler=_revoke)


def _split(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _describe(k: KeyPublic) -> str:
    where = ",".join(k.communities + [f"district:{d}" for d in k.districts]) or "*"
    revoked = f"  revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else ""
    return f"{k.id:>5}  {k.prefix}  {','.join(k.scopes):<32} {where:<24} {k.name or ''}{revoked}"


def _db(settings: Settings, action: Callable[[Conn], Awaitable[T]]) -> T:
    try:
        return run_once(settings.database_url, action)
    except ApiError as exc:
        raise CommandError(str(exc)) from None


def _create(args: argparse.Namespace, settings: Settings) -> int:
    scopes, communities = _split(args.scope), _split(args.community)
    districts = _split(args.district)
    created = _db(
        settings,
        lambda c: keystore.create_key(c, scopes, communities, args.name, districts=districts),
    )
    print(
        f"created key {created.id} ({created.prefix}) scopes={','.join(created.scopes)}"
        f" communities={','.join(created.communities) or ('-' if districts else '*')}"
        + (f" districts={','.join(created.districts)}" if districts else "")
    )
    print("store it now; it cannot be shown again:")
    print(created.key)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    found = _db(settings, lambda c: keystore.list_keys(c, include_revoked=args.all))
    print(f"{'id':>5}  {'prefix':<12}  {'scopes':<32} {'communities':<24} name")
    for k in found:
        print(_describe(k))
    return 0


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    revoked = _db(settings, lambda c: keystore.revoke_key(c, args.key))
    print(f"revoked key {revoked.id} ({revoked.prefix})")
    return 0
