"""What every subcommand module shares: its parser type and its error."""

from __future__ import annotations

import argparse
from typing import TypeAlias

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """An expected failure, printed as one line: ``commtwin: <message>``."""
