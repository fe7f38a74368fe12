"""The ``commtwin`` command line: one subcommand per capability.

Each ``commtwin/cmd_*.py`` module registers its subcommands; settings are read
once here and handed to the chosen command. Expected failures (bad settings,
unreachable services, bad input files) end as one ``commtwin: ...`` line and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from commtwin import (
    __version__,
    cmd_api,
    cmd_community,
    cmd_db,
    cmd_deadletters,
    cmd_demo,
    cmd_district,
    cmd_history,
    cmd_ingest,
    cmd_keys,
    cmd_simulate,
)
from commtwin.commands import CommandError
from commtwin.settings import SettingsError, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="commtwin",
        description="Digital twin for residential communities: ingest, 3D model, cockpit API.",
        epilog="Configuration comes from COMMTWIN_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"commtwin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (
        cmd_db,
        cmd_ingest,
        cmd_deadletters,
        cmd_community,
        cmd_district,
        cmd_simulate,
        cmd_api,
        cmd_history,
        cmd_keys,
        cmd_demo,
    ):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
