"""`commtwin history`."""

from __future__ import annotations

import argparse

from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("history", help="(not yet implemented)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    raise CommandError("history: not yet implemented")
