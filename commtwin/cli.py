"""The ``commtwin`` command line: one subcommand per capability.

Each ``commtwin/cmd_*.py`` module registers its subcommands; settings are read
once here and handed to the chosen command. Expected failures (bad settings,
unreachable services, bad input files) end as one ``commtwin: ...`` line and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from commtwin import __version__
from commtwin.commands import CommandError
from commtwin.settings import SettingsError, load_settings

COMMANDS = {
    "db": "commtwin.cmd_db",
    "ingest": "commtwin.cmd_ingest",
    "deadletters": "commtwin.cmd_deadletters",
    "community": "commtwin.cmd_community",
    "district": "commtwin.cmd_district",
    "simulate": "commtwin.cmd_simulate",
    "api": "commtwin.cmd_api",
    "history": "commtwin.cmd_history",
    "keys": "commtwin.cmd_keys",
    "demo": "commtwin.cmd_demo",
}
"""Subcommand → the module that registers it. Only the chosen one is imported:
all of them pull in FastAPI, the simulators and the twin (~1.8 s here), which a
``commtwin community import`` or ``commtwin db info`` would pay for nothing."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or (``only``) with that one alone."""
    parser = argparse.ArgumentParser(
        prog="commtwin",
        description="Digital twin for residential communities: ingest, 3D model, cockpit API.",
        epilog="Configuration comes from COMMTWIN_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"commtwin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).register(sub)
    return parser


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named by ``argv`` (its first word), if it is one."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_chosen(words))
    args = parser.parse_args(words)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level,
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
            stream=sys.stderr,
        )
        code: int = args.handler(args, settings)
        return code
    except (SettingsError, CommandError) as exc:
        print(f"commtwin: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
